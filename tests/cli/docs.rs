//! The documentation tells the truth about the format:
//!
//! - `docs/format.md` documents every key of the task-file format: each
//!   property name in the committed JSON Schema must appear there as a code
//!   span (`` `max_repairs` ``). Adding a key to the types without
//!   documenting it fails here.
//! - Every YAML example in `README.md` and `docs/*.md` is checked by the
//!   real `wf validate` (or the loader of what it is), so a user copying one
//!   never meets an error. The convention (documented in `docs/format.md`,
//!   "Examples in this documentation"): a fenced block whose info string is
//!   `yaml` is a whole task file; a part of one is marked `yaml
//!   wf-fragment` and is validated inside a minimal task file; a `wf.lock`
//!   is `yaml wf-lock`, a script of model turns `yaml wf-turns`. Any other
//!   YAML block fails here until it is marked.
//! - No committed file outside the code names a path of the machine it was
//!   written on.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Follows a local `$ref` (`#/$defs/Name`) to its schema.
fn resolve<'a>(root: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("only local $refs are expected, found `{reference}`"));
    root.pointer(pointer)
        .unwrap_or_else(|| panic!("$ref `{reference}` points nowhere"))
}

/// Every property name reachable from `node`, with the path it was found at.
fn collect(
    root: &Value,
    node: &Value,
    at: &str,
    seen_refs: &mut BTreeSet<String>,
    out: &mut Vec<(String, String)>,
) {
    let Value::Object(map) = node else {
        return;
    };
    if let Some(Value::String(reference)) = map.get("$ref")
        && seen_refs.insert(reference.clone())
    {
        collect(root, resolve(root, reference), at, seen_refs, out);
    }
    if let Some(Value::Object(props)) = map.get("properties") {
        for (name, schema) in props {
            let path = if at.is_empty() {
                name.clone()
            } else {
                format!("{at}.{name}")
            };
            out.push((name.clone(), path.clone()));
            collect(root, schema, &path, seen_refs, out);
        }
    }
    if let Some(items) = map.get("items") {
        collect(root, items, &format!("{at}[]"), seen_refs, out);
    }
    if let Some(extra) = map.get("additionalProperties") {
        collect(root, extra, &format!("{at}.*"), seen_refs, out);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(alternatives)) = map.get(key) {
            for alt in alternatives {
                collect(root, alt, at, seen_refs, out);
            }
        }
    }
}

fn schema_keys() -> Vec<(String, String)> {
    let schema: Value =
        serde_json::from_str(&repo_file("schemas/workflow.schema.json")).expect("schema is JSON");
    let mut out = Vec::new();
    collect(&schema, &schema, "", &mut BTreeSet::new(), &mut out);
    out
}

#[test]
fn the_walk_reaches_nested_definitions() {
    let paths: Vec<String> = schema_keys().into_iter().map(|(_, p)| p).collect();
    for expected in [
        "wf",
        "inputs.*.type",
        "model.price.cache_read",
        "permissions.shell.allow",
        "checks[].timeout",
        "limits.max_repairs",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "the schema walk did not reach `{expected}`; found: {paths:?}"
        );
    }
}

#[test]
fn every_schema_key_is_documented_in_format_md() {
    let doc = repo_file("docs/format.md");
    let mut missing: Vec<String> = Vec::new();
    for (name, path) in schema_keys() {
        if !doc.contains(&format!("`{name}`")) {
            missing.push(format!("`{name}` (at {path})"));
        }
    }
    missing.dedup();
    assert!(
        missing.is_empty(),
        "docs/format.md does not mention these task-file keys as code spans:\n  {}",
        missing.join("\n  ")
    );
}

/// One fenced block of a Markdown file.
#[derive(Debug)]
struct Fence {
    /// `FILE:LINE` of its first content line.
    at: String,
    /// Its info string (`yaml wf-fragment`).
    info: String,
    /// Its content, dedented to the fence's own indentation.
    body: String,
}

/// The fenced blocks of `text` (``` fences, possibly indented in a list).
fn fences(file: &str, text: &str) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String, usize, Vec<String>)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some((indent, info.trim().to_string(), i + 2, Vec::new()));
                }
            }
            Some((fence_indent, info, first, lines)) => {
                if trimmed.starts_with("```") && trimmed.trim() == "```" {
                    out.push(Fence {
                        at: format!("{file}:{first}"),
                        info: info.clone(),
                        body: lines.join("\n") + "\n",
                    });
                    open = None;
                } else {
                    let cut = line.len().min(*fence_indent);
                    let cut = if line[..cut].trim().is_empty() {
                        cut
                    } else {
                        0
                    };
                    lines.push(line[cut..].to_string());
                }
            }
        }
    }
    assert!(open.is_none(), "{file}: a fenced block is never closed");
    out
}

