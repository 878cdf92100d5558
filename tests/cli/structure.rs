//! The layer rules inside the two crates with many modules, `wf` (`src/`)
//! and `wf-engine` (`crates/wf-engine/src/`), checked on the source text:
//! every `crate::…` path (in `use` items, grouped imports included, and in
//! code) outside comments, string literals and `#[cfg(test)]` items is a
//! reference from the file's top-level module to another. Which crate may
//! use which is the compiler's to hold (the manifests, checked by
//! [`crates_depend_downward_only`]): the engine cannot name `cli`, `app`
//! or `report` at all. The rules here are those inside a crate:
//!
//! - no cycle among the top-level modules of either crate;
//! - `src/cli*` does not reach into `record::trace`, `record::store`,
//!   `provider` or `sys::git`;
//! - `src/report/` does not depend on `engine`;
//! - the engine has no terminal in it: it reads no stdin and prints
//!   nothing itself;
//! - the plan does not depend on the engine;
//! - the tools and MCP servers know no provider (the engine connects them;
//!   `wf-provider` cannot name the tools at all).
//!
//! And one rule of size: no source file of any crate has over [`MAX_CODE_LINES`]
//! lines of code — non-blank lines that are not only comments, counted
//! before the file's `#[cfg(test)]` module (see [`code_lines`]). A file
//! that grows past it is split along its seams (a `mod.rs` and a file per
//! concern), not allowed more.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One `crate::` reference: the file (relative to its crate's `src/`) and
/// the path after `crate::`, split into segments.
#[derive(Debug, Clone)]
struct Reference {
    file: String,
    path: Vec<String>,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source with comments removed and string and char literals emptied
/// (so braces and `crate::` inside them do not count).
fn code_only(src: &str) -> String {
    stripped(src, false)
}

/// The source with comments removed; string and char literals emptied
/// (their line breaks kept, so both forms have the same lines), or kept as
/// written with `keep_literals` (a `//` inside a string is not a comment
/// either way).
fn stripped(src: &str, keep_literals: bool) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // A raw string: r"…", r#"…"#, …
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            let end = (j + close.len()).min(b.len());
            if keep_literals {
                out.push_str(&src[i..end]);
            } else {
                out.push_str("\"\"");
                out.push_str(&"\n".repeat(src[i..end].matches('\n').count()));
            }
            i = end;
        } else if c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            if keep_literals {
                out.push_str(&src[start..i]);
            } else {
                out.push_str("\"\"");
                out.push_str(&"\n".repeat(src[start..i].matches('\n').count()));
            }
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{7f}', '{'), not a lifetime.
            let end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&x| x == b'\'')
                    .map(|p| i + 2 + p)
            } else {
                let len = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + len) == Some(&b'\'')).then_some(i + 1 + len)
            };
            match end {
                Some(end) => {
                    if keep_literals {
                        out.push_str(&src[i..=end]);
                    } else {
                        out.push_str("' '");
                    }
                    i = end + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let len = src[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&src[i..i + len]);
            i += len;
        }
    }
    out
}

