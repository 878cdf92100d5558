#!/usr/bin/env bash
# Interop tests: wf (the debug binary) against real third-party model servers
# started on loopback: fakellm and llm-katan (echo backend). Installs the
# pinned servers into a virtualenv cached under $HOME/.cache (keyed by the
# requirements file), then runs tests/interop/interop.py.
#
#   bash .ci/interop.sh            # after `cargo build` or `cargo test`
#   WF_INTEROP=0 bash .ci/interop.sh  # skipped, saying so (.ci/run refuses it)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${WF_INTEROP:-1}" = "0" ]; then
  echo "interop tests skipped (WF_INTEROP=0)"
  exit 0
fi
python=${PYTHON:-python3}
reqs=tests/interop/requirements.txt
key=$(sha256sum "$reqs" | cut -c1-12)
venv=${WF_INTEROP_VENV:-$HOME/.cache/wf-interop/venv-$key}
if [ ! -x "$venv/bin/fakellm" ] || [ ! -x "$venv/bin/llm-katan" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$reqs"
fi
wf=${WF_BIN:-target/debug/wf}
if [ -n "${CARGO_TARGET_DIR:-}" ] && [ -z "${WF_BIN:-}" ]; then
  wf=$CARGO_TARGET_DIR/debug/wf
fi
[ -x "$wf" ] || cargo build --locked --quiet
exec "$venv/bin/python" tests/interop/interop.py --wf "$wf" --venv "$venv"
