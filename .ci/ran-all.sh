#!/usr/bin/env bash
# Runs the `#[ignore]`d tests of tests/lib.rs whose names contain FILTER
# (a group that needs a real dependency: `real_linter_`, `real_mcp_`,
# `real_package`) and fails unless every one of them ran and passed. A
# plain `cargo test` reports these tests as ignored, never as passed; here
# a missing dependency makes a test fail, and a test that was not run at
# all (renamed out of its group, no longer ignored, filtered away) or a
# group that matches nothing fails this script.
#
# Usage: .ci/ran-all.sh FILTER [WRAPPER...]   (WRAPPER: a command that runs
# cargo, e.g. `python3 tests/support/no_userns.py`). RAN_ALL_TEST_ARGS: more
# arguments for the test binary (e.g. `--test-threads=1 --show-output`; not
# --nocapture, whose output splits the "test … ok" lines this reads).
set -euo pipefail
cd "$(dirname "$0")/.."
filter=$1
shift
listed=$(cargo test --locked --quiet --test lib -- --ignored --list "$filter" 2>/dev/null |
  sed -n 's/: test$//p' | sort)
if [ -z "$listed" ]; then
  echo "ran-all: no ignored test matches \`$filter\`: the group is gone or was renamed" >&2
  exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" cargo test --locked --test lib "$filter" -- --ignored ${RAN_ALL_TEST_ARGS:-} 2>&1 | tee "$log"
passed=$(sed -n 's/^test \(.*\) \.\.\. ok$/\1/p' "$log" | sort)
missing=$(comm -23 <(printf '%s\n' "$listed") <(printf '%s\n' "$passed"))
if [ -n "$missing" ]; then
  printf 'ran-all: these tests of `%s` did not run and pass:\n%s\n' "$filter" "$missing" >&2
  exit 1
fi
printf "ran-all: ran %s\n" $listed
echo "ran-all: all $(printf '%s\n' "$listed" | wc -l) tests of \`$filter\` ran and passed"
