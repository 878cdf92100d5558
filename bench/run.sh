#!/usr/bin/env bash
# wf's benchmark suite: builds wf in release mode, generates its inputs in a
# temporary directory, measures, and prints a table of figures against the
# targets. See bench/README.md for what each figure means.
#
#   bash bench/run.sh            measure and print the table
#   bash bench/run.sh --write    also write the table to bench/results.md
#
# BENCH_TMPDIR=DIR puts the generated inputs under DIR (default: /dev/shm
# when it is a writable tmpfs with room, else $TMPDIR or /tmp). wf's own
# run workspaces go where wf puts them: $TMPDIR, else /tmp. WF=BINARY
# measures that wf instead of building one (the sandbox lines need a wf
# with --sandbox).
set -euo pipefail

write=0
for arg in "$@"; do
  case $arg in
    --write) write=1 ;;
    -h | --help) sed -n '2,13p' "$0" | cut -c3-; exit 0 ;;
    *) echo "run.sh: unknown argument \`$arg\` (try --help)" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
started=$SECONDS
say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- 1. tools
missing=()
command -v rg >/dev/null || missing+=(ripgrep)
command -v hyperfine >/dev/null || missing+=(hyperfine)
[ -x /usr/bin/time ] || missing+=(time)
command -v git >/dev/null || missing+=(git)
command -v python3 >/dev/null || missing+=(python3)
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
fi

# ---------------------------------------------------------------- 2. build
if [ -n "${WF:-}" ]; then
  wf=$(realpath "$WF")
  say "measuring $wf (not built)"
else
  say "building wf (cargo build --release)"
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" --target-dir "$root/target"
  wf=$root/target/release/wf
fi
[ -x "$wf" ] || die "no binary at $wf"
qwf=$(printf '%q' "$wf")

# ---------------------------------------------------------------- 3. inputs and measures
base=${BENCH_TMPDIR:-}
if [ -z "$base" ]; then
  base=${TMPDIR:-/tmp}
  if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] &&
    [ "$(df -Pk /dev/shm | awk 'NR==2 {print $4}')" -gt 2000000 ]; then
    base=/dev/shm
  fi
