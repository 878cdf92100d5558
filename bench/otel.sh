#!/usr/bin/env bash
# The cost of OpenTelemetry export (issue 25): the 200-turn scripted run of
# bench/run.sh (d) with and without OTEL_EXPORTER_OTLP_ENDPOINT set, against
# a real receiver (Arize Phoenix, the one .ci/run installs), and the export
# of that recorded run after the fact (`wf export otel`), sent and encoded
# only. Prints a small table; see bench/README.md ("OpenTelemetry export").
#
#   bash bench/otel.sh            WF=BINARY measures that wf (default: a release build)
#
# PHOENIX=PROGRAM names the receiver (default: the virtualenv .ci/run makes,
# ~/.cache/wf-phoenix-20.26.1/bin/phoenix).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
die() { printf 'otel.sh: %s\n' "$*" >&2; exit 1; }
command -v hyperfine >/dev/null || die "hyperfine is missing (apt-get install hyperfine)"
phoenix=${PHOENIX:-$HOME/.cache/wf-phoenix-20.26.1/bin/phoenix}
[ -x "$phoenix" ] || die "no receiver at $phoenix: run .ci/run once, or set PHOENIX"
if [ -z "${WF:-}" ]; then
  (cd "$root" && cargo build --release -q)
  WF="$root/target/release/wf"
fi
tmp=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
grpc=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/phoenix"
PHOENIX_WORKING_DIR="$tmp/phoenix" PHOENIX_HOST=127.0.0.1 PHOENIX_PORT=$port PHOENIX_GRPC_PORT=$grpc \
  PHOENIX_TELEMETRY_ENABLED=false DO_NOT_TRACK=1 "$phoenix" serve >"$tmp/phoenix.log" 2>&1 &
pid=$!
for _ in $(seq 1 360); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.5
done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || die "phoenix did not start: $(tail -n 5 "$tmp/phoenix.log")"
endpoint="http://127.0.0.1:$port"

repo="$tmp/repo"
python3 "$here/gen.py" repo "$repo" 1000
mkdir -p "$repo/wf-bench"
python3 "$here/gen.py" turns "$repo/wf-bench/many.turns.yaml" 200 "$repo"
python3 "$here/gen.py" task "$repo/wf-bench/task.yaml" many-turns
git -C "$repo" add wf-bench && git -C "$repo" -c user.name=bench -c user.email=bench@wf.invalid commit -qm "the task"
printf 'cd %q && git checkout -q . && git clean -fdq -e .wf && rm -rf .wf/runs\n' "$repo" >"$tmp/prep.sh"

cd "$repo"
hyperfine -N --warmup 1 --runs 10 --prepare "bash $tmp/prep.sh" --export-json "$tmp/off.json" \
  "$WF run wf-bench/task.yaml --yes" >&2
hyperfine --warmup 1 --runs 10 --prepare "bash $tmp/prep.sh" --export-json "$tmp/on.json" \
  "OTEL_EXPORTER_OTLP_ENDPOINT=$endpoint $WF run wf-bench/task.yaml --yes" >&2
bash "$tmp/prep.sh"
"$WF" run wf-bench/task.yaml --yes 2>/dev/null
events=$(wc -l <"$(ls -d .wf/runs/*/ | tail -n 1)trace.jsonl")
hyperfine --warmup 2 --runs 20 --export-json "$tmp/export.json" \
  "OTEL_EXPORTER_OTLP_ENDPOINT=$endpoint $WF export otel last" >&2
hyperfine -N --warmup 2 --runs 20 --export-json "$tmp/encode.json" \
  "$WF export otel last -o /dev/null --protocol http/protobuf" >&2
said=$(OTEL_EXPORTER_OTLP_ENDPOINT=$endpoint "$WF" export otel last 2>&1)

python3 - "$tmp" "$events" "$said" <<'EOF'
import json, sys
tmp, events, said = sys.argv[1], sys.argv[2], sys.argv[3]
def m(name):
    r = json.load(open(f"{tmp}/{name}.json"))["results"][0]
    return r["mean"] * 1000, r["stddev"] * 1000
off, on = m("off"), m("on")
exp, enc = m("export"), m("encode")
print("| figure | mean (ms) | sd (ms) |")
print("|---|---|---|")
print(f"| 200-turn run, no export | {off[0]:.0f} | {off[1]:.0f} |")
print(f"| 200-turn run, exported at its end (http/protobuf to Phoenix) | {on[0]:.0f} | {on[1]:.0f} |")
print(f"| overhead | {on[0]-off[0]:+.0f} ({(on[0]-off[0])/off[0]*100:+.1f} %) | |")
print(f"| `wf export otel` of the recorded {events}-event run, sent | {exp[0]:.0f} | {exp[1]:.0f} |")
print(f"| same, encoded only (`-o /dev/null`) | {enc[0]:.0f} | {enc[1]:.0f} |")
print(f"\n{said}")
EOF
