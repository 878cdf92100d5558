#!/usr/bin/env bash
# The billed-tokens bench (bench/README.md, "Tokens on long runs"): wf runs
# the 200-turn read script against bench/fake_anthropic.py, a local fake of
# the Anthropic Messages API that accounts for prompt caching, and the
# billed input of the run is printed.
#
#   bash bench/tokens.sh [TURNS]      default 200 turns
#
# WF=BINARY measures that wf (any build: the figure does not depend on
# it); without it wf is built with `cargo build --release`. Prints one line
# `billed N` and the totals as JSON; the report of every turn is left in
# $out/report.json when OUT=DIR is given.
set -euo pipefail

turns=${1:-200}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
if [ -n "${WF:-}" ]; then
  wf=$(realpath "$WF")
else
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" --target-dir "$root/target"
  wf=$root/target/release/wf
fi
work=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

python3 "$here/gen.py" repo "$work/repo" 1000
python3 "$here/gen.py" reads "$work/script.json" "$turns" "$work/repo"
python3 "$here/gen.py" task "$work/repo/task.yaml" reads
out=${OUT:-$work}
mkdir -p "$out"

python3 "$here/fake_anthropic.py" "$work/script.json" "$out/report.json" >"$work/port" &
server=$!
for _ in $(seq 50); do
  [ -s "$work/port" ] && break
  sleep 0.1
done
port=$(awk '{print $2}' "$work/port")
[ -n "$port" ] || { echo "tokens.sh: the fake server did not start" >&2; exit 1; }

(cd "$work/repo" && ANTHROPIC_BASE_URL="http://127.0.0.1:$port" ANTHROPIC_API_KEY=fake-key \
  "$wf" run task.yaml --dry-run >/dev/null 2>"$work/stderr") || {
  cat "$work/stderr" >&2
  echo "tokens.sh: the run failed" >&2
  exit 1
}
python3 - "$out/report.json" "$work/repo" <<'EOF'
import json, glob, sys
report = json.load(open(sys.argv[1]))
t = report["totals"]
print(f"billed {t['billed_input']}")
print(json.dumps(t))
trace = sorted(glob.glob(sys.argv[2] + "/.wf/runs/*/trace.jsonl"))[-1]
results = [json.loads(l) for l in open(trace)]
reads = [e for e in results if e.get("kind") == "tool_result" and e.get("tool") == "read_file"]
failed = [e for e in results if e.get("kind") == "tool_result" and not e.get("ok")]
notes = [e for e in reads if e["output"].startswith("[unchanged")]
print(f"read_file results {len(reads)}, of which unchanged notes {len(notes)}; failed tool calls {len(failed)}")
if failed:
    sys.exit("tokens.sh: a tool call failed: " + failed[0]["output"])
EOF