fi
tmp=$(mktemp -d "$base/wf-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unset RIPGREP_CONFIG_PATH
gen() { python3 "$here/gen.py" "$@"; }
rep() { python3 "$here/report.py" "$@"; }
rows=$tmp/rows.tsv
: >"$rows"
# row MEASURE FIGURE UNIT TARGET(- for info) NOTE
row() { printf '%s\t%s\t%s\t%s\tle\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" >>"$rows"; }
# hf NAME HYPERFINE-ARGS... : runs hyperfine (no shell), results in $tmp/NAME.json
hf() {
  local name=$1
  shift
  hyperfine -N --style basic --export-json "$tmp/$name.json" "$@" >&2
}
mean() { rep mean "$tmp/$1.json" "${2:-0}"; }
sd() { rep sd "$tmp/$1.json" "${2:-0}"; }
# peak_rss PREPARE COMMAND... : the largest peak RSS (MiB) of 5 runs, PREPARE before each
peak_rss() {
  local prep=$1 max=0 kb
  shift
  for _ in 1 2 3 4 5; do
    bash -c "$prep"
    /usr/bin/time -f %M -o "$tmp/rss" "$@" >/dev/null 2>&1 || die "failed: $* ($(cat "$tmp/rss"))"
    kb=$(tail -n 1 "$tmp/rss")
    ((kb > max)) && max=$kb
  done
  python3 -c "print(f'{$max / 1024:.1f}')"
}
workspace_tmp=${TMPDIR:-/tmp}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
fstype() { df --output=fstype "$1" | tail -n 1; }
say "inputs under $tmp ($(fstype "$tmp")); wf's workspaces under $workspace_tmp ($(fstype "$workspace_tmp"))"

# ---- a. wf validate over 1,000 task files
say "a. wf validate DIR over 1,000 generated task files"
gen specs "$tmp/specs" 1000
(cd "$tmp" && "$wf" validate specs >"$tmp/validate.out") || die "wf validate failed: $(tail -n 3 "$tmp/validate.out")"
[ "$(tail -n 1 "$tmp/validate.out")" = "1000 task files valid" ] ||
  die "expected 1000 valid task files, got: $(tail -n 1 "$tmp/validate.out")"
(cd "$tmp" && hf validate --warmup 3 --runs 20 "$qwf validate specs")
row "a. \`wf validate\`, 1,000 task files" "$(mean validate)" s 0.5 "$(sd validate)"

# ---- b. context resolution over a 100,000-file tree, against rg --files
say "b. context resolution over a 100,000-file git tree"
gen tree "$tmp/tree" 100000
tree_files=$(find "$tmp/tree" -path "$tmp/tree/.git" -prune -o -type f -print | wc -l)
[ "$tree_files" -eq 100000 ] || die "the tree has $tree_files files, not 100000"
gen task "$tmp/ctx-none.yaml" tree '**/*.nomatch|'
# context_case NAME INCLUDES EXCLUDES LABEL [TREE] (comma-separated globs; TREE under $tmp, default tree)
context_case() {
  local name=$1 includes=$2 excludes=$3 tree=$tmp/${5:-tree} g
  local rg_args=(--files)
  IFS=, read -ra inc <<<"$includes"
  IFS=, read -ra exc <<<"$excludes"
  for g in "${inc[@]}"; do rg_args+=(-g "$g"); done
  for g in "${exc[@]}"; do rg_args+=(-g "!$g"); done
  gen task "$tmp/ctx-$name.yaml" tree "$includes|$excludes"
  (cd "$tree" && "$wf" plan --json "$tmp/ctx-$name.yaml" >"$tmp/plan-$name.json") || die "wf plan failed ($name)"
  rep plan-files "$tmp/plan-$name.json" | LC_ALL=C sort >"$tmp/wf-$name.txt"
  (cd "$tree" && rg "${rg_args[@]}") | LC_ALL=C sort >"$tmp/rg-$name.txt"
  if ! cmp -s "$tmp/wf-$name.txt" "$tmp/rg-$name.txt"; then
    diff "$tmp/wf-$name.txt" "$tmp/rg-$name.txt" | head -n 20 >&2
    die "wf and rg select different files for $name"
  fi
  local n
  n=$(wc -l <"$tmp/wf-$name.txt")
  [ "$n" -gt 0 ] || die "no file selected for $name"
  grep -Eq '^(target|node_modules)/|^src/[^/]+/out/' "$tmp/wf-$name.txt" && die "an ignored file was selected ($name)"
  echo "$name: wf and rg select the same $n files ($(rep plan-tokens "$tmp/plan-$name.json") context tokens)" >&2
  local rg_cmd="rg" a
  for a in "${rg_args[@]}"; do rg_cmd+=" $(printf '%q' "$a")"; done
  (cd "$tree" && hf "ctx-$name" --warmup 3 --runs 15 --output=pipe \
    "$qwf plan $tmp/ctx-$name.yaml" "$rg_cmd")
  local wf_s rg_s
  wf_s=$(mean "ctx-$name" 0)
  rg_s=$(mean "ctx-$name" 1)
  local label="$4"
  row "b. $label: \`wf plan\`" "$wf_s" s - "$(sd "ctx-$name" 0); $n files selected"
  row "b. $label: \`rg --files\`, same globs" "$rg_s" s - "$(sd "ctx-$name" 1)"
  local wf_min rg_min
  wf_min=$(rep min "$tmp/ctx-$name.json" 0)
  rg_min=$(rep min "$tmp/ctx-$name.json" 1)
  row "b. $label: wf ÷ rg" "$(python3 -c "print($wf_s / $rg_s)")" x 1.5 \
    "of the means; of the fastest runs: $(python3 -c "print(f'{$wf_min / $rg_min:.2f}')")×; CPU (user + sys) wf $(rep cpu "$tmp/ctx-$name.json" 0), rg $(rep cpu "$tmp/ctx-$name.json" 1)"
}
context_case wide '**/handlers/*.rs,docs/guide/**/*.md' '**/*_test.rs,**/mod7/**' 'whole tree walked (`**/` glob)'
context_case based 'src/pkg03/**/*.rs,docs/guide/part2/**/*.md' '**/*_test.rs' 'literal bases (src/pkg03, docs/guide/part2)'
# The walk alone: a glob that matches nothing (rg then exits 1, hence -i).
(cd "$tmp/tree" && "$wf" plan "$tmp/ctx-none.yaml" >/dev/null) || die "wf plan failed (walk only)"
(cd "$tmp/tree" && hf ctx-walk -i --warmup 2 --runs 10 --output=pipe "$qwf plan $tmp/ctx-none.yaml" "rg --files -g **/*.nomatch")
row "b. walk only (\`**/*.nomatch\`, nothing selected): \`wf plan\`" "$(mean ctx-walk 0)" s - "$(sd ctx-walk 0)"
row "b. walk only: \`rg --files\`" "$(mean ctx-walk 1)" s - "$(sd ctx-walk 1)"
# The case of issue #14, on a tree shaped for it: 120 modules src/m000…m119
# of mostly .rs files with some .toml, build output ignored (src/*/out/,
# target/). wf reads and hashes every one of the ~63,000 files it selects;
# rg only lists them.
gen modtree "$tmp/modtree" 100000
tree_files=$(find "$tmp/modtree" -path "$tmp/modtree/.git" -prune -o -type f -print | wc -l)
[ "$tree_files" -eq 100000 ] || die "the module tree has $tree_files files, not 100000"
context_case issue 'src/**/*.rs,src/m00*/**/*.toml' 'src/m09*/**' 'issue #14 (`src/**/*.rs`, `src/m00*/**/*.toml`, not `src/m09*/**`)' modtree

# ---- c. a one-turn scripted run on a 10-file repository
say "c. one-turn scripted run, 10-file git repository"
mkdir -p "$tmp/c"
gen repo "$tmp/c/repo" 10
gen turns "$tmp/c/one.turns.yaml" 1 "$tmp/c/repo"
gen task "$tmp/c/task.yaml" one-turn
printf 'rm -rf %q/.wf/runs\n' "$tmp/c/repo" >"$tmp/c/prep.sh"
(cd "$tmp/c/repo" && "$wf" run ../task.yaml --yes 2>"$tmp/c/first.err") || die "one-turn run failed: $(cat "$tmp/c/first.err")"
grep -q 'succeeded (1 turn' "$tmp/c/first.err" || die "one-turn run: $(cat "$tmp/c/first.err")"
(cd "$tmp/c/repo" && hf one-turn --warmup 3 --runs 30 --prepare "bash $tmp/c/prep.sh" "$qwf run ../task.yaml --yes")
row "c. one-turn run, 10-file repo: time" "$(mean one-turn)" s 0.050 "$(sd one-turn)"
rss=$(cd "$tmp/c/repo" && peak_rss "bash $tmp/c/prep.sh" "$wf" run ../task.yaml --yes)
row "c. one-turn run, 10-file repo: peak RSS" "$rss" MB 20
# wf copies the repository into a workspace under $TMPDIR (or /tmp): on a
# slow file system that copy dominates; the same run with the workspace on
# tmpfs shows what wf itself costs.
shm_ok=0
if [ "$(stat -f -c %T "$workspace_tmp")" != tmpfs ] && [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ]; then
  shm_ok=1
  (cd "$tmp/c/repo" && hf one-turn-shm --warmup 3 --runs 30 --prepare "bash $tmp/c/prep.sh" "env TMPDIR=/dev/shm $qwf run ../task.yaml --yes")
  row "c. same, wf's workspace on tmpfs (TMPDIR=/dev/shm)" "$(mean one-turn-shm)" s - "$(sd one-turn-shm)"
fi

# ---- w. the workspace at real repository sizes: the one-turn run of c
# on generated repositories of 1,000, 10,000 and 100,000 files, with wf's
# workspaces on disk (never tmpfs: WS_TMPDIR, default /var/tmp). "first"
# removes the repository's workspace slots before every run (a new machine,
# or the first run of a repository); "later" keeps them (every run after).
# BENCH_SIZES="1000 10000" chooses the sizes.
say "w. one-turn run at 1,000 / 10,000 / 100,000 files, first and later runs"
ws_base=$(mktemp -d "${WS_TMPDIR:-/var/tmp}/wf-bench-ws.XXXXXX")
trap 'rm -rf "$tmp" "$ws_base"' EXIT
say "w. workspaces under $ws_base ($(fstype "$ws_base"))"
for n in ${BENCH_SIZES:-1000 10000 100000}; do
  d=$tmp/w$n
  mkdir -p "$d"
  gen repo "$d/repo" "$n"
  git -C "$d/repo" status --porcelain >/dev/null # a refreshed index, as a user's is
  cp "$tmp/c/one.turns.yaml" "$d/one.turns.yaml"
  gen task "$d/task.yaml" one-turn
  runs=$((n >= 100000 ? 5 : n >= 10000 ? 10 : 20))
  printf 'rm -rf %q/.wf/runs\n' "$d/repo" >"$d/later.sh"
  printf 'rm -rf %q/.wf/runs %q/wf-*/wf-ws-*\nsync\n' "$d/repo" "$ws_base" >"$d/first.sh"
  (cd "$d/repo" && env TMPDIR="$ws_base" "$wf" run ../task.yaml --yes 2>"$d/first.err") || die "one-turn run at $n files failed: $(cat "$d/first.err")"
  grep -q 'succeeded (1 turn' "$d/first.err" || die "one-turn run at $n files: $(cat "$d/first.err")"
  (cd "$d/repo" && hf "w$n-first" --runs "$((n >= 100000 ? 3 : runs))" --prepare "bash $d/first.sh" "env TMPDIR=$ws_base $qwf run ../task.yaml --yes")
  (cd "$d/repo" && hf "w$n-later" --warmup 2 --runs "$runs" --prepare "bash $d/later.sh" "env TMPDIR=$ws_base $qwf run ../task.yaml --yes")
  target_first=-
  target_later=-
  case $n in
    1000) target_first=0.050 target_later=0.030 ;;
    10000) target_first=0.150 ;;
    100000) target_first=1 ;;
  esac
  row "w. one-turn run, $n-file repo, first run (new slot)" "$(mean "w$n-first")" s "$target_first" "$(sd "w$n-first")"
  row "w. one-turn run, $n-file repo, later run (slot kept)" "$(mean "w$n-later")" s "$target_later" "$(sd "w$n-later")"
  rm -rf "$ws_base"/wf-*/wf-ws-* "$d"
