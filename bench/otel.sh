#!/usr/bin/env bash
# The cost of OpenTelemetry export (issue 25): the 200-turn scripted run of
# bench/run.sh (d) without export, exported to a receiver that answers at
# once (bench/otlp_sink.py: wf's own cost), and exported to a real one
# (Arize Phoenix, the one .ci/run installs: its ingest time included); and
# the export of that recorded run after the fact (`wf export otel`), sent
# and encoded only. Prints a small table; see bench/README.md
# ("OpenTelemetry export").
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
cleanup() {
  if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; fi
  if [ -n "${sink:-}" ]; then kill "$sink" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

port=$(free_port)
grpc=$(free_port)
mkdir -p "$tmp/phoenix"
PHOENIX_WORKING_DIR="$tmp/phoenix" PHOENIX_HOST=127.0.0.1 PHOENIX_PORT=$port PHOENIX_GRPC_PORT=$grpc \
  PHOENIX_TELEMETRY_ENABLED=false DO_NOT_TRACK=1 "$phoenix" serve >"$tmp/phoenix.log" 2>&1 &
pid=$!
sink_port=$(free_port)
python3 "$here/otlp_sink.py" "$sink_port" &
sink=$!
for _ in $(seq 1 360); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.5
done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || die "phoenix did not start: $(tail -n 5 "$tmp/phoenix.log")"
phoenix_url="http://127.0.0.1:$port"
sink_url="http://127.0.0.1:$sink_port"

repo="$tmp/repo"
python3 "$here/gen.py" repo "$repo" 1000
mkdir -p "$repo/wf-bench"
python3 "$here/gen.py" turns "$repo/wf-bench/many.turns.yaml" 200 "$repo"
python3 "$here/gen.py" task "$repo/wf-bench/task.yaml" many-turns
git -C "$repo" add wf-bench && git -C "$repo" -c user.name=bench -c user.email=bench@wf.invalid commit -qm "the task"
printf 'cd %q && git checkout -q . && git clean -fdq -e .wf && rm -rf .wf/runs\n' "$repo" >"$tmp/prep.sh"

cd "$repo"
run="$WF run wf-bench/task.yaml --yes"
# Interleaved rounds, so a machine that gets busier weighs on each alike.
for round in 1 2; do
  hyperfine -N --warmup 1 --runs 8 --prepare "bash $tmp/prep.sh" --export-json "$tmp/off$round.json" \
    "env OTEL_SDK_DISABLED=true $run" >&2
  hyperfine -N --warmup 1 --runs 8 --prepare "bash $tmp/prep.sh" --export-json "$tmp/sink$round.json" \
    "env OTEL_EXPORTER_OTLP_ENDPOINT=$sink_url $run" >&2
  hyperfine -N --warmup 1 --runs 8 --prepare "bash $tmp/prep.sh" --export-json "$tmp/phoenix$round.json" \
    "env OTEL_EXPORTER_OTLP_ENDPOINT=$phoenix_url $run" >&2
done
# The export's own time as wf measures it (read, encode, send, answer),
# against the run's recorded length: what the hyperfine medians above
# cannot resolve on a busy machine.
for target in sink phoenix; do
  url=$sink_url
  [ "$target" = phoenix ] && url=$phoenix_url
  for i in $(seq 1 10); do
    bash "$tmp/prep.sh"
    OTEL_EXPORTER_OTLP_ENDPOINT=$url "$WF" run wf-bench/task.yaml --yes 2>"$tmp/$target-run$i.err"
    ms=$(grep -o 'exported .* in [0-9]* ms' "$tmp/$target-run$i.err" | grep -o '[0-9]* ms$' | grep -o '[0-9]*')
    run_ms=$(tail -n 1 .wf/runs/*/trace.jsonl | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["t_ms"])')
    echo "$ms $run_ms" >>"$tmp/$target-inproc.txt"
  done
done
bash "$tmp/prep.sh"
"$WF" run wf-bench/task.yaml --yes 2>/dev/null
events=$(wc -l <"$(ls -d .wf/runs/*/ | tail -n 1)trace.jsonl")
hyperfine -N --warmup 2 --runs 20 --export-json "$tmp/sinkexport1.json" \
  "env OTEL_EXPORTER_OTLP_ENDPOINT=$sink_url $WF export otel last" >&2
hyperfine -N --warmup 2 --runs 20 --export-json "$tmp/phoenixexport1.json" \
  "env OTEL_EXPORTER_OTLP_ENDPOINT=$phoenix_url $WF export otel last" >&2
hyperfine -N --warmup 2 --runs 20 --export-json "$tmp/encode1.json" \
  "$WF export otel last -o /dev/null --protocol http/protobuf" >&2
said=$(OTEL_EXPORTER_OTLP_ENDPOINT=$sink_url "$WF" export otel last 2>&1)

python3 "$here/otel_table.py" "$tmp" "$events" "$said"
