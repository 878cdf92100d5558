#!/usr/bin/env python3
"""The sandbox's start-up cost per command, interleaved: `true` spawned
plainly, through an older wf's helper (policy as a JSON argument, the
protocol before the launch file), and through this wf's helper at both
levels (policy in a memory file). Prints each median and each minus plain.

    sandbox_start.py NEW_WF OLD_WF ROUNDS
"""
import json, os, subprocess, sys, tempfile, time, statistics, random
new, old, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
work = tempfile.mkdtemp()
os.makedirs(f"{work}/ws/.git"); os.makedirs(f"{work}/tmp")
roots = ["/etc","/opt","/root/.cargo","/root/.pyenv","/root/.rustup","/usr","/usr/bin","/usr/lib","/usr/lib64","/usr/local/bin","/usr/local/sbin","/usr/sbin"]
links = [[p, os.readlink(p)] for p in ["/bin","/sbin","/lib","/lib64"] if os.path.islink(p)]
base = {"read": roots, "write": [f"{work}/tmp", f"{work}/ws"], "read_only": [f"{work}/ws/.git"], "network": False}
def run_new(level):
    r, w = os.pipe(); fd = os.memfd_create("launch", 0)
    os.write(fd, json.dumps({"policy": dict(base, masks=[], links=links), "level": level, "report_fd": w}).encode())
    t0 = time.perf_counter()
    p = subprocess.run([new, "__sandbox", str(fd), "--", "true"], pass_fds=(fd, w), cwd=f"{work}/ws")
    t = time.perf_counter() - t0
    os.close(fd); os.close(w); os.close(r)
    assert p.returncode == 0
    return t
def run_old():
    t0 = time.perf_counter()
    p = subprocess.run([old, "__sandbox", json.dumps({"policy": base, "report_fd": None}), "--", "true"], cwd=f"{work}/ws")
    t = time.perf_counter() - t0
    assert p.returncode == 0, p.returncode
    return t
def run_plain():
    t0 = time.perf_counter(); subprocess.run(["true"]); return time.perf_counter() - t0
variants = {"plain": run_plain, "old": run_old, "new_full": lambda: run_new("full"), "new_landlock": lambda: run_new("landlock")}
times = {k: [] for k in variants}
rng = random.Random(1)
for _ in range(n):
    order = list(variants); rng.shuffle(order)
    for k in order: times[k].append(variants[k]() * 1000)
for k, v in times.items():
    v.sort(); print(f"{k}: median {statistics.median(v):.2f} ms (p25 {v[n//4]:.2f}, p75 {v[3*n//4]:.2f})")
for k in ["old", "new_full", "new_landlock"]:
    d = sorted(a - b for a, b in zip(times[k], times["plain"]))
    print(f"{k} - plain: median {statistics.median(d):.2f} ms")