/// README.md and docs/*.md, sorted.
fn doc_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The minimal task file a `wf-fragment` is validated in: each of its
/// lines is one top-level key, left out when the fragment sets that key
/// (and `prompt` when the fragment has `steps` or `uses`). It declares the
/// input `source` of the running example, which fragments template.
const FRAGMENT_BASE: &[(&str, &str)] = &[
    ("wf", "wf: 1"),
    ("name", "name: doc-example"),
    (
        "model",
        "model: { provider: anthropic, name: claude-sonnet-4-5 }",
    ),
    ("prompt", "prompt: Do the task."),
    // The input of the page's running example (`{{ inputs.source }}`).
    (
        "inputs",
        "inputs: { source: { type: path, default: config/app.ini } }",
    ),
];

/// The top-level keys a YAML text sets.
fn top_level_keys(yaml: &str) -> BTreeSet<String> {
    yaml.lines()
        .filter(|l| !l.starts_with([' ', '#', '-']) && !l.is_empty())
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.trim().to_string()))
        .collect()
}

/// `fragment` completed into a task file by [`FRAGMENT_BASE`].
fn completed(fragment: &str) -> String {
    let keys = top_level_keys(fragment);
    let multi = keys.contains("steps") || keys.contains("uses");
    let mut text = String::new();
    for (key, line) in FRAGMENT_BASE {
        if keys.contains(*key) || (*key == "prompt" && multi) {
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    text + fragment
}

/// What one example is, by its info string.
enum Kind {
    TaskFile,
    Fragment,
    Lock,
    Turns,
}

fn kind(fence: &Fence) -> Option<Result<Kind, String>> {
    let mut words = fence.info.split_whitespace();
    let lang = words.next().unwrap_or("");
    let marker = words.next();
    let yaml = matches!(lang, "yaml" | "yml");
    // A block in another language, or none, is an example only when it
    // is shaped like a task file (then it must say it is YAML).
    if !yaml {
        let task_like = fence.body.lines().any(|l| l.starts_with("wf: "));
        return (task_like && lang.is_empty()).then(|| {
            Err(format!(
                "{}: a task file in a fence without `yaml`: mark it ```yaml",
                fence.at
            ))
        });
    }
    Some(match marker {
        None if top_level_keys(&fence.body).contains("wf") => Ok(Kind::TaskFile),
        None => Err(format!(
            "{}: a YAML example that is not a whole task file (no `wf:` key) must be marked: \
             ```yaml wf-fragment (a part of a task file), ```yaml wf-lock or ```yaml wf-turns",
            fence.at
        )),
        Some("wf-fragment") => Ok(Kind::Fragment),
        Some("wf-lock") => Ok(Kind::Lock),
        Some("wf-turns") => Ok(Kind::Turns),
        Some(other) => Err(format!("{}: unknown example marker `{other}`", fence.at)),
    })
}

#[test]
fn every_yaml_example_in_the_docs_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let mut checked = [0usize; 4];
    for file in doc_files() {
        let name = file
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .display()
            .to_string()
            .trim_start_matches('/')
            .to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, fence) in fences(&name, &text).into_iter().enumerate() {
            let kind = match kind(&fence) {
                None => continue,
                Some(Err(why)) => {
                    problems.push(why);
                    continue;
                }
                Some(Ok(kind)) => kind,
            };
            let path = dir
                .path()
                .join(format!("{}-{i}.yaml", name.replace('/', "_")));
            let result = match kind {
                Kind::TaskFile | Kind::Fragment => {
                    let (body, n) = match kind {
                        Kind::Fragment => (completed(&fence.body), 1),
                        _ => (fence.body.clone(), 0),
                    };
                    checked[n] += 1;
                    std::fs::write(&path, &body).unwrap();
                    let out = std::process::Command::new(super::wf_bin())
                        .arg("validate")
                        .arg(&path)
                        .output()
                        .unwrap();
                    if out.status.success() {
                        Ok(())
                    } else {
                        Err(format!(
                            "`wf validate` fails (exit {:?}):\n{}\nthe file validated:\n{body}",
                            out.status.code(),
                            String::from_utf8_lossy(&out.stderr)
                        ))
                    }
                }
                Kind::Lock => {
                    checked[2] += 1;
                    std::fs::write(&path, &fence.body).unwrap();
                    wf::recipes::lock::Lock::read(&path)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
                Kind::Turns => {
                    checked[3] += 1;
                    std::fs::write(&path, &fence.body).unwrap();
                    wf::provider::script::ScriptProvider::load(&path).map(|_| ())
                }
            };
            if let Err(why) = result {
                problems.push(format!("{}: {why}", fence.at));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "documentation examples that fail:\n\n{}",
        problems.join("\n\n")
    );
    // The walk found them: whole task files, fragments, a lock, a script.
    assert!(
        checked[0] >= 3 && checked[1] >= 15 && checked[2] >= 1 && checked[3] >= 1,
        "{checked:?}"
    );
}

#[test]
fn an_unmarked_partial_example_and_a_bad_fragment_are_caught() {
    let doc = "text\n\n```yaml\ncontext: { include: [a] }\n```\n\n```yaml wf-fragment\nprice: 1\n```\n\n```\nwf: 1\n```\n";
    let found = fences("x.md", doc);
    assert_eq!(found.len(), 3);
    assert_eq!(found[0].at, "x.md:4");
    assert!(matches!(kind(&found[0]), Some(Err(why)) if why.contains("must be marked")));
    assert!(matches!(kind(&found[1]), Some(Ok(Kind::Fragment))));
    assert!(matches!(kind(&found[2]), Some(Err(why)) if why.contains("without `yaml`")));
    // The fragment is validated inside the base, and fails there.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.yaml");
    let text = completed(&found[1].body);
    assert!(text.starts_with("wf: 1\nname: doc-example\n"), "{text}");
    std::fs::write(&path, text).unwrap();
    let out = std::process::Command::new(super::wf_bin())
        .arg("validate")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A fragment with steps gets no base prompt.
    assert!(!completed("steps:\n  - id: a\n    run: true\n").contains("prompt:"));
}

#[test]
fn no_committed_file_names_a_path_of_another_machine() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut found = Vec::new();
    for rel in out.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let rel = String::from_utf8_lossy(rel).into_owned();
        // The code may name paths inside the sandbox or a container.
        if rel.starts_with("src/") || rel.ends_with(".rs") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(root.join(&rel)) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if ["/work/", "/home/", "/Users/", "C:\\Users\\"]
                .iter()
                .any(|p| line.contains(p))
            {
                found.push(format!("{rel}:{}: {line}", n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "name the source by what it is, not by a path of the machine it was on:\n{}",
        found.join("\n")
    );
}

/// A heading's anchor as GitHub makes it: lowercase, punctuation but `-`
/// and `_` dropped, spaces to dashes.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every relative link of README.md and docs/*.md leads to a file that
/// exists and, with `#anchor`, to a heading of it (the reference moved
/// from the README to docs/ keeps its links working), and the README
/// stays a newcomer's read: Try it, a first task, where to go next.
#[test]
fn every_relative_link_resolves_and_the_readme_stays_short() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut broken = Vec::new();
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let link = &rest[..end];
            if link.starts_with("http") || link.contains(char::is_whitespace) {
                continue;
            }
            let (path, frag) = link.split_once('#').unwrap_or((link, ""));
            let target = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            let shown = file.strip_prefix(root).unwrap().display().to_string();
            let Ok(body) = std::fs::read_to_string(&target) else {
                broken.push(format!("{shown}: {link}: no such file"));
                continue;
            };
            let headings: Vec<String> = body
                .lines()
                .filter_map(|l| {
                    l.trim_start_matches('#')
                        .strip_prefix(' ')
                        .filter(|_| l.starts_with('#'))
                })
                .map(anchor)
                .collect();
            if !frag.is_empty() && !headings.iter().any(|h| h == frag) {
                broken.push(format!("{shown}: {link}: no such heading"));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.lines().count() <= 300,
        "README.md has {} lines: the reference belongs in docs/",
        readme.lines().count()
    );
    for heading in [
        "## Try it",
        "## A first task of your own",
        "## Where to go next",
    ] {
        assert!(readme.contains(heading), "README.md lacks {heading}");
    }
}