done

# ---- s. the sandbox: the run of c with one check, `true`: one command,
# confined (the default) and with --sandbox off. Their difference is what
# the sandbox costs a run with one command: the probe of the machine, the
# policy, and one start of the `wf __sandbox` helper.
say "s. one-turn run with one check (\`true\`), sandboxed and not"
gen task "$tmp/c/check.yaml" one-check
(cd "$tmp/c/repo" && "$wf" run ../check.yaml --yes 2>"$tmp/c/check.err") || die "one-check run failed: $(cat "$tmp/c/check.err")"
grep -q '"kind":"check_result".*"passed":true' "$(ls -d "$tmp"/c/repo/.wf/runs/*/ | tail -n 1)trace.jsonl" ||
  die "one-check run: the check did not run and pass"
(cd "$tmp/c/repo" && hf one-check --warmup 3 --runs 30 --prepare "bash $tmp/c/prep.sh" \
  "$qwf run ../check.yaml --yes" "$qwf run ../check.yaml --yes --sandbox off")
row "s. one-turn run with one check (\`true\`), sandboxed" "$(mean one-check 0)" s 0.060 "$(sd one-check 0)"
row "s. same, \`--sandbox off\`" "$(mean one-check 1)" s - "$(sd one-check 1)"
row "s. what the sandbox adds to that run (difference of the medians)" \
  "$(python3 -c "print($(rep median "$tmp/one-check.json" 0) - $(rep median "$tmp/one-check.json" 1))")" s - "probe, policy, one confined command"

