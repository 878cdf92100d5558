#!/usr/bin/env python3
"""Real projects for wf's CI (tests/cli/real_projects.rs).

Three published packages, pinned by version and SHA-256, fetched from the
registries they are published on and turned into git repositories set up
the way their developers work, with their own test command:

  log 0.4.22          crates.io   `cargo test`; Cargo.lock gitignored (as upstream)
  click 8.1.7         PyPI sdist  a `.venv` with `pip install -e .` and pytest
  body-parser 1.20.3  npm         `npm install` (node_modules), `npm test` (mocha)

Each lands in ~/.cache/wf-real-projects/<name>-<version>/ (`repo/`, and the
verified archive in `download/`), once: a later call finds the `ready`
stamp and does nothing, so CI caches the directory between runs. A download
whose hash differs is deleted and the script fails. The network is needed
only on the first call (static.crates.io and crates.io's index for log and
its dev-dependencies, PyPI for click and pytest, registry.npmjs.org for
body-parser and its devDependencies).

The npm tarball of body-parser ships no tests (its package.json `files`
leaves them out), so the fixture gets upstream's `test/support/env.js` and a
small mocha suite of ours over the real package (`test/body-parser.js`,
written below), run by the package's own `npm test` script.

Usage: real_projects.py [--json] [NAME...]   (default: all three)
With --json, one JSON object per project on stdout: name, version, repo,
test (its test command), fetched (false when cached), seconds.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

# Bumped when what the script builds changes, so caches are rebuilt.
LAYOUT = "2"

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wf-real-projects"

PYTEST = "pytest==8.3.3"

BODY_PARSER_ENV = "\nprocess.env.NODE_ENV = 'test'\n"

BODY_PARSER_TEST = """
var assert = require('assert')
var http = require('http')
var request = require('supertest')

var bodyParser = require('..')

function server (parser) {
  return http.createServer(function (req, res) {
    parser(req, res, function (err) {
      res.statusCode = err ? (err.status || 500) : 200
      res.end(err ? err.message : JSON.stringify(req.body))
    })
  })
}