/// The index just past the item that starts at `from`: through its
/// matching closing brace, or its `;` when that comes first.
fn item_end(code: &str, from: usize) -> usize {
    let mut depth = 0usize;
    for (i, c) in code[from..].char_indices() {
        match c {
            ';' if depth == 0 => return from + i + 1,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return from + i + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// The code without its `#[cfg(test)]` items.
fn without_tests(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = at + "#[cfg(test)]".len();
        rest = &rest[item_end(rest, after)..];
    }
    out.push_str(rest);
    out
}

/// Splits `a, b::{c, d}, e` at its top-level commas.
fn split_group(group: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&group[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Expands a use tree (`a::b`, `a::{b, c::d}`, `a as x`, `a::*`) under
/// `prefix` into full paths.
fn expand(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let mut base = prefix.to_vec();
        base.extend(segments(&tree[..open]));
        let close = tree.rfind('}').unwrap_or(tree.len());
        for part in split_group(&tree[open + 1..close]) {
            expand(&base, part, out);
        }
    } else {
        let mut full = prefix.to_vec();
        full.extend(segments(tree.split(" as ").next().unwrap_or(tree)));
        out.push(full);
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "self" && *s != "*")
        .map(str::to_string)
        .collect()
}

/// Every `crate::` path in `code`.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    let mut from = 0;
    while let Some(pos) = code[from..].find("crate::") {
        let at = from + pos;
        from = at + "crate::".len();
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_' || b[at - 1] == b'$') {
            continue;
        }
        let rest = &code[from..];
        if rest.trim_start().starts_with('{') {
            let open = from + rest.find('{').unwrap();
            let end = item_end(code, open);
            expand(&[], &code[open..end], &mut out);
            from = end;
        } else {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let path = segments(&rest[..len]);
            if rest[len..].starts_with('{') {
                // `crate::a::{b, c}`
                let end = item_end(code, from + len);
                expand(&path, &code[from + len..end], &mut out);
                from = end;
            } else {
                out.push(path);
            }
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// The source roots whose modules the rules name: `wf`'s and
/// `wf-engine`'s. Their top-level module names are distinct, so one graph
/// holds both (an edge between the two crates can only point down).
const ROOTS: [&str; 2] = ["src", "crates/wf-engine/src"];

fn references() -> Vec<Reference> {
    let mut files = Vec::new();
    for root in ROOTS {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(root);
        let mut found = Vec::new();
        rust_files(&src, &mut found);
        found.sort();
        files.extend(found.into_iter().map(|f| (src.clone(), f)));
    }
    let mut out = Vec::new();
    for (src, file) in files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let code = without_tests(&code_only(&std::fs::read_to_string(&file).unwrap()));
        for path in crate_paths(&code) {
            out.push(Reference {
                file: rel.clone(),
                path,
            });
        }
    }
    assert!(out.len() > 100, "too few references found: {}", out.len());
    out
}

/// The top-level module a file belongs to (`None` for the crate roots).
fn top_module(file: &str) -> Option<String> {
    if file == "lib.rs" || file == "main.rs" {
        return None;
    }
    let first = file.split('/').next().unwrap();
    Some(first.strip_suffix(".rs").unwrap_or(first).to_string())
}

fn starts_with(path: &[String], prefix: &str) -> bool {
    let prefix: Vec<&str> = prefix.split("::").collect();
    path.len() >= prefix.len() && path.iter().zip(&prefix).all(|(a, b)| a == b)
}

/// References from files whose path (relative to `src/`) starts with one of
/// `files` to paths under one of `forbidden`, as `file -> crate::path`.
fn violations(files: &[&str], forbidden: &[&str]) -> Vec<String> {
    references()
        .into_iter()
        .filter(|r| files.iter().any(|f| r.file.starts_with(f)))
        .filter(|r| forbidden.iter().any(|f| starts_with(&r.path, f)))
        .map(|r| format!("{} -> crate::{}", r.file, r.path.join("::")))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The module graph: each top-level module and the top-level modules it
/// references, with one file per edge as evidence.
fn module_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for r in references() {
        let Some(from) = top_module(&r.file) else {
            continue;
        };
        let to = r.path[0].clone();
        let edges = graph.entry(from.clone()).or_default();
        if to != from {
            edges
                .entry(to)
                .or_insert_with(|| format!("{} -> crate::{}", r.file, r.path.join("::")));
        }
    }
    graph
}

/// A cycle of the graph, if any, as the modules along it (first = last).
fn find_cycle(graph: &BTreeMap<String, BTreeMap<String, String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeMap<String, String>>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(node.to_string(), Mark::Open);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(|e| e.keys()) {
            match marks.get(next).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let start = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(next, graph, marks, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if marks.get(node).copied().unwrap_or(Mark::New) == Mark::New {
            let mut stack = Vec::new();
            if let Some(c) = visit(node, graph, &mut marks, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

/// The groups of modules that reach each other (strongly connected
/// components with more than one module), for the failure message.
fn tangles(graph: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<Vec<String>> {
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(n) = todo.pop() {
            for next in graph.get(&n).into_iter().flat_map(|e| e.keys()) {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|n| (n, reach(n))).collect();
    let mut groups: BTreeSet<Vec<String>> = BTreeSet::new();
    for (n, from_n) in &reaches {
        let group: Vec<String> = reaches
            .iter()
            .filter(|(m, from_m)| from_n.contains(**m) && from_m.contains(*n))
            .map(|(m, _)| (*m).clone())
            .collect();
        if group.len() > 1 {
            groups.insert(group);
        }
    }
    groups.into_iter().collect()
}

fn describe_cycle(graph: &BTreeMap<String, BTreeMap<String, String>>, cycle: &[String]) -> String {
    let mut text = cycle.join(" -> ");
    for pair in cycle.windows(2) {
        text.push_str(&format!("\n  {}", graph[&pair[0]][&pair[1]]));
    }
    text
}

// ------------------------------------------------------- the scanner itself --

#[test]
fn the_scanner_sees_grouped_imports_and_skips_comments_strings_and_tests() {
    let src = r##"
//! Links to [`crate::doc_only`] are not references.
use crate::{a::{B, c::D}, e as f, g::*};
use crate::h::{self, I};
/* crate::block_comment */
fn x() {
    let s = "crate::in_string {";
    let r = r#"crate::in_raw_string"#;
    let c = '{';
    crate::j::call(c);
    $crate::macro_path();
}
#[cfg(test)]
mod tests {
    use crate::only_in_tests;
    fn y() { let _ = "}"; crate::also_tests(); }
}
fn z<'a>(v: &'a str) -> &'a str { crate::k::L; v }
"##;
    let code = without_tests(&code_only(src));
    let found: Vec<String> = crate_paths(&code).iter().map(|p| p.join("::")).collect();
    assert_eq!(
        found,
        ["a::B", "a::c::D", "e", "g", "h", "h::I", "j::call", "k::L"]
    );
}

#[test]
fn a_cycle_is_found_and_named() {
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        graph
            .entry(from.into())
            .or_default()
            .insert(to.into(), format!("{from}.rs -> crate::{to}"));
    }
    let cycle = find_cycle(&graph).unwrap();
    assert_eq!(cycle, ["a", "b", "c", "a"]);
    assert!(describe_cycle(&graph, &cycle).contains("c.rs -> crate::a"));
    graph.get_mut("c").unwrap().remove("a");
    assert_eq!(find_cycle(&graph), None);
}

// ------------------------------------------------------------ the rules --

#[test]
fn no_cycle_among_top_level_modules() {
    let graph = module_graph();
    assert!(graph.contains_key("engine") && graph.contains_key("cli"));
    if let Some(cycle) = find_cycle(&graph) {
        let mut groups = String::new();
        for group in tangles(&graph) {
            groups.push_str(&format!("\n{}:", group.join(", ")));
            for from in &group {
                for (to, evidence) in &graph[from] {
                    if group.contains(to) {
                        groups.push_str(&format!("\n  {from} -> {to}: {evidence}"));
                    }
                }
            }
        }
        panic!(
            "the top-level modules of src/ form a cycle: {}\nmodules that reach each other:{groups}",
            describe_cycle(&graph, &cycle),
        );
    }
}

fn cli_violations(forbidden: &str) -> Vec<String> {
    violations(&["cli.rs", "cli/"], &[forbidden])
}

#[test]
fn cli_does_not_use_record_trace() {
    let found = cli_violations("record::trace");
    assert!(
        found.is_empty(),
        "src/cli* references:\n{}",
        found.join("\n")
    );
}

#[test]
fn cli_does_not_use_record_store() {
    let found = cli_violations("record::store");
    assert!(
        found.is_empty(),
        "src/cli* references:\n{}",
        found.join("\n")
    );
}

#[test]
fn cli_does_not_use_provider() {
    let found = cli_violations("provider");
    assert!(
        found.is_empty(),
        "src/cli* references:\n{}",
        found.join("\n")
    );
}

#[test]
fn cli_does_not_use_sys_git() {
    let found = cli_violations("sys::git");
    assert!(
        found.is_empty(),
        "src/cli* references:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_cli_rules_do_see_the_cli() {
    // The rules above are not vacuous: the cli's references are found.
    assert!(
        violations(&["cli.rs", "cli/"], &["spec"])
            .iter()
            .any(|v| v.starts_with("cli/mod.rs -> crate::spec")),
        "no reference from src/cli/mod.rs found"
    );
}

#[test]
fn report_does_not_depend_on_engine() {
    let found = violations(&["report/"], &["engine"]);
    assert!(
        found.is_empty(),
        "src/report/ references:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_rules_see_both_crates() {
    // Not vacuous: the engine's and the plan's references are found where
    // the rules look for them (a move that leaves them behind fails here).
    let refs = references();
    for (file, to) in [
        ("engine/", "plan"),
        ("plan/", "spec"),
        ("report/", "record"),
    ] {
        assert!(
            refs.iter()
                .any(|r| r.file.starts_with(file) && starts_with(&r.path, to)),
            "no reference from {file} to crate::{to} found"
        );
    }
}

#[test]
fn the_engine_has_no_terminal() {
    // Checkpoints leave the engine as data, for its `Approver`; what a
    // person sees and answers is the front end's (`app::approver`). The
    // engine crate cannot name the views (`report::diff`, `report::review`)
    // at all; this keeps it from talking to a terminal on its own.
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/wf-engine/src"),
        &mut files,
    );
    files.sort();
    assert!(files.len() > 40, "too few files found: {}", files.len());
    // The engine module itself: no stdin, no terminal test, no printing
    // of any kind. The rest of the crate: no reading of wf's stdin (an MCP
    // server's is a pipe, `ChildStdin`), no terminal test, nothing on
    // stdout. One `eprintln!` stays, where no caller is left to hand an
    // error to: a `--workspace checkout` that cannot be put back while the
    // workspace is dropped (`workspace/checkout.rs`).
    let engine_words = [
        "stdin",
        "IsTerminal",
        "is_terminal",
        "print!",
        "println!",
        "err!",
        "errln!",
        "out!",
        "outln!",
    ];
    let crate_words = ["io::stdin", "IsTerminal", "is_terminal", "out!", "outln!"];
    let mut terminal = Vec::new();
    for file in &files {
        let code = without_tests(&code_only(&std::fs::read_to_string(file).unwrap()));
        let in_engine = file.components().any(|c| c.as_os_str() == "engine");
        let crate_prints = ["print!", "println!"].iter().any(|word| {
            code.match_indices(word)
                .any(|(at, _)| !code[..at].ends_with('e'))
        });
        if !in_engine && crate_prints {
            terminal.push(format!("{}: print", file.display()));
        }
        let words: &[&str] = if in_engine {
            &engine_words
        } else {
            &crate_words
        };
        for word in words {
            if code.contains(word) {
                terminal.push(format!("{}: {word}", file.display()));
            }
        }
    }
    assert!(
        terminal.is_empty(),
        "crates/wf-engine/ talks to a terminal:\n{}",
        terminal.join("\n")
    );
}

#[test]
fn plan_does_not_depend_on_engine() {
    let found = violations(&["plan/"], &["engine"]);
    assert!(found.is_empty(), "plan/ references:\n{}", found.join("\n"));
}

#[test]
fn tools_know_no_provider() {
    let mut found = violations(&["tools/", "mcp/"], &["provider"]);
    // `crate::provider` is the re-export; the crate by its own name
    // (`wf_provider::…`, a `use` or a full path) counts the same.
    let engine = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/wf-engine/src");
    let mut stack = vec![engine.join("tools"), engine.join("mcp")];
    let mut read = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                read += 1;
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains("wf_provider") {
                    found.push(format!("{} names wf_provider", path.display()));
                }
            }
        }
    }
    assert!(read >= 5, "the scan found the tools' and MCP's files");
    assert!(
        found.is_empty(),
        "tools/ and mcp/ reference the providers (the engine connects them):\n{}",
        found.join("\n")
    );
}

/// The crates below `wf` depend only downward (the table in `src/lib.rs`):
/// each crate's manifest names no wf crate but those it may, so a new
/// dependency that points up (wf-spec on wf-provider, wf-engine on `wf`,
/// wf-sandbox on anything of wf) fails here before it can grow a cycle of layers; the
/// compiler then keeps every use inside a crate to what it depends on.
#[test]
fn crates_depend_downward_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let allowed: &[(&str, &[&str])] = &[
        ("wf-sandbox", &[]),
        ("wf-core", &["wf-sandbox"]),
        ("wf-spec", &["wf-core", "wf-sandbox"]),
        ("wf-provider", &["wf-core", "wf-spec"]),
        ("wf-record", &["wf-core"]),
        (
            "wf-engine",
            &[
                "wf-core",
                "wf-provider",
                "wf-record",
                "wf-sandbox",
                "wf-spec",
            ],
        ),
    ];
    let mut found: Vec<String> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut named: Vec<String> = allowed.iter().map(|(c, _)| c.to_string()).collect();
    named.sort();
    assert_eq!(found, named, "a crate under crates/ is not in this table");
    let mut wrong = Vec::new();
    for (krate, may) in allowed {
        let manifest =
            std::fs::read_to_string(root.join("crates").join(krate).join("Cargo.toml")).unwrap();
        for line in manifest.lines() {
            let Some(dep) = line
                .split(['.', ' ', '='])
                .next()
                .filter(|d| d.starts_with("wf-"))
            else {
                continue;
            };
            if dep != *krate && !may.contains(&dep) {
                wrong.push(format!("{krate} depends on {dep}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // And `wf` itself depends on each of them.
    let top = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for (krate, _) in allowed {
        assert!(
            top.contains(&format!("{krate}.workspace = true")),
            "wf does not depend on {krate}"
        );
    }
}

/// The most lines of code a source file (of `src/` or a crate's) may have.
const MAX_CODE_LINES: usize = 800;

/// Where the file's test module starts: the first `#[cfg(test)]` whose
/// item is a `mod` (`pub(…)` or not), in `text` without comments or
/// literals.
fn test_module_start(text: &str) -> Option<usize> {
    const ATTR: &str = "#[cfg(test)]";
    let mut from = 0;
    while let Some(pos) = text[from..].find(ATTR) {
        let at = from + pos;
        from = at + ATTR.len();
        let mut rest = text[from..].trim_start();
        if let Some(after) = rest.strip_prefix("pub") {
            rest = after.trim_start();
            if rest.starts_with('(') {
                rest = rest[rest.find(')').map_or(rest.len(), |p| p + 1)..].trim_start();
            }
        }
        if rest.starts_with("mod ") {
            return Some(at);
        }
    }
    None
}

/// A file's lines of code: non-blank lines once comments (doc comments
/// included) are taken out, before its `#[cfg(test)]` module. Lines inside
/// a string literal count; a `//` inside one is no comment.
fn code_lines(src: &str) -> usize {
    let code = code_only(src);
    let before = test_module_start(&code).map_or(usize::MAX, |at| code[..at].matches('\n').count());
    stripped(src, true)
        .lines()
        .take(before)
        .filter(|l| !l.trim().is_empty())
        .count()
}

#[test]
fn code_lines_count_code_and_strings_not_comments_blanks_or_the_test_module() {
    let src = r##"//! Module docs.

/// Docs.
fn a() {
    // a comment
    let s = "one // not a comment
two";
    /* a block
       comment */
    let r = r#"#[cfg(test)] mod x {"#; let c = '"';
}

#[cfg(test)]
fn only_in_tests() {}

#[cfg(test)]
pub(crate) mod tests {
    fn t() {}
}
"##;
    // `fn a() {`, the two lines of `s`, the `r`/`c` line, `}`, and the
    // test-only function with its attribute: 7.
    assert_eq!(code_lines(src), 7);
    assert_eq!(code_lines("fn a() {}\n#[cfg(test)]\nmod tests {}\n"), 1);
    assert_eq!(code_lines("\n// c\n/// d\n\n"), 0);
}

#[test]
fn no_source_file_is_over_800_lines_of_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        rust_files(&krate.unwrap().path().join("src"), &mut files);
    }
    files.sort();
    assert!(files.len() > 100, "too few files found: {}", files.len());
    let mut over = Vec::new();
    for file in &files {
        let n = code_lines(&std::fs::read_to_string(file).unwrap());
        if n > MAX_CODE_LINES {
            let rel = file.strip_prefix(root).unwrap().display();
            over.push(format!("{rel}: {n} lines of code"));
        }
    }
    assert!(
        over.is_empty(),
        "over {MAX_CODE_LINES} lines of code (split along the file's seams):\n{}",
        over.join("\n")
    );
}