# The same run with its task from a pinned git recipe: what `uses:` adds
# (reading wf.lock, `git ls-remote` of a local remote to check the tag, the
# recipe from the cache by commit).
mkdir -p "$tmp/c/recipes"
git -C "$tmp/c/recipes" init -q
printf 'wf: 1\nname: bench-recipe\nmodel: { provider: anthropic, name: claude-haiku-4-5 }\ncontext:\n  include: ["README.md"]\nprompt: Check the repository and stop.\n' >"$tmp/c/recipes/one.yaml"
git -C "$tmp/c/recipes" add -A
git -C "$tmp/c/recipes" -c user.name=bench -c user.email=bench@example.com commit -qm recipe
git -C "$tmp/c/recipes" tag v1
printf 'wf: 1\nname: bench-uses\nmodel: { provider: script, script: one.turns.yaml }\nuses: git+%s//one.yaml@v1\nlimits: { max_turns: 5 }\n' "$tmp/c/recipes" >"$tmp/c/uses.yaml"
(cd "$tmp/c/repo" && "$wf" lock ../uses.yaml >/dev/null) || die "wf lock failed"
(cd "$tmp/c/repo" && "$wf" run ../uses.yaml --yes 2>"$tmp/c/uses.err") || die "run with a recipe failed: $(cat "$tmp/c/uses.err")"
(cd "$tmp/c/repo" && hf one-turn-uses --warmup 3 --runs 30 --prepare "bash $tmp/c/prep.sh" "$qwf run ../uses.yaml --yes")
row "c. same, the task from a pinned git recipe (\`uses:\`)" "$(mean one-turn-uses)" s - "$(sd one-turn-uses)"

