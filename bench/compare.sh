#!/usr/bin/env bash
# Compares two wf binaries (say, a base commit and HEAD) on run.sh's
# measures, interleaved, for a noisy machine; and measures the sandbox.
#
#   bash bench/compare.sh BASE_WF HEAD_WF      both release builds, e.g.
#       target/release/wf of a `git worktree` of the base commit, and this one
#
# Variants: `base` (BASE_WF), `head` (HEAD_WF as is: commands sandboxed) and
# `off` (HEAD_WF run with `--sandbox off`; replay and resume of its run
# inherit the mode the run recorded). Every measure is ROUNDS hyperfine
# calls (default 3) with all its variants in one call, in an order that
# rotates each round, so a change of load hits every variant alike; a
# figure is the median and the range (min–max) of all its runs.
#
# The sandbox lines (needs a HEAD with `--sandbox`): the one-turn run of
# run.sh's c with one check, `true` (gen.py task one-check), sandboxed and
# not, `--dry-run` (SANDBOX_RUNS runs each, default 100) and `--yes`; the
# per-command overhead is the difference of their medians, less the
# difference of the same run without the check (the probe and the set-up
# that every sandboxed run pays once).
#
# Inputs go under BENCH_TMPDIR (default /dev/shm if tmpfs, else /tmp), wf's
# workspaces where wf puts them ($TMPDIR, else /tmp), as in run.sh.
set -euo pipefail

[ $# -eq 2 ] || { sed -n '2,23p' "$0" | cut -c3-; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rounds=${ROUNDS:-3}
sandbox_runs=${SANDBOX_RUNS:-100}
declare -A BIN=([base]=$(realpath "$1") [head]=$(realpath "$2") [off]=$(realpath "$2"))
declare -A RUNFLAG=([base]="" [head]="" [off]="--sandbox off")
for v in base head; do [ -x "${BIN[$v]}" ] || { echo "compare.sh: no binary ${BIN[$v]}" >&2; exit 2; }; done
say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'compare.sh: %s\n' "$*" >&2; exit 1; }
gen() { python3 "$here/gen.py" "$@"; }
rep() { python3 "$here/report.py" "$@"; }
q() { printf '%q' "$1"; }

base=${BENCH_TMPDIR:-/tmp}
[ -z "${BENCH_TMPDIR:-}" ] && [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ] && base=/dev/shm
tmp=$(mktemp -d "$base/wf-compare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unset RIPGREP_CONFIG_PATH
mkdir -p "$tmp/t"
out=$tmp/lines.tsv
: >"$out"
loads=()
load() { loads+=("$(cut -d' ' -f1-3 /proc/loadavg)"); }
load

# CMD[v] and PREP[v] (a script file, or empty) describe each variant of the
# next measure; measure NAME RUNS WARMUP VARIANT... appends every run's time
# to $tmp/t/NAME.VARIANT.
declare -A CMD PREP
measure() {
  local name=$1 runs=$2 warm=$3 r i v
  shift 3
  local vs=("$@") n=$#
  for ((r = 0; r < rounds; r++)); do
    local order=() args=()
    for ((i = 0; i < n; i++)); do order+=("${vs[(i + r) % n]}"); done
    for v in "${order[@]}"; do args+=(--prepare "bash ${PREP[$v]:-/dev/null}"); done
    for v in "${order[@]}"; do args+=("${CMD[$v]}"); done
    hyperfine -N -i --style basic --warmup "$warm" --runs "$runs" --export-json "$tmp/j.json" "${args[@]}" >&2
    for ((i = 0; i < n; i++)); do rep times "$tmp/j.json" "$i" >>"$tmp/t/$name.${order[$i]}"; done
  done
  for v in "${vs[@]}"; do printf '%s\t%s\t%s\n' "$name" "$v" "$(rep summary "$tmp/t/$name.$v")" >>"$out"; done
}
median_ms() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in open(sys.argv[1]))*1000)" "$1"; }
# rss NAME PREP-OF-VARIANT... : the largest peak RSS of 5 runs of each variant, interleaved
rss() {
  local name=$1 v k kb
  shift
  declare -A max
  for v in "$@"; do max[$v]=0; done
  for k in 1 2 3 4 5; do
    for v in "$@"; do
      bash "${PREP[$v]:-/dev/null}"
      # shellcheck disable=SC2086
      /usr/bin/time -f %M -o "$tmp/rss" ${CMD[$v]} >/dev/null 2>&1 || die "failed: ${CMD[$v]}"
      kb=$(tail -n 1 "$tmp/rss")
      ((kb > max[$v])) && max[$v]=$kb
    done
  done
  for v in "$@"; do printf '%s\t%s\t%s\n' "$name" "$v" "$(python3 -c "print(f'{${max[$v]} / 1024:.1f} MB')")" >>"$out"; done
}

