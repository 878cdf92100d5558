//! Route 17: what the sandbox can see of the machine. A check reads
//! `/proc/1/cmdline` (the sandbox's init: it once held the policy, with
//! the workspace and read roots), `/proc/cmdline`, `/proc/keys` and lists
//! `/sys/class/net`, `/`, `/tmp` and `/run`. Proves: the view is minimal —
//! the init's command line holds no policy, the kernel's command line and
//! key listings are masked, the host's interfaces and temp dirs are absent.

use super::confined::{check_output, repo_with_check};

const PAYLOAD: &str = r#"import os
def show(label, f):
    try:
        print(label, repr(f()))
    except OSError as e:
        print(label, "ERR", e.errno)
show("init", lambda: open("/proc/1/cmdline", "rb").read())
show("kcmdline", lambda: len(open("/proc/cmdline", "rb").read()))
show("keys", lambda: len(open("/proc/keys", "rb").read()))
show("net", lambda: os.listdir("/sys/class/net"))
show("root", lambda: sorted(os.listdir("/")))
show("tmp", lambda: os.listdir("/tmp"))
show("run", lambda: os.listdir("/run"))
show("dev", lambda: sorted(os.listdir("/dev")))
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    try:
        if b"task.yaml" in open(f"/proc/{pid}/cmdline", "rb").read():
            show("wf-environ", lambda: len(open(f"/proc/{pid}/environ", "rb").read()))
    except OSError:
        pass
"#;

#[test]
fn the_sandbox_sees_a_minimal_machine() {
    let repo = repo_with_check(PAYLOAD, "");
    // Something of the host's in /tmp that must not show.
    let planted = std::env::temp_dir().join(format!("wf-hostile-{}", std::process::id()));
    std::fs::write(&planted, "x").unwrap();
    repo.wf(&["run", "task.yaml", "--dry-run"]).code(0);
    let _ = std::fs::remove_file(&planted);
    let output = check_output(&repo);
    let line = |label: &str| {
        output
            .lines()
            .find(|l| l.starts_with(&format!("{label} ")))
            .unwrap_or_else(|| panic!("no {label} line in {output}"))
            .to_string()
    };
    // Wherever wf is visible, its environment (API keys) is not readable.
    for l in output.lines().filter(|l| l.starts_with("wf-environ")) {
        assert!(l.starts_with("wf-environ ERR"), "{output}");
    }
    if !crate::full_level() {
        // The rest is the full level's minimal view: without namespaces
        // the host's /proc and /sys are visible (`wf doctor` says so).
        assert!(
            output.contains("wf-environ ERR"),
            "wf is listed at this level: {output}"
        );
        return;
    }
    assert!(!output.contains("wf-environ"), "{output}");
    let init = line("init");
    assert!(!init.contains("policy"), "{init}");
    assert!(!init.contains("write"), "{init}");
    assert!(!init.contains(&*repo.path().to_string_lossy()), "{init}");
    assert_eq!(line("kcmdline"), "kcmdline 0");
    assert_eq!(line("keys"), "keys 0");
    assert!(line("net").starts_with("net ERR"), "{output}");
    // Only the mount points of the workspace and the run's temp dir (which
    // the tests make under the host's /tmp); nothing else of the host's.
    let planted_name = planted.file_name().unwrap().to_string_lossy().into_owned();
    assert!(!line("tmp").contains(&planted_name), "{output}");
    assert_eq!(line("run"), "run []");
    let dev = line("dev");
    assert!(!dev.contains("'tty'"), "{dev}");
    assert!(dev.contains("'null'"), "{dev}");
    let root = line("root");
    assert!(
        !root.contains("'home'") || !root.contains("'srv'"),
        "{root}"
    );
    assert!(
        !output.contains(&*repo.path().to_string_lossy()),
        "{output}"
    );
}
