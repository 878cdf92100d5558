#!/usr/bin/env python3
"""Small parsing and formatting helpers for bench/run.sh (standard library only).

    report.py mean HYPERFINE.json [INDEX]     mean seconds of one command
    report.py min HYPERFINE.json [INDEX]      the fastest run, in seconds
    report.py median HYPERFINE.json [INDEX]   the median run, in seconds
    report.py sd HYPERFINE.json [INDEX]       its standard deviation, "± N ms"
    report.py cpu HYPERFINE.json [INDEX]      its mean CPU time, user + system, "N ms"
    report.py stats HYPERFINE.json [INDEX]    "mean ± stddev (min … max), N runs" in ms
    report.py plan-files PLAN.json            the task's context files in `wf plan --json`, one a line
    report.py plan-field PLAN.json FIELD      a top-level field of `wf plan --json`
    report.py plan-tokens PLAN.json           the context's total token estimate
    report.py splits TRACE.jsonl              where a run's wall time went, from its trace
    report.py table ROWS.tsv                  the final table (markdown) from the collected rows
    report.py times HYPERFINE.json [INDEX]    every run's time in seconds, one a line
    report.py summary FILE                    "median (min–max), N runs" in ms of the times in FILE

A row of ROWS.tsv is: measure, figure, unit, target (a number, or "-" for
information only), comparison ("le"), note.
"""

import json
import sys


def hyperfine(path, index):
    return json.load(open(path))["results"][int(index)]


def cmd_mean(path, index="0"):
    print(f"{hyperfine(path, index)['mean']:.6f}")


def cmd_min(path, index="0"):
    print(f"{hyperfine(path, index)['min']:.6f}")


def cmd_median(path, index="0"):
    print(f"{hyperfine(path, index)['median']:.6f}")


def cmd_sd(path, index="0"):
    """The standard deviation, as a note: "± 12 ms"."""
    sd = hyperfine(path, index)["stddev"] or 0
    print(f"± {sd * 1000:.0f} ms" if sd < 1 else f"± {sd:.2f} s")


def cmd_cpu(path, index="0"):
    """The mean CPU time (user + system) of one command, as a note: "123 ms"."""
    r = hyperfine(path, index)
    print(f"{(r['user'] + r['system']) * 1000:.0f} ms")


def cmd_stats(path, index="0"):
    r = hyperfine(path, index)
    ms = lambda s: s * 1000
    print(f"{ms(r['mean']):.1f} ms ± {ms(r['stddev'] or 0):.1f} "
          f"(min {ms(r['min']):.1f}, max {ms(r['max']):.1f}), {len(r['times'])} runs")


def task_context(plan):
    """The task's own context: a single-prompt file's one step's, else the
    top-level `defaults` its steps inherit; a top-level `context` in the
    shape of wf before the plan reshape (76bfac4 and earlier)."""
    if "context" in plan:
        return plan["context"]
    return (plan.get("defaults") or plan["steps"][0])["context"]


def cmd_plan_files(path):
    plan = json.load(open(path))
    for f in task_context(plan)["files"]:
        print(f["path"])


def cmd_plan_tokens(path):
    print(task_context(json.load(open(path)))["total_tokens"])


def cmd_plan_field(path, field):
    print(json.load(open(path))[field])


def cmd_splits(path):
    """Time between milestones of a run, from `t_ms` of its trace."""
    recs = [json.loads(line) for line in open(path) if line.strip()]
    marks = []
    for r in recs:
        k = r["kind"]
        if k in ("run_started", "workspace_ready", "diff_ready", "applied", "run_finished"):
            marks.append((k, r["t_ms"]))
        elif k == "model_request" and r["turn"] == 1:
            marks.append(("first model_request", r["t_ms"]))
        elif k == "checkpoint" and r["state"] != "reached":
            marks.append((f"checkpoint {r['state']}", r["t_ms"]))
    prev = None
    parts = []
    for name, t in marks:
        if prev is not None:
            parts.append(f"{prev[0]} → {name}: {t - prev[1]} ms")
        prev = (name, t)
    print("; ".join(parts))


def cmd_times(path, index="0"):
    for t in hyperfine(path, index)["times"]:
        print(f"{t:.6f}")


def cmd_summary(path):
    """The median and range of the times (seconds, one a line) in FILE."""
    ts = sorted(float(x) for x in open(path) if x.strip())
    n = len(ts)
    med = ts[n // 2] if n % 2 else (ts[n // 2 - 1] + ts[n // 2]) / 2
    print(f"{med * 1000:.1f} ms ({ts[0] * 1000:.1f}–{ts[-1] * 1000:.1f}), {n} runs")


def fmt(value, unit):
    v = float(value)
    if unit == "s":
        return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"
    if unit == "ms":
        return f"{v:.1f} ms"
    if unit == "MB":
        return f"{v:.1f} MB"
    if unit == "x":
        return f"{v:.2f}×"
    if unit == "tokens":
        return f"{v:.0f} tokens"
    return f"{value} {unit}".strip()


def cmd_table(path):
    rows = [line.rstrip("\n").split("\t") for line in open(path) if line.strip()]
    out = ["| measure | figure | target | result |", "|---|---|---|---|"]
    for measure, value, unit, target, _cmp, note in rows:
        figure = fmt(value, unit)
        if note:
            figure += f" ({note})"
        if target == "-":
            out.append(f"| {measure} | {figure} | — | info |")
            continue
        ok = float(value) <= float(target)
        out.append(f"| {measure} | {figure} | ≤ {fmt(target, unit)} | {'ok' if ok else 'OVER'} |")
    print("\n".join(out))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {
        "mean": cmd_mean,
        "min": cmd_min,
        "median": cmd_median,
        "sd": cmd_sd,
        "cpu": cmd_cpu,
        "stats": cmd_stats,
        "plan-files": cmd_plan_files,
        "plan-field": cmd_plan_field,
        "plan-tokens": cmd_plan_tokens,
        "splits": cmd_splits,
        "table": cmd_table,
        "times": cmd_times,
        "summary": cmd_summary,
    }[cmd](*args)


if __name__ == "__main__":
    main()
