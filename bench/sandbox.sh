#!/bin/sh
# The sandbox's start-up cost: the median of 100 runs of `true` through
# wf's process::run, plain and sandboxed (wf __sandbox with the default
# policy), plus one sandbox::check(). A debug build unless CARGO_PROFILE is
# set, e.g. CARGO_PROFILE=release sh bench/sandbox.sh.
set -eu
cd "$(dirname "$0")/.."
profile=${CARGO_PROFILE:-dev}
cargo test --profile "$profile" --test lib sandbox::overhead -- --ignored --nocapture --exact 2>&1 |
    grep -E '^true, median'