# ---- d. a 200-turn scripted run on a 1,000-file repository
say "d. 200-turn scripted run, 1,000-file git repository"
mkdir -p "$tmp/d"
gen repo "$tmp/d/repo" 1000
# The task file lives in the repository, committed, as users keep them (wf
# replays and resumes only task files inside the repository).
mkdir -p "$tmp/d/repo/wf-bench"
gen turns "$tmp/d/repo/wf-bench/many.turns.yaml" 200 "$tmp/d/repo"
gen task "$tmp/d/repo/wf-bench/task.yaml" many-turns
git -C "$tmp/d/repo" add wf-bench && git -C "$tmp/d/repo" -c user.name=bench -c user.email=bench@wf.invalid commit -qm "the task"
printf 'cd %q && git checkout -q . && git clean -fdq -e .wf && rm -rf .wf/runs\n' "$tmp/d/repo" >"$tmp/d/prep.sh"
bash "$tmp/d/prep.sh"
(cd "$tmp/d/repo" && "$wf" run wf-bench/task.yaml --yes 2>"$tmp/d/first.err") || die "200-turn run failed: $(tail -n 5 "$tmp/d/first.err")"
grep -q 'succeeded (200 turns' "$tmp/d/first.err" || die "200-turn run: $(tail -n 5 "$tmp/d/first.err")"
changed=$(git -C "$tmp/d/repo" status --porcelain | wc -l)
[ "$changed" -gt 0 ] || die "the 200-turn run applied nothing"
calls=$(grep -c '"kind":"tool_result"' "$tmp"/d/repo/.wf/runs/*/trace.jsonl)
failed=$(grep '"kind":"tool_result"' "$tmp"/d/repo/.wf/runs/*/trace.jsonl | grep -c '"ok":false' || true)
[ "$failed" -eq 0 ] || die "$failed of the 200-turn run's tool calls failed"
echo "200-turn run: $calls tool calls, all ok; $(grep -o 'applied: [0-9]* files' "$tmp/d/first.err")" >&2
echo "where the time went (first run): $(rep splits "$tmp"/d/repo/.wf/runs/*/trace.jsonl)" >&2
(cd "$tmp/d/repo" && hf many-turns --warmup 1 --runs 10 --prepare "bash $tmp/d/prep.sh" "$qwf run wf-bench/task.yaml --yes")
row "d. 200-turn run, 1,000-file repo: time" "$(mean many-turns)" s 1 "$(sd many-turns)"
rss=$(cd "$tmp/d/repo" && peak_rss "bash $tmp/d/prep.sh" "$wf" run wf-bench/task.yaml --yes)
row "d. 200-turn run, 1,000-file repo: peak RSS" "$rss" MB 50
(cd "$tmp/d/repo" && hf many-turns-dry --warmup 1 --runs 5 --prepare "bash $tmp/d/prep.sh" "$qwf run wf-bench/task.yaml --dry-run")
row "d. same, \`--dry-run\` (nothing applied)" "$(mean many-turns-dry)" s - "$(sd many-turns-dry)"
if ((shm_ok)); then
  (cd "$tmp/d/repo" && hf many-turns-shm --warmup 1 --runs 5 --prepare "bash $tmp/d/prep.sh" \
    "env TMPDIR=/dev/shm $qwf run wf-bench/task.yaml --yes")
  row "d. same, wf's workspace on tmpfs (TMPDIR=/dev/shm)" "$(mean many-turns-shm)" s - "$(sd many-turns-shm)"
