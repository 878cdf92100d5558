#!/usr/bin/env python3
"""Runs a command the way Docker's and Kubernetes' default seccomp profile
(RuntimeDefault) runs a container's processes: creating namespaces is
refused (unshare, setns and clone with a namespace flag fail with EPERM;
clone3, whose flags a filter cannot read, fails with ENOSYS so that libc
falls back to clone). wf then finds no user namespaces and confines at the
level without them. Used by .ci/run to run the sandbox and hostile-input
tests a second time; x86_64 only.

Usage: no_userns.py PROGRAM [ARGS...]
"""
import ctypes
import os
import platform
import struct
import sys

if platform.machine() != "x86_64":
    sys.exit("no_userns.py: x86_64 only")

LD_W_ABS, JEQ_K, JSET_K, RET_K = 0x20, 0x15, 0x45, 0x06
ALLOW, ERRNO = 0x7FFF0000, 0x00050000
EPERM, ENOSYS = 1, 38
AUDIT_ARCH_X86_64 = 0xC000003E
NR_CLONE, NR_UNSHARE, NR_SETNS, NR_CLONE3 = 56, 272, 308, 435
# CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME
NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80

program = [
    (LD_W_ABS, 0, 0, 4),  # 0: arch
    (JEQ_K, 0, 8, AUDIT_ARCH_X86_64),  # 1: other arch -> allow
    (LD_W_ABS, 0, 0, 0),  # 2: syscall number
    (JEQ_K, 7, 0, NR_UNSHARE),  # 3 -> EPERM
    (JEQ_K, 6, 0, NR_SETNS),  # 4 -> EPERM
    (JEQ_K, 3, 0, NR_CLONE3),  # 5 -> ENOSYS
    (JEQ_K, 0, 3, NR_CLONE),  # 6: not clone -> allow
    (LD_W_ABS, 0, 0, 16),  # 7: clone flags (low half of args[0])
    (JSET_K, 2, 1, NAMESPACE_FLAGS),  # 8: a namespace flag -> EPERM
    (RET_K, 0, 0, ERRNO | ENOSYS),  # 9
    (RET_K, 0, 0, ALLOW),  # 10
    (RET_K, 0, 0, ERRNO | EPERM),  # 11
]
code = b"".join(struct.pack("HBBI", *insn) for insn in program)
buf = ctypes.create_string_buffer(code, len(code))


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


prog = SockFprog(len(program), ctypes.addressof(buf))
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
    sys.exit(f"no_userns.py: prctl(NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}")
if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
    sys.exit(f"no_userns.py: prctl(SECCOMP): {os.strerror(ctypes.get_errno())}")
os.execvp(sys.argv[1], sys.argv[1:])
