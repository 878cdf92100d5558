#!/usr/bin/env python3
"""A CI run's cold start (issue 23, item 4): a one-turn scripted run as the
first run on a machine, in a copy (today's first run: a new workspace slot
takes every file) and with `--workspace checkout` (the checkout itself),
at 3, 10,000 and 100,000 files; and the checkout run of a task whose
model writes one new file, approved with `--yes` (the change stays in
place: CI's usual end). Interleaved: each round runs, in a shuffled
order, those runs at N files and the checkout run at 3 files, so each difference to the 3-file run is taken within one
round, under the same load. Prints each median and range, and the median
of the per-round differences to the 3-file checkout run.

    cold_start.py WF [SIZES...]      (default sizes: 10000 100000)

Repositories come from `gen.py repo` (committed, index refreshed as a
user's is), on disk under WS_TMPDIR (default /var/tmp) like wf's
workspaces: a CI checkout is on the runner's disk. Before every run: the
run folders and every workspace slot are removed, then `sync`. `CI=1` for
every run (checkout mode needs it). Standard library only.
"""
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def gen(*args):
    subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), *map(str, args)], check=True)


def main():
    wf = os.path.abspath(sys.argv[1])
    sizes = [int(s) for s in sys.argv[2:]] or [10000, 100000]
    base = tempfile.mkdtemp(prefix="wf-bench-cold.", dir=os.environ.get("WS_TMPDIR", "/var/tmp"))
    try:
        run(wf, sizes, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def prepare(base, n):
    d = os.path.join(base, f"r{n}")
    os.makedirs(d)
    gen("repo", f"{d}/repo", n)
    subprocess.run(["git", "-C", f"{d}/repo", "status", "--porcelain"], check=True, stdout=subprocess.DEVNULL)
    gen("turns", f"{d}/one.turns.yaml", 1, f"{d}/repo")
    gen("task", f"{d}/task.yaml", "one-turn")
    with open(f"{d}/change.yaml", "w") as f:
        f.write("wf: 1\nname: bench-change\nmodel: { provider: script, script: change.turns.yaml }\n"
                "tools: [write_file]\npermissions: { write: [\"**\"] }\nprompt: Add one file.\n")
    with open(f"{d}/change.turns.yaml", "w") as f:
        f.write("turns:\n  - tool_calls:\n      - { name: write_file, input: { path: CHANGED.md, content: \"changed\\n\" } }\n"
                "  - text: Done.\n")
    return d


def timed(wf, d, ws, checkout, change=False):
    shutil.rmtree(f"{d}/repo/.wf/runs", ignore_errors=True)
    if os.path.exists(f"{d}/repo/CHANGED.md"):
        os.remove(f"{d}/repo/CHANGED.md")
    for entry in os.listdir(ws):
        shutil.rmtree(os.path.join(ws, entry), ignore_errors=True)
    subprocess.run(["sync"], check=True)
    task = "../change.yaml" if change else "../task.yaml"
    cmd = [wf, "run", task, "--yes"] + (["--workspace", "checkout"] if checkout else [])
    env = dict(os.environ, TMPDIR=ws, CI="1")
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=f"{d}/repo", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t = time.perf_counter() - t0
    done = "succeeded (2 turns" if change else "succeeded (1 turn"
    if r.returncode != 0 or done not in r.stderr or (change and not os.path.exists(f"{d}/repo/CHANGED.md")):
        sys.exit(f"{' '.join(cmd)} in {d}: exit {r.returncode}\n{r.stderr}")
    return t * 1000


def run(wf, sizes, base):
    ws = os.path.join(base, "tmp")
    os.makedirs(ws)
    small = prepare(base, 3)
    rng = random.Random(23)
    print("| measure | median | range | minus the 3-file checkout run (median of per-round differences) |")
    print("|---|---|---|---|")
    for n in sizes:
        d = prepare(base, n)
        rounds = 3 if n >= 100000 else 7
        variants = {
            f"copy, {n:,} files": (d, False, False),
            f"checkout, {n:,} files": (d, True, False),
            f"checkout, {n:,} files, a one-file change kept": (d, True, True),
            "checkout, 3 files": (small, True, False),
        }
        times = {k: [] for k in variants}
        for _ in range(rounds):
            order = list(variants)
            rng.shuffle(order)
            for k in order:
                path, checkout, change = variants[k]
                times[k].append(timed(wf, path, ws, checkout, change))
        for k, v in times.items():
            diff = [a - b for a, b in zip(v, times["checkout, 3 files"])]
            extra = "—" if k.endswith("3 files") else f"{statistics.median(diff):,.0f} ms"
            print(
                f"| first run, {k} ({rounds} rounds) | {statistics.median(v):,.0f} ms "
                f"| {min(v):,.0f}–{max(v):,.0f} ms | {extra} |",
                flush=True,
            )
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