fi

# ---- f. replay of a recorded 200-turn run (about 1,000 events)
say "f. replay of the recorded 200-turn run"
bash "$tmp/d/prep.sh"
(cd "$tmp/d/repo" && "$wf" run wf-bench/task.yaml --yes 2>/dev/null) || die "200-turn run for replay failed"
events=$(wc -l <"$(ls -d "$tmp"/d/repo/.wf/runs/*/ | tail -n 1)trace.jsonl")
(cd "$tmp/d/repo" && "$wf" replay last | tee "$tmp/d/replay.out" >&2)
grep -q "reproduced $events events" "$tmp/d/replay.out" || die "replay did not reproduce the run: $(cat "$tmp/d/replay.out")"
(cd "$tmp/d/repo" && hf replay --warmup 1 --runs 5 "$qwf replay last")
row "f. replay of a recorded $events-event run" "$(mean replay)" s 1 "$(sd replay)"

# ---- g. resume of a paused 200-turn run up to its pause point
say "g. resume of a paused 200-turn run"
bash "$tmp/d/prep.sh"
(cd "$tmp/d/repo" && "$wf" run wf-bench/task.yaml 2>/dev/null; test $? -eq 3) || die "the 200-turn run did not pause"
(cd "$tmp/d/repo" && "$wf" approve last 2>/dev/null) || die "approve failed"
run_dir=$(ls -d "$tmp"/d/repo/.wf/runs/*/ | tail -n 1)
cp -r "$run_dir" "$tmp/d/paused-run"
printf 'cd %q && git checkout -q . && git clean -fdq -e .wf && rm -rf %q && cp -r %q %q\n' \
  "$tmp/d/repo" "$run_dir" "$tmp/d/paused-run" "$run_dir" >"$tmp/d/prep-resume.sh"
(cd "$tmp/d/repo" && hf resume --warmup 1 --runs 5 --prepare "bash $tmp/d/prep-resume.sh" "$qwf resume last")
row "g. resume of a paused 200-turn run (to its pause point, then apply)" "$(mean resume)" s 0.5 "$(sd resume)"

# ---- e. the fixed part of every request
say "e. fixed instructions and tool definitions per request"
mkdir -p "$tmp/e"
git -C "$tmp/e" init -q # wf plans inside a git repository only
gen task "$tmp/e/fixed.yaml" fixed
(cd "$tmp/e" && "$wf" plan --json fixed.yaml >"$tmp/e/plan.json")
(cd "$tmp/e" && "$wf" plan fixed.yaml >"$tmp/e/plan.txt")
bytes=$(rep plan-field "$tmp/e/plan.json" fixed_request_bytes)
grep "fixed per request" "$tmp/e/plan.txt" >&2
grep -q "fixed per request: $bytes bytes" "$tmp/e/plan.txt" || die "wf plan and wf plan --json disagree on the fixed bytes"
row "e. fixed instructions + 6 tool definitions per request" "$(((bytes + 3) / 4))" tokens 1500 "$bytes bytes"

# ---------------------------------------------------------------- 4. the table
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null | head -n 1)
header="wf $rev${dirty:+ (src modified)}, $(date -u +%Y-%m-%d), $(nproc) cores, inputs on $(fstype "$tmp"), workspaces in $workspace_tmp on $(fstype "$workspace_tmp"), $(rg --version | head -n 1), $(hyperfine --version); load average $load_before before, $load_after after; suite took $((SECONDS - started)) s"
table=$(rep table "$rows")
say "results"
printf '%s\n\n%s\n' "$header" "$table"
if ((write)); then
  {
    echo "# wf benchmark results"
    echo
    echo "Written by \`bash bench/run.sh --write\`; see README.md for what each line measures."
    echo
    echo "$header"
    echo
    echo "$table"
  } >"$here/results.md"
  echo "(written to bench/results.md)" >&2
fi