# ---- a. validate
say "a. wf validate over 1,000 task files"
gen specs "$tmp/specs" 1000
for v in base head; do
  [ "$(cd "$tmp" && "${BIN[$v]}" validate specs | tail -n 1)" = "1000 task files valid" ] || die "$v: validate"
  CMD[$v]="env -C $(q "$tmp") $(q "${BIN[$v]}") validate specs"
done
measure validate 7 1 base head

# ---- b. context over 100,000 files vs rg
say "b. context resolution over a 100,000-file tree"
gen tree "$tmp/tree" 100000
context_case() {
  local name=$1 includes=$2 excludes=$3 g v
  local rg_args=(--files)
  IFS=, read -ra inc <<<"$includes"
  IFS=, read -ra exc <<<"$excludes"
  for g in "${inc[@]}"; do rg_args+=(-g "$g"); done
  for g in "${exc[@]}"; do rg_args+=(-g "!$g"); done
  gen task "$tmp/ctx-$name.yaml" tree "$includes|$excludes"
  (cd "$tmp/tree" && rg "${rg_args[@]}") | LC_ALL=C sort >"$tmp/rg-$name.txt" || true
  for v in base head; do
    (cd "$tmp/tree" && "${BIN[$v]}" plan --json "$tmp/ctx-$name.yaml" >"$tmp/plan-$name.json") || die "$v: plan $name"
    rep plan-files "$tmp/plan-$name.json" | LC_ALL=C sort >"$tmp/wf-$name.txt"
    cmp -s "$tmp/wf-$name.txt" "$tmp/rg-$name.txt" || die "$v and rg select different files for $name"
    CMD[$v]="env -C $(q "$tmp/tree") $(q "${BIN[$v]}") plan $(q "$tmp/ctx-$name.yaml")"
  done
  CMD[rg]="env -C $(q "$tmp/tree") rg"
  for g in "${rg_args[@]}"; do CMD[rg]+=" $(q "$g")"; done
  measure "ctx-$name" 5 2 base head rg
}
context_case wide '**/handlers/*.rs,docs/guide/**/*.md' '**/*_test.rs,**/mod7/**'
context_case based 'src/pkg03/**/*.rs,docs/guide/part2/**/*.md' '**/*_test.rs'
context_case walk '**/*.nomatch' ''
rm -rf "$tmp/tree" "$tmp/specs"

# ---- c. one-turn run (and, for the sandbox, the same with one check)
say "c. one-turn run, 10-file repository"
gen repo "$tmp/c-repo" 10
gen turns "$tmp/one.turns.yaml" 1 "$tmp/c-repo"
for kind in one-turn one-check; do gen task "$tmp/$kind.yaml" "$kind"; done
for v in base head off; do
  cp -a "$tmp/c-repo" "$tmp/c-$v"
  printf 'rm -rf %q/.wf/runs\n' "$tmp/c-$v" >"$tmp/prep-c-$v.sh"
  (cd "$tmp/c-$v" && "${BIN[$v]}" run ../one-turn.yaml --yes ${RUNFLAG[$v]} 2>"$tmp/err") || die "$v: one-turn: $(cat "$tmp/err")"
  grep -q 'succeeded (1 turn' "$tmp/err" || die "$v: one-turn: $(cat "$tmp/err")"
  CMD[$v]="env -C $(q "$tmp/c-$v") $(q "${BIN[$v]}") run ../one-turn.yaml --yes ${RUNFLAG[$v]}"
  PREP[$v]=$tmp/prep-c-$v.sh
done
measure one-turn 10 2 base head off
rss one-turn-rss base head off

