//! The integration tests, as modules of one test binary (it links once).

mod cli;
mod engine;
mod fuzz;
mod hostile;
mod providers;
mod sandbox;

/// The pids of the host's processes whose command line contains `marker`
/// (tests that prove nothing a run started survives it).
pub fn processes_with(marker: &str) -> Vec<i32> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.filter_map(Result::ok) {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        // A zombie has an empty command line.
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
            && String::from_utf8_lossy(&cmdline).contains(marker)
        {
            found.push(pid);
        }
    }
    found
}

/// The level wf confines commands at on this machine (CI runs the sandbox
/// and hostile tests twice: natively, and under `tests/support/no_userns.py`,
/// which leaves only the level without namespaces).
pub fn sandbox_level() -> wf::sandbox::Level {
    wf::sandbox::level().expect("this machine can confine commands")
}

/// Whether the full level (namespaces and the minimal view) is in force;
/// the properties only it gives are asserted only then, and the test says
/// which weaker property it checked instead.
pub fn full_level() -> bool {
    sandbox_level() == wf::sandbox::Level::Full
}
