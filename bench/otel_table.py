#!/usr/bin/env python3
"""The table bench/otel.sh prints, from its hyperfine results (medians
over the interleaved rounds). Usage: otel_table.py DIR EVENTS SAID"""

import json
import os
import statistics
import sys

tmp, events, said = sys.argv[1], sys.argv[2], sys.argv[3]


def med(name):
    times = []
    for r in (1, 2):
        path = f"{tmp}/{name}{r}.json"
        if os.path.exists(path):
            times += json.load(open(path))["results"][0]["times"]
    times = [t * 1000 for t in times]
    return statistics.median(times), min(times), max(times)


off, sink, phoenix = med("off"), med("sink"), med("phoenix")
sexp, pexp, enc = med("sinkexport"), med("phoenixexport"), med("encode")


def row(what, m):
    print(f"| {what} | {m[0]:.0f} | {m[1]:.0f}–{m[2]:.0f} |")


def delta(what, m):
    print(f"| {what} | {m[0] - off[0]:+.0f} ({(m[0] - off[0]) / off[0] * 100:+.1f} %) | |")


print("| figure | median (ms) | min–max (ms) |")
print("|---|---|---|")
row("200-turn run, no export", off)
row("same, exported at its end to a receiver that answers at once", sink)
delta("wf's own cost of the export", sink)
row("same, exported to Arize Phoenix (its ingest included)", phoenix)
delta("with Phoenix", phoenix)
row(f"`wf export otel` of the recorded {events}-event run, to the sink", sexp)
row("same, to Phoenix", pexp)
row("same, encoded only (`-o /dev/null`)", enc)
for target, name in (("sink", "the receiver that answers at once"), ("phoenix", "Phoenix")):
    pairs = [tuple(map(int, l.split())) for l in open(f"{tmp}/{target}-inproc.txt") if l.strip()]
    share = statistics.median(e / r * 100 for e, r in pairs)
    export = statistics.median(e for e, _ in pairs)
    run = statistics.median(r for _, r in pairs)
    print(f"| export at the end of the run, as wf times it, to {name} (10 runs) | {export:.0f} | "
          f"{min(e for e, _ in pairs)}–{max(e for e, _ in pairs)} (run {run:.0f} ms; {share:.1f} % of it) |")
print(f"\n{said}")
