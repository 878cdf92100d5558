#!/usr/bin/env python3
"""Interleaved timing for a noisy machine: runs each command once per
round, in a shuffled order, for N rounds, and reports each command's median
and range, and for every pair of commands the median of their per-round
differences (the two runs of a round share the machine's load).

    paired.py N NAME=DIR::PREP::COMMAND ...

DIR is the working directory, PREP a shell command run before each run (not
timed), COMMAND the command (split on spaces, no shell). Standard library only.
"""
import random
import statistics
import subprocess
import sys
import time


def main():
    n = int(sys.argv[1])
    variants = []
    for arg in sys.argv[2:]:
        name, rest = arg.split("=", 1)
        cwd, prep, cmd = rest.split("::")
        variants.append((name, cwd, prep, cmd.split()))
    times = {v[0]: [] for v in variants}
    rng = random.Random(7)
    for _ in range(n):
        order = variants[:]
        rng.shuffle(order)
        for name, cwd, prep, cmd in order:
            if prep:
                subprocess.run(prep, shell=True, check=True)
            t0 = time.perf_counter()
            r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t1 = time.perf_counter()
            if r.returncode != 0:
                sys.exit(f"{name}: exit {r.returncode}: {' '.join(cmd)}")
            times[name].append(t1 - t0)
    names = [v[0] for v in variants]
    for name in names:
        ts = [t * 1000 for t in times[name]]
        print(f"{name}\t{statistics.median(ts):.1f} ms ({min(ts):.1f}–{max(ts):.1f}), {n} runs")
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            d = [(x - y) * 1000 for x, y in zip(times[b], times[a])]
            q = statistics.quantiles(d, n=4)
            print(f"{b} − {a}\tmedian of paired differences {statistics.median(d):+.1f} ms (IQR {q[0]:+.1f} … {q[2]:+.1f})")


if __name__ == "__main__":
    main()
