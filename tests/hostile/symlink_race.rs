//! Route: a process running beside the model (an MCP server, a command the
//! model started) swaps a workspace directory for a symlink to a directory
//! outside, with `renameat2(RENAME_EXCHANGE)`, while wf's own file tools
//! run. Between the permission check and the open the path may change; the
//! tools must never write outside nor return what is outside.
//!
//! The real tool code runs ([`wf::tools::ToolLayer::call`], what the engine
//! calls for every model tool call) on a workspace in a temp dir; a thread
//! exchanges `ws/src` (a real directory) and `ws/link` (a symlink to the
//! outside directory) as fast as it can.

use serde_json::json;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wf::spec::{Permissions, ToolName};
use wf::tools::ToolLayer;

const SENTINEL: &str = "OUTSIDE-SENTINEL-7c1f";

fn exchange(a: &CString, b: &CString) -> bool {
    // SAFETY: two valid NUL-terminated paths; renameat2 reads them only.
    unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        ) == 0
    }
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

/// Every file under `dir`, with its contents (not following links).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().map(Result::unwrap) {
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else {
                let body = std::fs::read(e.path()).unwrap_or_default();
                out.push((e.path().display().to_string(), body));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn swapping_a_directory_for_a_symlink_never_lets_the_file_tools_out() {
    let ws = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = ws.path();
    std::fs::create_dir_all(root.join("src/sub")).unwrap();
    for (rel, text) in [
        ("src/x.txt", "inside x\n"),
        ("src/e.txt", "inside e: alpha\n"),
        ("src/sub/y.txt", "inside y\n"),
    ] {
        std::fs::write(root.join(rel), text).unwrap();
    }
    // The outside directory mirrors the workspace's names: whatever the
    // tools reach there through the link is found under the same path.
    std::fs::create_dir_all(outside.path().join("sub")).unwrap();
    for rel in ["x.txt", "e.txt", "sub/y.txt"] {
        std::fs::write(
            outside.path().join(rel),
            format!("{SENTINEL} alpha {rel}\n"),
        )
        .unwrap();
    }
    // A name only the outside has: a listing that shows it listed outside.
    std::fs::write(outside.path().join("outside-only.txt"), SENTINEL).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
    let before = snapshot(outside.path());

    let perms = Permissions {
        read: vec!["src/**".into()],
        write: vec!["src/**".into()],
        protect: vec![],
        shell: None,
    };
    let tools = [
        ToolName::ReadFile,
        ToolName::ListFiles,
        ToolName::Search,
        ToolName::EditFile,
        ToolName::WriteFile,
    ];
    let mut layer = ToolLayer::new(root, &tools, &perms, &[], vec![], None).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (stop, swaps) = (stop.clone(), swaps.clone());
        let (a, b) = (cstr(&root.join("src")), cstr(&root.join("link")));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if exchange(&a, &b) {
                    swaps.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };

    let mut leaks: Vec<String> = Vec::new();
    let mut calls = 0u64;
    let mut succeeded = 0u64;
    let mut inside_reads = 0u64;
    let started = Instant::now();
    let mut i = 0u64;
    while started.elapsed() < Duration::from_secs(4) {
        i += 1;
        let name = format!("src/w{i}.txt");
        let nested = format!("src/sub/n{i}.txt");
        let batch = [
            ("read_file", json!({"path": "src/x.txt"})),
            ("read_file", json!({"path": "src/sub/y.txt"})),
            ("write_file", json!({"path": name, "content": "from wf\n"})),
            (
                "write_file",
                json!({"path": nested, "content": "from wf\n"}),
            ),
            (
                "edit_file",
                json!({"path": "src/e.txt", "old": "alpha", "new": "alpha"}),
            ),
            ("list_files", json!({"path": "src"})),
            ("search", json!({"pattern": "alpha|inside", "path": "src"})),
            ("search", json!({"pattern": "SENTINEL"})),
        ];
        for (tool, input) in batch {
            let out = layer.call(tool, &input, Duration::from_secs(5));
            calls += 1;
            succeeded += u64::from(!out.is_error);
            inside_reads += u64::from(tool == "read_file" && out.content.starts_with("inside"));
            if out.content.contains(SENTINEL) || out.content.contains("outside-only") {
                leaks.push(format!("{tool} {input} returned: {}", out.content));
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();

    let after = snapshot(outside.path());
    let written: Vec<String> = after
        .iter()
        .filter(|f| !before.contains(f))
        .map(|(p, _)| p.clone())
        .collect();
    eprintln!(
        "{calls} tool calls ({succeeded} succeeded), {} swaps: {} files written or changed outside, {} outside contents returned",
        swaps.load(Ordering::Relaxed),
        written.len(),
        leaks.len()
    );
    assert!(
        swaps.load(Ordering::Relaxed) > 1000,
        "the swapper barely ran"
    );
    assert!(
        succeeded > 100,
        "the tools barely ran: {succeeded} of {calls}"
    );
    assert!(inside_reads > 10, "reads barely succeeded: {inside_reads}");
    assert!(
        written.is_empty(),
        "wf's tools wrote {} files outside the workspace: {:?}",
        written.len(),
        &written[..written.len().min(10)]
    );
    assert!(
        leaks.is_empty(),
        "wf's tools returned outside content {} times, first: {}",
        leaks.len(),
        leaks[0]
    );
}
