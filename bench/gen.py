#!/usr/bin/env python3
"""Input generators for bench/run.sh. Standard library only, deterministic
(fixed seeds), so every run of the suite measures the same inputs.

    gen.py specs DIR N            N varied, valid task files under DIR
    gen.py tree DIR N             a git work tree of N small files (.gitignore'd dirs included)
    gen.py modtree DIR N          a git work tree of N small files in modules src/mNNN (issue #14's shape)
    gen.py repo DIR N             a committed git repository of N small files
    gen.py turns FILE N REPO      a script of N turns over the files of REPO
    gen.py reads FILE N REPO      the read script: N turns of an agent working through REPO (JSON, for fake_anthropic.py)
    gen.py task FILE KIND         a task file: one-turn, one-check, many-turns, reads, fixed, tree-wide, tree-based
"""

import json
import os
import random
import subprocess
import sys

# ---------------------------------------------------------------- task files

MODELS = [
    ("openai", "gpt-4.1-mini"),
    ("openai", "gpt-4o"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-haiku-4-5"),
]
TOOLSETS = [
    ["read_file", "list_files", "search"],
    ["read_file", "list_files", "search", "edit_file"],
    ["read_file", "search", "edit_file", "write_file"],
    ["read_file", "list_files", "search", "edit_file", "write_file", "shell"],
]
CONSTRAINTS = [
    "Do not change public function signatures.",
    "Keep the changelog in order, newest first.",
    "Never touch files under migrations/.",
    "Prefer small, reviewable edits.",
    "Keep every existing test passing.",
    "Write doc comments for every new public item.",
]


def spec_text(i, rng, script=None):
    """One valid task file, shaped by `i` and the generator."""
    name = f"task-{i:04d}-{rng.choice(['migrate', 'fix', 'docs', 'refactor', 'bump'])}"
    out = [
        "# yaml-language-server: $schema=../schemas/workflow.schema.json",
        f"# generated task {i}",
        "wf: 1",
        f"name: {name}",
    ]
    if i % 3 == 0:
        out.append(f"version: 1.{i % 7}.{i % 11}")
    if i % 2 == 0:
        out.append(f"description: Generated workflow number {i} for the validate benchmark.")
    inputs = []
    kind = i % 5
    if kind >= 1:
        inputs.append(("source", "{ type: path, default: config/app.ini, description: file to migrate }"))
    if kind >= 2:
        inputs.append(("strict", "{ type: boolean, default: true }"))
    if kind >= 3:
        inputs.append(("level", "{ type: enum, values: [fast, thorough], default: fast }"))
    if kind >= 4:
        inputs.append(("retries", "{ type: integer, default: 3 }"))
        inputs.append(("ratio", "{ type: number, default: 0.5 }"))
        inputs.append(("ticket", "{ type: string, description: issue id }"))
    if inputs:
        out.append("inputs:")
        out += [f"  {k}: {v}" for k, v in inputs]
    out.append("model:")
    if script:
        out += ["  provider: script", f"  script: {script}"]
    else:
        provider, model = MODELS[i % len(MODELS)]
        out += [f"  provider: {provider}", f"  name: {model}"]
        if i % 4 == 1:
            out.append("  max_tokens: 4096")
        if i % 6 == 2:
            out.append("  temperature: 0")
    include = [f'"src/mod{i % 13}/**/*.rs"', '"README.md"']
    if kind >= 1:
        include.append('"{{ inputs.source }}"')
    out += [
        "context:",
        f"  include: [{', '.join(include)}]",
        '  exclude: ["**/*_generated.rs"]',
        f"  max_tokens: {20000 + 1000 * (i % 40)}",
    ]
    n_cons = i % 4
    if n_cons:
        out.append("constraints:")
        out += [f"  - {CONSTRAINTS[(i + k) % len(CONSTRAINTS)]}" for k in range(n_cons)]
    tools = TOOLSETS[i % len(TOOLSETS)]
    if i % 2:
        out.append(f"tools: [{', '.join(tools)}]")
    else:
        out.append("tools:")
        out += [f"  - {t}" for t in tools]
    out += ["permissions:", '  read: ["**"]']
    if any(t in tools for t in ("edit_file", "write_file")):
        out.append(f'  write: ["src/mod{i % 13}/**", "docs/**"]')
        out.append('  protect: ["migrations/**"]')
    if "shell" in tools:
        out += ["  shell:", '    allow: ["cargo check", "cargo test *"]', "    timeout: 2m"]
    prompt = f"Work item {i}: tidy up module mod{i % 13}."
    if kind >= 1:
        prompt += " Migrate {{ inputs.source }} to TOML."
    if kind >= 3:
        prompt += " Mode: {{ inputs.level }}."
    if i % 3 == 1:
        out += ["prompt: |", f"  {prompt}", "  Keep every key and value.", "  Explain nothing; just do it."]
    else:
        out.append(f'prompt: "{prompt}"')
    n_checks = i % 3
    if n_checks:
        out.append("checks:")
        out += ["  - name: build", "    run: cargo build --quiet"]
        if n_checks == 2:
            out += ["  - name: tests", "    run: |", "      cargo test --quiet", "      echo done", "    timeout: 10m"]
    if i % 4 == 3:
        out += ["checkpoints:", "  plan: true", "  apply: true"]
    out += ["limits:", f"  max_turns: {10 + i % 50}", f"  max_repairs: {i % 4}"]
    if i % 5 == 2:
        out.append("  max_cost_usd: 2.50")
    if i % 7 == 3:
        out.append("  timeout: 30m")
    return "\n".join(out) + "\n"


def gen_specs(root, n):
    rng = random.Random(1)
    os.makedirs(root, exist_ok=True)
    # A shared script of turns: `wf validate DIR` skips it (top-level `turns:`, no `wf:`).
    with open(os.path.join(root, "turns.yaml"), "w") as f:
        f.write("turns:\n  - text: Done.\n")
    for i in range(n):
        sub = os.path.join(root, f"team{i % 10}")
        os.makedirs(sub, exist_ok=True)
        script = "../turns.yaml" if i % 10 == 9 else None
        ext = "yml" if i % 8 == 5 else "yaml"
        with open(os.path.join(sub, f"task{i:04d}.{ext}"), "w") as f:
            f.write(spec_text(i, rng, script))


# ---------------------------------------------------------------- trees

def body(rng, path, ext):
    words = ["alpha", "beta", "gamma", "delta", "config", "handler", "parse", "value", "cache", "token"]
    line = " ".join(rng.choice(words) for _ in range(rng.randint(4, 12)))
    if ext == "rs":
        return f"// {path}\npub fn f_{rng.randint(0, 10**6)}() -> u32 {{\n    // {line}\n    42\n}}\n"
    if ext == "md":
        return f"# {path}\n\n{line}.\n"
    return f"{line}\n"


def tree_dirs():
    """(directory, weight, extensions) for the 100k-file tree."""
    dirs = []
    for p in range(40):
        for m in range(8):
            for kind, w in (("handlers", 1), ("models", 2), ("util", 2), ("legacy", 1), ("tests", 2)):
                dirs.append((f"src/pkg{p:02d}/mod{m}/{kind}", w, ["rs"] * 7 + ["md", "txt", "txt"]))
    for s in range(20):
        for t in range(10):
            dirs.append((f"docs/sec{s:02d}/topic{t}", 2, ["md"] * 4 + ["txt"]))
    for c in range(6):
        for ch in range(8):
            dirs.append((f"docs/guide/part{c}/ch{ch}", 2, ["md"] * 4 + ["txt"]))
    for s in range(30):
        for sh in range(10):
            dirs.append((f"data/set{s:02d}/shard{sh}", 1, ["txt"]))
    # Ignored by .gitignore: files here must never be selected.
    for p in range(40):
        dirs.append((f"target/debug/build/pkg{p:02d}/handlers", 3, ["rs", "md", "txt"]))
        dirs.append((f"node_modules/lib{p:02d}/guide/dist", 3, ["md", "txt"]))
    return dirs


def gen_tree(root, n):
    rng = random.Random(2)
    os.makedirs(root, exist_ok=True)
    subprocess.run(["git", "init", "-q", root], check=True)
    with open(os.path.join(root, ".gitignore"), "w") as f:
        f.write("target/\nnode_modules/\n*.log\n")
    top = ["README.md", "Cargo.toml", "notes.txt", "run.log"]
    for name in top:
        with open(os.path.join(root, name), "w") as f:
            f.write(body(rng, name, name.rsplit(".", 1)[1]))
    dirs = tree_dirs()
    slots = [d for d in dirs for _ in range(d[1])]
    made = len(top) + 1  # .gitignore counts
    created = set()
    i = 0
    while made < n:
        d, _, exts = slots[i % len(slots)]
        i += 1
        if d not in created:
            os.makedirs(os.path.join(root, d), exist_ok=True)
            created.add(d)
        ext = exts[rng.randrange(len(exts))]
        stem = f"f{i:06d}"
        if ext == "rs" and i % 9 == 0:
            stem += "_test"
        rel = f"{d}/{stem}.{ext}"
        with open(os.path.join(root, rel), "w") as f:
            f.write(body(rng, rel, ext))
        made += 1


def modtree_dirs():
    """(directory, weight, extensions) for the tree of issue #14: 120 modules
    `src/m000`…`src/m119`, mostly Rust with a Cargo.toml-like file here and
    there, so `src/**/*.rs` selects most of the tree, `src/m00*/**/*.toml`
    a handful, and `src/m09*/**` (m090…m099) cuts out a twelfth."""
    dirs = []
    rs = ["rs"] * 8 + ["toml", "md"]
    for m in range(120):
        for sub, w in (("", 1), ("api", 2), ("core", 3), ("core/impl", 3), ("tests", 2), ("config", 1)):
            d = f"src/m{m:03d}" + (f"/{sub}" if sub else "")
            dirs.append((d, w, ["toml"] * 3 + ["rs"] if sub == "config" else rs))
        # Build output inside each module, ignored by the top-level .gitignore.
        dirs.append((f"src/m{m:03d}/out", 1, ["rs", "toml"]))
    for s in range(10):
        dirs.append((f"docs/part{s}", 1, ["md"]))
    # Ignored by .gitignore: files here must never be selected.
    for p in range(10):
        dirs.append((f"target/debug/build/m{p:03d}", 2, ["rs", "toml"]))
    return dirs


def gen_modtree(root, n):
    rng = random.Random(4)
    os.makedirs(root, exist_ok=True)
    subprocess.run(["git", "init", "-q", root], check=True)
    with open(os.path.join(root, ".gitignore"), "w") as f:
        f.write("target/\n/src/*/out/\n*.log\n")
    top = ["README.md", "Cargo.toml"]
    for name in top:
        with open(os.path.join(root, name), "w") as f:
            f.write(body(rng, name, name.rsplit(".", 1)[1]))
    slots = [d for d in modtree_dirs() for _ in range(d[1])]
    made = len(top) + 1  # .gitignore counts
    created = set()
    i = 0
    while made < n:
        d, _, exts = slots[i % len(slots)]
        i += 1
        if d not in created:
            os.makedirs(os.path.join(root, d), exist_ok=True)
            created.add(d)
        ext = exts[rng.randrange(len(exts))]
        rel = f"{d}/f{i:06d}.{ext}"
        with open(os.path.join(root, rel), "w") as f:
            f.write(body(rng, rel, ext))
        made += 1


def gen_repo(root, n):
    """A committed repository of n files, each with a unique marker line
    (`marker-<k>`) that the scripted edits replace."""
    rng = random.Random(3)
    os.makedirs(root, exist_ok=True)
    subprocess.run(["git", "init", "-q", root], check=True)
    with open(os.path.join(root, ".gitignore"), "w") as f:
        f.write("target/\n")
    files = []
    for k in range(n - 2):  # with .gitignore and README.md: n files
        area = ["src", "src/core", "src/net", "docs", "tests"][k % 5]
        sub = f"{area}/m{k % 20:02d}"
        ext = {"docs": "md", "tests": "rs"}.get(area, "rs" if k % 3 else "txt")
        rel = f"{sub}/file{k:04d}.{ext}"
        os.makedirs(os.path.join(root, sub), exist_ok=True)
        lines = [f"// {rel}", f"// marker-{k}"]
        for j in range(rng.randint(10, 40)):
            lines.append(f"fn item_{k}_{j}() -> usize {{ {j} }} // value {rng.randint(0, 999)}")
        with open(os.path.join(root, rel), "w") as f:
            f.write("\n".join(lines) + "\n")
        files.append(rel)
    with open(os.path.join(root, "README.md"), "w") as f:
        f.write("# bench repo\n\nGenerated for wf's benchmarks.\n")
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b.invalid",
               GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b.invalid")
    subprocess.run(["git", "-C", root, "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", root, "commit", "-q", "-m", "base"], check=True, env=env)


# ---------------------------------------------------------------- scripts

def q(s):
    """A YAML double-quoted scalar."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def gen_turns(path, n, repo):
    out = ["# generated by bench/gen.py", "turns:"]
    if n == 1:
        out.append("  - text: Nothing to do; the task is already done.")
    else:
        files = sorted(
            os.path.relpath(os.path.join(d, f), repo)
            for d, _, fs in os.walk(repo) if "/.git" not in d + "/" and "/.wf" not in d + "/"
            for f in fs if f.startswith("file")
        )
        dirs = sorted({os.path.dirname(f) for f in files})
        edited = 0
        for t in range(n - 1):
            kind = t % 5
            f = files[(t * 7) % len(files)]
            if kind == 0:
                call = f"{{ name: read_file, input: {{ path: {q(f)} }} }}"
            elif kind == 1:
                d = dirs[t % len(dirs)]
                call = f"{{ name: search, input: {{ pattern: {q('item_[0-9]+_1[0-9]')}, path: {q(d)}, glob: {q('*.rs')} }} }}"
            elif kind == 2:
                d = dirs[(t * 3) % len(dirs)]
                call = f"{{ name: list_files, input: {{ path: {q(d)} }} }}"
            elif kind == 3:
                # Each edit a different file, so `old` (its marker) occurs once.
                f = files[(edited * 13) % len(files)]
                edited += 1
                k = int(os.path.basename(f)[4:8])
                call = (f"{{ name: edit_file, input: {{ path: {q(f)}, "
                        f"old: {q(f'// marker-{k}')}, new: {q(f'// marker-{k} (edited on turn {t + 1})')} }} }}")
            else:
                content = "".join(f"generated line {j} of turn {t + 1}\n" for j in range(20))
                call = f"{{ name: write_file, input: {{ path: {q(f'src/generated/out{t:03d}.txt')}, content: {q(content)} }} }}"
            out.append(f"  - text: {q(f'Step {t + 1}.')}")
            out.append(f"    tool_calls: [{call}]")
        out.append("  - text: Done.")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def gen_reads(path, n, repo):
    """The read script of the billed-tokens bench (bench/README.md, "Tokens
    on long runs"): an agent working through the repository one work item at
    a time, ten or eleven turns each. Per item, on a focus file f with three
    files g, h, i of its folder and a test file t (of tests/): search for f's
    functions; read f, g and t (three calls in one turn); list the folder;
    read h and i; edit f; re-read f to check the edit (changed: sent in
    full); re-read g (unchanged) and search again; edit f again; read the
    top of f (`offset`/`limit`: a window of its own); re-read two files of
    earlier items (a g, unchanged; and a g or, one time in three, an f,
    changed since the agent last read it whole); every third item also
    writes a new file. N - 1 turns of calls, then a final answer.
    Deterministic."""
    files = sorted(
        os.path.relpath(os.path.join(d, f), repo)
        for d, _, fs in os.walk(repo) if "/.git" not in d + "/" and "/.wf" not in d + "/"
        for f in fs if f.startswith("file")
    )
    by_dir = {}
    for f in files:
        by_dir.setdefault(os.path.dirname(f), []).append(f)
    tests = [f for f in files if f.startswith("tests/")]
    rng = random.Random(4)
    number = lambda f: int(os.path.basename(f)[4:8])
    call = lambda name, **inp: {"name": name, "input": inp}
    turns, earlier = [], []
    item = 0
    while len(turns) < n - 1:
        d = rng.choice(sorted(by_dir))
        f, g, h, i = rng.sample(by_dir[d], 4)
        k = number(f)
        area = d.split("/m")[0]
        t = rng.choice(tests)
        work = [
            ("Looking for the functions of item %d." % item, [call("search", pattern=f"fn item_{k}_[0-9]+", path=area)]),
            ("Reading the file and its neighbour.", [call("read_file", path=f), call("read_file", path=g), call("read_file", path=t)]),
            ("What else is in this folder?", [call("list_files", path=d)]),
            ("Two more related files.", [call("read_file", path=h), call("read_file", path=i)]),
            ("Updating the marker.", [call("edit_file", path=f, old=f"// marker-{k}", new=f"// marker-{k} (item {item})")]),
            ("Checking the edit.", [call("read_file", path=f)]),
            ("Back to the neighbour, and its uses.", [call("read_file", path=g), call("search", pattern=f"item_{number(g)}_1", path=area, glob="*.rs")]),
            ("Renaming the first function.", [call("edit_file", path=f, old=f"fn item_{k}_1()", new=f"fn item_{k}_1_checked()")]),
            ("The top of the file again.", [call("read_file", path=f, offset=1, limit=12)]),
        ]
        if earlier:
            _, eg = earlier[rng.randrange(len(earlier))]
            ef2, eg2 = earlier[rng.randrange(len(earlier))]
            again = ef2 if rng.random() < 1 / 3 else eg2
            work.append(("Re-reading earlier files.", [call("read_file", path=eg), call("read_file", path=again)]))
        if item % 3 == 2:
            content = "".join(f"note {j} on item {item}: {f}\n" for j in range(12))
            work.append(("Writing down what changed.", [call("write_file", path=f"docs/notes/item{item:02d}.md", content=content)]))
        earlier.append((f, g))
        for text, calls in work:
            if len(turns) < n - 1:
                turns.append({"text": text, "tool_calls": calls})
        item += 1
    turns.append({"text": "Done: every work item is updated."})
    with open(path, "w") as out:
        json.dump(turns, out, indent=1)


# ---------------------------------------------------------------- task files for runs

def gen_task(path, kind, extra=""):
    common_tools = "tools: [read_file, list_files, search, edit_file, write_file]"
    if kind in ("one-turn", "one-check"):
        # one-check: the same run with one check, `true`: one command, run
        # in the sandbox unless --sandbox off.
        check = "checks:\n  - name: noop\n    run: \"true\"\n" if kind == "one-check" else ""
        text = f"""wf: 1
name: bench-{kind}
model:
  provider: script
  script: one.turns.yaml
context:
  include: ["README.md"]
prompt: Check the repository and stop.
{check}checkpoints:
  apply: true
limits:
  max_turns: 5
"""
    elif kind == "many-turns":
        text = f"""wf: 1
name: bench-many-turns
model:
  provider: script
  script: many.turns.yaml
context:
  include: ["README.md"]
{common_tools}
permissions:
  read: ["**"]
  write: ["src/**", "docs/**", "tests/**"]
prompt: Touch up the markers across the repository.
checkpoints:
  apply: true
limits:
  max_turns: 250
"""
    elif kind == "reads":
        # The billed-tokens bench: the same tools and repository as
        # many-turns, answered by fake_anthropic.py.
        text = f"""wf: 1
name: bench-reads
model:
  provider: anthropic
  name: claude-sonnet-4-5
context:
  include: ["README.md"]
{common_tools}
permissions:
  read: ["**"]
  write: ["src/**", "docs/**", "tests/**"]
prompt: Work through the items of the repository, one file at a time.
checkpoints:
  apply: true
limits:
  max_turns: 250
"""
    elif kind == "fixed":
        text = """wf: 1
name: bench-fixed
model:
  provider: openai
  name: gpt-4.1-mini
tools: [read_file, list_files, search, edit_file, write_file, shell]
permissions:
  read: ["**"]
  write: ["src/**", "tests/**"]
  protect: ["migrations/**"]
  shell:
    allow: ["cargo check", "cargo test *"]
constraints:
  - Do not change public function signatures.
  - Do not touch the migrations directory.
prompt: Fix the failing test in src/lib.rs.
checks:
  - name: tests
    run: cargo test --quiet
"""
    else:
        includes, excludes = extra.split("|")
        inc = ", ".join(q(g) for g in includes.split(","))
        exc = ", ".join(q(g) for g in excludes.split(",")) if excludes else ""
        text = f"""wf: 1
name: bench-context
model:
  provider: openai
  name: gpt-4.1-mini
context:
  include: [{inc}]
  exclude: [{exc}]
  max_tokens: 5000000
prompt: Resolve the context only.
"""
    with open(path, "w") as f:
        f.write(text)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "specs":
        gen_specs(args[0], int(args[1]))
    elif cmd == "tree":
        gen_tree(args[0], int(args[1]))
    elif cmd == "modtree":
        gen_modtree(args[0], int(args[1]))
    elif cmd == "repo":
        gen_repo(args[0], int(args[1]))
    elif cmd == "turns":
        gen_turns(args[0], int(args[1]), args[2])
    elif cmd == "reads":
        gen_reads(args[0], int(args[1]), args[2])
    elif cmd == "task":
        gen_task(args[0], args[1], args[2] if len(args) > 2 else "")
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