describe('bodyParser (the published package)', function () {
  it('parses a JSON body', function (done) {
    request(server(bodyParser.json()))
      .post('/')
      .set('Content-Type', 'application/json')
      .send('{"user":"tobi"}')
      .expect(200, '{"user":"tobi"}', done)
  })

  it('parses a urlencoded body', function (done) {
    request(server(bodyParser.urlencoded({ extended: false })))
      .post('/')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('user=tobi')
      .expect(200, '{"user":"tobi"}', done)
  })

  it('refuses a body over the limit with 413', function (done) {
    request(server(bodyParser.text({ limit: '1kb' })))
      .post('/')
      .set('Content-Type', 'text/plain')
      .send('x'.repeat(2048))
      .expect(413, done)
  })

  it('exports the four parsers', function () {
    ['json', 'raw', 'text', 'urlencoded'].forEach(function (name) {
      assert.strictEqual(typeof bodyParser[name], 'function')
    })
  })
})
"""

PROJECTS = {
    "log": {
        "version": "0.4.22",
        "url": "https://static.crates.io/crates/log/log-0.4.22.crate",
        "sha256": "a7a70ba024b9dc04c27ea2f0c0548feb474ec5c54bba33a7f72f873a39d07b24",
        "test": "cargo test --quiet",
    },
    "click": {
        "version": "8.1.7",
        "pip": "click==8.1.7",
        "file": "click-8.1.7.tar.gz",
        "sha256": "ca9853ad459e787e2192211578cc907e7594e294c7ccc834310722b41b9ca6de",
        "test": ".venv/bin/python -m pytest -q -p no:cacheprovider tests",
    },
    "body-parser": {
        "version": "1.20.3",
        "url": "https://registry.npmjs.org/body-parser/-/body-parser-1.20.3.tgz",
        "sha256": "d640fabf4456aa15a879ea36cdf6056164a44098c654dfe0a8522d1d3a4b6e86",
        "test": "npm test",
    },
}


def say(*words):
    print("real-projects:", *words, file=sys.stderr, flush=True)


def run(cmd, cwd, env=None):
    say("$", " ".join(cmd), f"(in {cwd})")
    subprocess.run(cmd, cwd=cwd, check=True, env=env, stdout=sys.stderr)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(name, spec, folder):
    """The verified archive in `folder`, downloaded when absent."""
    folder.mkdir(parents=True, exist_ok=True)
    if "pip" in spec:
        path = folder / spec["file"]
        if not path.exists():
            run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                 "--disable-pip-version-check", "-d", str(folder), spec["pip"]], cwd=folder)
    else:
        path = folder / spec["url"].rsplit("/", 1)[1]
        if not path.exists():
            say("downloading", spec["url"])
            part = path.with_suffix(".part")
            with urllib.request.urlopen(spec["url"], timeout=60) as r, open(part, "wb") as f:
                shutil.copyfileobj(r, f)
            part.rename(path)
    got = sha256(path)
    if got != spec["sha256"]:
        path.unlink()
        raise SystemExit(f"real-projects: {name}: {path.name} has SHA-256 {got}, "
                         f"expected {spec['sha256']}; deleted, refusing to use it")
    return path


def extract(archive, repo):
    """The archive's one top folder's content, as `repo`."""
    with tempfile.TemporaryDirectory(dir=repo.parent) as tmp:
        with tarfile.open(archive) as t:
            t.extractall(tmp, filter="data")
        (top,) = Path(tmp).iterdir()
        top.rename(repo)


def git_repo(repo):
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    ident = ["-c", "user.name=wf real projects", "-c", "user.email=ci@wf.invalid"]
    run(["git", "init", "-q", "-b", "main"], cwd=repo, env=env)
    run(["git", "add", "-A"], cwd=repo, env=env)
    run(["git", *ident, "commit", "-q", "-m", "published package"], cwd=repo, env=env)


def drop_missing_targets(manifest):
    """`manifest` without its [[test]]/[[bench]]/[[example]] tables whose
    `path` does not exist."""
    text = manifest.read_text()
    tables, current = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith("[") and current:
            tables.append(current)
            current = []
        current.append(line)
    tables.append(current)
    kept = []
    for table in tables:
        head = table[0].strip()
        paths = [l.split("=", 1)[1].strip().strip('"') for l in table if l.startswith("path")]
        if head in ("[[test]]", "[[bench]]", "[[example]]") and paths \
                and not (manifest.parent / paths[0]).exists():
            say(f"dropping {head} {paths[0]} from {manifest.name}: the package does not ship it")
            continue
        kept.append("".join(table))
    manifest.write_text("".join(kept))


def set_up(name, repo):
    """The project as its developers have it: its toolchain state, ignored."""
    if name == "log":
        # The published crate leaves tests/ out but its Cargo.toml still
        # names two [[test]] targets there, which stops every cargo command:
        # those targets are dropped, so `cargo test` runs the unit and doc
        # tests in src/.
        drop_missing_targets(repo / "Cargo.toml")
        # The crate's own .gitignore ignores Cargo.lock and target/: a lock is
        # made and its crates fetched, so `cargo test` runs offline later.
        run(["cargo", "generate-lockfile", "--quiet"], cwd=repo)
        run(["cargo", "fetch", "--quiet"], cwd=repo)
    elif name == "click":
        (repo / ".gitignore").write_text(
            ".venv/\n__pycache__/\n*.egg-info/\n.pytest_cache/\nbuild/\ndist/\n")
        run([sys.executable, "-m", "venv", ".venv"], cwd=repo)
        run([".venv/bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "-e", ".", PYTEST], cwd=repo)
    elif name == "body-parser":
        (repo / ".gitignore").write_text("node_modules/\npackage-lock.json\ncoverage/\n.nyc_output/\n")
        (repo / "test" / "support").mkdir(parents=True)
        (repo / "test" / "support" / "env.js").write_text(BODY_PARSER_ENV.lstrip())
        (repo / "test" / "body-parser.js").write_text(BODY_PARSER_TEST.lstrip())
        run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=repo)


def prepare(name):
    spec = PROJECTS[name]
    home = CACHE / f"{name}-{spec['version']}"
    repo = home / "repo"
    stamp = home / "ready"
    want = f"{LAYOUT} {spec['sha256']}\n"
    started = time.monotonic()
    fetched = not (stamp.exists() and stamp.read_text() == want and repo.is_dir())
    if fetched:
        stamp.unlink(missing_ok=True)
        archive = download(name, spec, home / "download")
        if repo.exists():
            shutil.rmtree(repo)
        extract(archive, repo)
        set_up(name, repo)
        git_repo(repo)
        stamp.write_text(want)
    seconds = round(time.monotonic() - started, 1)
    say(f"{name} {spec['version']}", "fetched and set up" if fetched else "cached",
        f"in {seconds} s at {repo}")
    return {"name": name, "version": spec["version"], "repo": str(repo), "test": spec["test"],
            "fetched": fetched, "seconds": seconds}


def main(args):
    as_json = "--json" in args
    names = [a for a in args if a != "--json"] or list(PROJECTS)
    for n in names:
        if n not in PROJECTS:
            raise SystemExit(f"real-projects: unknown project {n}; known: {', '.join(PROJECTS)}")
    for n in names:
        done = prepare(n)
        if as_json:
            print(json.dumps(done), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
