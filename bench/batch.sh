#!/usr/bin/env bash
# wf batch on one machine: 50 generated local repositories, a scripted
# model, --jobs 2. See bench/README.md ("wf batch") for what each figure
# means.
#
#   bash bench/batch.sh             build wf (release) and measure
#   WF=target/debug/wf bash bench/batch.sh    measure that binary
#
# N=50 repositories by default (N=… to change), JOBS=2. Inputs go to a fresh
# directory under BENCH_TMPDIR (default $TMPDIR or /tmp), removed at exit.
# Needs git, python3 and GNU time (/usr/bin/time).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
n=${N:-50}
jobs=${JOBS:-2}
say() { printf '== %s\n' "$*" >&2; }
die() { printf 'batch.sh: %s\n' "$*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "GNU time is missing (apt-get install time)"

if [ -n "${WF:-}" ]; then
  wf=$(realpath "$WF")
else
  say "building wf (release)"
  (cd "$root" && cargo build --release --quiet)
  wf=$root/target/release/wf
fi

work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/wf-bench-batch.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 NO_COLOR=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@localhost
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@localhost

# ------------------------------------------------------------ inputs
say "generating $n repositories in $work"
mkdir -p "$work/hub" "$work/repos"
cat >"$work/hub/task.yaml" <<'EOF'
wf: 1
name: stamp
model: { provider: script, script: turns.yaml }
context: { include: ["src/*.txt"] }
tools: [read_file, write_file]
permissions: { write: ["out.txt"] }
prompt: Read src/a.txt and write out.txt.
checks:
  - { name: written, run: "test -s out.txt" }
EOF
cat >"$work/hub/turns.yaml" <<'EOF'
turns:
  - tool_calls:
      - { name: read_file, input: { path: src/a.txt } }
  - tool_calls:
      - { name: write_file, input: { path: out.txt, content: "stamped\n" } }
  - text: Done.
EOF
: >"$work/hub/repos.txt"
for i in $(seq -w 1 "$n"); do
  r=$work/repos/r$i
  mkdir -p "$r/src"
  for f in a b c d e f g h; do
    printf 'repository %s, file %s\n' "$i" "$f" >"$r/src/$f.txt"
  done
  printf '# r%s\n' "$i" >"$r/README.md"
  git -C "$r" init -q -b main
  git -C "$r" add -A
  git -C "$r" commit -qm start
  echo "../repos/r$i" >>"$work/hub/repos.txt"
done

reset() {
  for r in "$work"/repos/r*; do
    git -C "$r" checkout -q . && git -C "$r" clean -fdq -e .wf && rm -rf "$r/.wf"
  done
  rm -rf "$work/hub/.wf"
}

now() { date +%s.%N; }

# ------------------------------------------------------------ single runs
say "$n single runs, one after another"
start=$(now)
for r in "$work"/repos/r*; do
  (cd "$r" && "$wf" run "$work/hub/task.yaml" --yes 2>/dev/null) || die "a single run failed in $r"
done
single=$(echo "$(now) - $start" | bc)

# ------------------------------------------------------------ the batch
reset
say "wf batch --jobs $jobs"
cd "$work/hub"
start=$(now)
/usr/bin/time -f '%M' -o "$work/time.txt" \
  "$wf" batch task.yaml --repos repos.txt --jobs "$jobs" --yes >"$work/table.txt" 2>"$work/batch.log" &
timer=$!
# The batch process's own peak (VmHWM), read until it exits: GNU time's %M
# is the largest of the batch and its children.
hwm=0
while kill -0 "$timer" 2>/dev/null; do
  pid=$(pgrep -P "$timer" | head -n 1 || true)
  if [ -n "$pid" ]; then
    v=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${v:-0}" -gt "$hwm" ] && hwm=$v
  fi
  sleep 0.05
done
wait "$timer" || die "the batch did not succeed: $(tail -3 "$work/batch.log")"
batch=$(echo "$(now) - $start" | bc)
maxrss=$(tail -1 "$work/time.txt")
ok=$(grep -c ' succeeded ' "$work/table.txt" || true)
[ "$ok" -eq "$n" ] || die "$ok of $n runs succeeded"

# ------------------------------------------------------------ killed, resumed
reset
say "wf batch killed half-way (SIGKILL), then again"
"$wf" batch task.yaml --repos repos.txt --jobs "$jobs" --yes >/dev/null 2>&1 &
victim=$!
half=$((n / 2))
succeeded() { cat .wf/batches/*/batch.json 2>/dev/null | grep -c '"status": "succeeded"' || true; }
while [ "$(succeeded)" -lt "$half" ]; do
  sleep 0.05
done
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
sleep 1
finished=$(succeeded)
"$wf" batch task.yaml --repos repos.txt --jobs "$jobs" --yes >/dev/null 2>&1 || die "the resumed batch did not succeed"
repeated=0
runs=0
for r in "$work"/repos/r*; do
  k=$( (grep -lE '"status": ?"succeeded"' "$r"/.wf/runs/*/summary.json 2>/dev/null || true) | wc -l)
  [ "$k" -gt 1 ] && repeated=$((repeated + 1))
  runs=$((runs + $(ls "$r/.wf/runs" | wc -l)))
done

half_sum=$(echo "scale=3; $single / $jobs" | bc)
ratio=$(echo "scale=3; $batch / $half_sum" | bc)
verdict() { if [ "$1" = 1 ]; then echo ok; else echo OVER; fi; }
printf '| measure | figure | target | |\n|---|---|---|---|\n'
printf '| %s single runs, one after another | %.2f s | | info |\n' "$n" "$single"
printf '| wf batch --jobs %s | %.2f s = %.2f × (sum ÷ %s) | ≤ 1.2 × | %s |\n' "$jobs" "$batch" "$ratio" "$jobs" \
  "$(verdict "$(echo "$ratio <= 1.2" | bc)")"
printf '| peak RSS of the batch process (VmHWM) | %.1f MB | ≤ 50 MB | %s |\n' "$(echo "$hwm / 1024" | bc -l)" \
  "$(verdict "$(echo "$hwm <= 51200" | bc)")"
printf '| peak RSS, batch or any child (GNU time %%M) | %.1f MB | | info |\n' "$(echo "$maxrss / 1024" | bc -l)"
printf '| killed at %s finished, resumed: runs repeated | %s (of %s runs in all, %s interrupted) | 0 | %s |\n' \
  "$finished" "$repeated" "$runs" "$((runs - n))" "$(verdict "$([ "$repeated" -eq 0 ] && echo 1 || echo 0)")"
