#!/usr/bin/env bash
# `wf report` in a real browser: a scripted run in a temporary repository
# (tests/browser/scenario.sh), its HTML report and the index of its runs
# loaded by headless Chromium. Checks that
#   - the page logs nothing to the console (no error, no CSP violation:
#     the report has no script and loads nothing);
#   - the DOM Chromium built holds the expected elements, and the markup
#     and the key the run read show as text / redacted;
#   - a screenshot is not blank: decoded (python3 stdlib), it has ink, the
#     green status badge and the red background of the denied call.
# A page that does log an error is loaded first, to prove the console
# check can fail.
#
# Usage: tests/browser/report.sh  (WF=path/to/wf, else target/debug/wf,
# built if missing; WF_BROWSER_OUT=DIR keeps the pages and screenshots.)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WF=${WF:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/wf}
[ -x "$WF" ] || (cd "$ROOT" && cargo build --quiet)
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
  echo "report.sh: chromium not found (apt-get install -y chromium)" >&2
  exit 1
fi
OUT=${WF_BROWSER_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
fail() { echo "FAIL: $*" >&2; exit 1; }

# Chromium on FILE with ARGS; its stderr (with console messages) in $OUT/NAME.err.
browse() {
  local name=$1 file=$2; shift 2
  local profile; profile=$(mktemp -d)
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
    --disable-background-networking --disable-component-update --disable-sync \
    --no-first-run --user-data-dir="$profile" --hide-scrollbars \
    --enable-logging=stderr --v=0 "$@" "file://$file" 2>"$OUT/$name.err"
  rm -rf "$profile"
}
# Console messages of a page: Chromium logs each as `…:CONSOLE:<line>] "…"`.
console() { grep -E ':CONSOLE[:(]|Uncaught' "$OUT/$1.err" || true; }

# 0. The console check can fail.
printf '<!DOCTYPE html><p>x</p><script>console.error("boom"); missing();</script>\n' >"$OUT/bad.html"
browse bad "$OUT/bad.html" --dump-dom >/dev/null
console bad | grep -q 'Uncaught ReferenceError' || fail "a page with an error logged nothing: the console check is blind"

# 1. A scripted run: markup in a tool result, a key in a file, a denied
# write, a failing check repaired.
export WF_DEMO_KEY="sk-demo0123456789abcdefghijKLMN"
# shellcheck source=tests/browser/scenario.sh
. "$ROOT/tests/browser/scenario.sh"
"$WF" run task.yaml --yes >/dev/null 2>"$OUT/run.err" || { cat "$OUT/run.err" >&2; fail "wf run"; }
DEMO_API_KEY=$WF_DEMO_KEY "$WF" report last --html >"$OUT/report.path"
PAGE=$(cat "$OUT/report.path")
[ -f "$PAGE" ] || fail "no report at $PAGE"
cp "$PAGE" "$OUT/report.html"

# 2. The DOM as Chromium built it.
browse report "$PAGE" --dump-dom >"$OUT/report.dom"
[ -z "$(console report)" ] || fail "console messages: $(console report)"
for want in 'id="status"' '>succeeded<' 'class="verify ok"' 'id="permissions"' \
  'class="call denied"' 'protected by permissions.protect' 'id="check-0-has-host"' \
  'no host key in &lt;config/app.toml&gt;' 'Repair round 1' 'tester@example.com' \
  'class="add">+host = "localhost"' '&lt;script&gt;alert("xss")&lt;/script&gt;' \
  'key: sk-[redacted]' 'id="usage-unknown"'; do
  grep -qF -- "$want" "$OUT/report.dom" || fail "the DOM lacks $want"
done
grep -qF -- "$WF_DEMO_KEY" "$OUT/report.dom" && fail "the key shows"
[ "$(grep -c '<script' "$OUT/report.dom")" = 0 ] || fail "a script element in the DOM"

# 3. A screenshot that is not blank.
browse shot "$PAGE" --window-size=1000,2600 --screenshot="$OUT/report.png" >/dev/null
[ -z "$(console shot)" ] || fail "console messages: $(console shot)"
python3 - "$OUT/report.png" <<'PY' || fail "the screenshot looks wrong"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width, height, ctype = 8, b"", 0, 0, 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), f"unexpected PNG format {depth}/{ctype}"
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), width * bpp
rows, prev, i = [], bytearray(stride), 0
for _ in range(height):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line)); prev = line
pixels = [tuple(r[x:x + 3]) for r in rows for x in range(0, stride, bpp)]
ink = sum(1 for p in pixels if p != (255, 255, 255)) / len(pixels)
colours = {}
for p in pixels:
    colours[p] = colours.get(p, 0) + 1
def near(rgb, tol=6):
    return sum(n for p, n in colours.items() if all(abs(p[k] - rgb[k]) <= tol for k in range(3)))
green, denied = near((0x1a, 0x7f, 0x37)), near((0xff, 0xeb, 0xe9), 2)
print(f"screenshot {width}x{height}: {ink:.1%} ink, {len(colours)} colours, "
      f"{green} badge-green and {denied} denied-red pixels")
assert ink > 0.05, "almost blank"
assert len(colours) > 50, "too few colours"
assert green > 100, "no green status badge"
assert denied > 1000, "no highlighted denial"
PY

# 4. The index of the folder of runs, and the Markdown.
"$WF" report .wf/runs >"$OUT/index.path" 2>/dev/null
INDEX=$(cat "$OUT/index.path")
browse index "$INDEX" --dump-dom >"$OUT/index.dom"
[ -z "$(console index)" ] || fail "index console messages: $(console index)"
ID=$(basename "$(dirname "$PAGE")")
grep -qF "<a href=\"$ID/report.html\">$ID</a>" "$OUT/index.dom" || fail "the index does not link $ID"
"$WF" report last --md -o "$OUT/report.md" >/dev/null
[ "$(wc -c <"$OUT/report.md")" -le 1048576 ] || fail "Markdown over 1 MiB"
grep -qF 'no host key in <config/app.toml>' "$OUT/report.md" || fail "Markdown lacks the check output"

rm -rf "$REPO"
echo "browser: report and index load with no console message; DOM and screenshot as expected ($OUT)"
