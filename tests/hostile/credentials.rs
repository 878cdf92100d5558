//! Route 8: credentials inside read roots. The toolchain homes are
//! readable (cargo, rustup, pyenv…), and `~/.cargo/credentials.toml`
//! and token lines of `~/.cargo/config.toml` sit inside one; a check cats
//! them, and the token would reach the model's next request, the trace
//! and the report. Proves: credential files of the toolchain homes are
//! masked in the sandbox's view (a credentials file is empty, a
//! configuration keeps every line but its credentials).

use super::confined::{check_output, repo_with_check_running};

#[test]
fn a_check_cannot_read_cargo_credentials() {
    let home = tempfile::tempdir().unwrap();
    let cargo = home.path().join(".cargo");
    std::fs::create_dir_all(&cargo).unwrap();
    std::fs::write(
        cargo.join("credentials.toml"),
        "[registry]\ntoken = \"cred-file-canary-7d1\"\n",
    )
    .unwrap();
    std::fs::write(
        cargo.join("config.toml"),
        "[build]\njobs = 2\n[registries.corp]\nindex = \"sparse+https://example.invalid/\"\ntoken = \"config-token-canary-9f2\"\n",
    )
    .unwrap();
    let payload = format!(
        "cat '{0}/credentials.toml'; echo ---; cat '{0}/config.toml'; echo end\n",
        cargo.display()
    );
    let repo = repo_with_check_running(&payload, "sh attack.py", "");
    let cargo_home = cargo.display().to_string();
    let ran = repo.wf_env(
        &["run", "task.yaml", "--dry-run"],
        &[("CARGO_HOME", cargo_home.as_str())],
    );
    ran.code(0);
    let output = check_output(&repo);
    assert!(output.contains("end"), "{output}");
    if crate::full_level() {
        assert!(
            output.contains("jobs = 2"),
            "the configuration stays: {output}"
        );
        assert!(output.contains("[registries.corp]"), "{output}");
    } else {
        // Without namespaces a file cannot be shown with other content:
        // a configuration holding a credential is not readable at all.
        assert!(
            output.contains("config.toml: Permission denied"),
            "{output}"
        );
    }
    for canary in ["cred-file-canary-7d1", "config-token-canary-9f2"] {
        assert!(!output.contains(canary), "{output}");
    }
}