# ---- d, f, g. the 200-turn run, its replay, the resume of it paused
say "d. 200-turn run, 1,000-file repository"
gen repo "$tmp/d-repo" 1000
gen turns "$tmp/many.turns.yaml" 200 "$tmp/d-repo"
gen task "$tmp/many-turns.yaml" many-turns
for v in base head off; do
  cp -a "$tmp/d-repo" "$tmp/d-$v"
  printf 'cd %q && git checkout -q . && git clean -fdq -e .wf && rm -rf .wf/runs\n' "$tmp/d-$v" >"$tmp/prep-d-$v.sh"
  bash "$tmp/prep-d-$v.sh"
  (cd "$tmp/d-$v" && "${BIN[$v]}" run ../many-turns.yaml --yes ${RUNFLAG[$v]} 2>"$tmp/err") || die "$v: 200 turns: $(tail -n 5 "$tmp/err")"
  grep -q 'succeeded (200 turns' "$tmp/err" || die "$v: 200 turns: $(tail -n 5 "$tmp/err")"
  ! grep '"kind":"tool_result"' "$tmp"/d-$v/.wf/runs/*/trace.jsonl | grep -q '"ok":false' || die "$v: a tool call failed"
  CMD[$v]="env -C $(q "$tmp/d-$v") $(q "${BIN[$v]}") run ../many-turns.yaml --yes ${RUNFLAG[$v]}"
  PREP[$v]=$tmp/prep-d-$v.sh
done
measure many-turns 4 1 base head off
rss many-turns-rss base head off

say "f. replay of the recorded 200-turn run"
for v in base head off; do
  bash "$tmp/prep-d-$v.sh"
  (cd "$tmp/d-$v" && "${BIN[$v]}" run ../many-turns.yaml --yes ${RUNFLAG[$v]} 2>/dev/null) || die "$v: run for replay"
  (cd "$tmp/d-$v" && "${BIN[$v]}" replay last >"$tmp/err") || die "$v: replay: $(cat "$tmp/err")"
  grep -q "reproduced" "$tmp/err" || die "$v: replay: $(cat "$tmp/err")"
  echo "$v: $(cat "$tmp/err")" >&2
  CMD[$v]="env -C $(q "$tmp/d-$v") $(q "${BIN[$v]}") replay last"
  PREP[$v]=
done
measure replay 3 1 base head off

say "g. resume of a paused 200-turn run"
for v in base head off; do
  bash "$tmp/prep-d-$v.sh"
  (cd "$tmp/d-$v" && "${BIN[$v]}" run ../many-turns.yaml ${RUNFLAG[$v]} 2>/dev/null; test $? -eq 3) || die "$v: the run did not pause"
  (cd "$tmp/d-$v" && "${BIN[$v]}" approve last 2>/dev/null) || die "$v: approve"
  run_dir=$(ls -d "$tmp/d-$v"/.wf/runs/*/ | tail -n 1)
  cp -r "$run_dir" "$tmp/paused-$v"
  printf 'cd %q && git checkout -q . && git clean -fdq -e .wf && rm -rf %q && cp -r %q %q\n' \
    "$tmp/d-$v" "$run_dir" "$tmp/paused-$v" "$run_dir" >"$tmp/prep-g-$v.sh"
  CMD[$v]="env -C $(q "$tmp/d-$v") $(q "${BIN[$v]}") resume last"
  PREP[$v]=$tmp/prep-g-$v.sh
done
measure resume 3 1 base head off
rm -rf "$tmp"/d-* "$tmp"/paused-*

# ---- s. the sandbox: one-turn run with one check `true`, sandboxed and not
say "s. the sandbox: one check, \`true\`"
for v in head off; do
  (cd "$tmp/c-$v" && "${BIN[$v]}" run ../one-check.yaml --yes ${RUNFLAG[$v]} 2>"$tmp/err") || die "$v: one-check: $(cat "$tmp/err")"
  trace=$(ls -d "$tmp/c-$v"/.wf/runs/*/ | tail -n 1)trace.jsonl
  grep '"kind":"check_result"' "$trace" | grep -q '"passed":true' || die "$v: the check did not run and pass"
done
srounds=4
per=$(( (sandbox_runs + srounds - 1) / srounds ))
(
  rounds=$srounds
  for kind in one-check one-turn; do
    for v in head off; do CMD[$v]="env -C $(q "$tmp/c-$v") $(q "${BIN[$v]}") run ../$kind.yaml --dry-run ${RUNFLAG[$v]}"; PREP[$v]=$tmp/prep-c-$v.sh; done
    measure "$kind-dry" "$per" 3 head off
  done
  rounds=3
  for v in head off; do CMD[$v]="env -C $(q "$tmp/c-$v") $(q "${BIN[$v]}") run ../one-check.yaml --yes ${RUNFLAG[$v]}"; done
  measure one-check 10 2 head off
)
d_check=$(python3 -c "print($(median_ms "$tmp/t/one-check-dry.head") - $(median_ms "$tmp/t/one-check-dry.off"))")
d_none=$(python3 -c "print($(median_ms "$tmp/t/one-turn-dry.head") - $(median_ms "$tmp/t/one-turn-dry.off"))")
printf 'sandbox\tone command, whole run (median one-check-dry head − off)\t%.1f ms\n' "$d_check" >>"$out"
printf 'sandbox\tno command (median one-turn-dry head − off: probe and set-up)\t%.1f ms\n' "$d_none" >>"$out"
printf 'sandbox\tper command (the difference of the two)\t%.1f ms\n' "$(python3 -c "print($d_check - $d_none)")" >>"$out"

load
say "results"
column -t -s $'\t' "$out"
printf 'load average %s before, %s after\n' "${loads[0]}" "${loads[1]}"
