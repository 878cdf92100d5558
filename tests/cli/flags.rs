//! A flag's value alone is checked by the command line (clap's parsers in
//! `src/cli/args.rs`): a bad one is a usage error naming the flag, before
//! wf looks for the task file or the repos file, so none is needed here.

use super::Repo;

#[test]
fn a_bad_flag_value_is_a_usage_error_naming_the_flag_before_any_work() {
    let repo = Repo::new();
    let emit_github = ["emit", "github", "missing.yaml", "--repos", "missing.txt"];
    let emit_k8s = [
        "emit",
        "k8s",
        "missing.yaml",
        "--repos",
        "missing.txt",
        "--image",
        "wf:1",
    ];
    let batch = ["batch", "missing.yaml", "--repos", "missing.txt"];
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["run", "missing.yaml", "--max-cost-usd=-1"],
            "--max-cost-usd",
            "is not a number of dollars, 0 or more",
        ),
        (
            vec!["run", "missing.yaml", "--max-cost-usd", "NaN"],
            "--max-cost-usd",
            "is not a number of dollars",
        ),
        (
            [&batch[..], &["--jobs", "0"]].concat(),
            "--jobs",
            "is not a whole number of at least 1",
        ),
        (
            [&batch[..], &["--max-requests", "0"]].concat(),
            "--max-requests",
            "at least 1",
        ),
        (
            [&batch[..], &["--max-cost-usd", "inf"]].concat(),
            "--max-cost-usd",
            "is not a number of dollars",
        ),
        (
            [&emit_github[..], &["--max-parallel", "0"]].concat(),
            "--max-parallel",
            "",
        ),
        (
            [&emit_github[..], &["--approval-environment", "  "]].concat(),
            "--approval-environment",
            "it is empty",
        ),
        (
            [&emit_github[..], &["--max-cost-usd", "0"]].concat(),
            "--max-cost-usd",
            "is not a positive number of dollars",
        ),
        (
            [&emit_k8s[..], &["--parallelism", "0"]].concat(),
            "--parallelism",
            "",
        ),
        (
            [&emit_k8s[..], &["--secret", "Bad_Name"]].concat(),
            "--secret",
            "is not a Kubernetes name",
        ),
        (
            [&emit_k8s[..], &["--runs-claim", "x."]].concat(),
            "--runs-claim",
            "is not a Kubernetes name",
        ),
        (
            [&emit_k8s[..], &["--namespace", "a\nb"]].concat(),
            "--namespace",
            "is not a Kubernetes name",
        ),
        (
            vec![
                "emit",
                "k8s",
                "missing.yaml",
                "--repos",
                "missing.txt",
                "--image",
                "wf 1",
            ],
            "--image",
            "is not an image reference",
        ),
    ];
    for (args, flag, why) in cases {
        let r = repo.wf(&args);
        r.code(2);
        assert!(
            r.stderr.contains(&format!("for '{flag}")) && r.stderr.contains(why),
            "{args:?}: {}",
            r.stderr
        );
        // The task file was never looked for.
        assert!(!r.stderr.contains("missing.yaml"), "{args:?}: {}", r.stderr);
    }
    assert!(!repo.join(".wf").exists(), "something ran");
}
