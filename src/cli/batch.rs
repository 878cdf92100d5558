//! `wf batch`'s output: a line on stderr each time a repository's state
//! changes (or, with `--json`, one JSON object on stdout), then the final
//! table on stdout (with `--json`, one final object) and how to go on.

use crate::app::batch::{Outcome, Request, Row};
use crate::error::{Error, Exit};

/// Runs the batch and prints it; the exit code says whether every run
/// succeeded.
pub fn batch(request: Request, json: bool) -> Result<Exit, Error> {
    let batch = crate::app::batch::prepare(&request)?;
    let rows = batch.rows();
    let done = rows.iter().filter(|r| r.repo.finished()).count();
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "kind": "batch_started",
                "dir": batch.dir,
                "repos": rows.len(),
                "finished_before": done,
            })
        );
    } else {
        errln!(
            "wf batch: {} ({} finished earlier, not run again); record in {}",
            repositories(rows.len()),
            done,
            batch.dir.display()
        );
    }
    let outcome = batch.run(&mut |row| {
        if json {
            outln!("{}", row_json(row, "batch_repo"));
        } else {
            errln!("wf batch: {}", line(row));
        }
    })?;
    if json {
        let repos: Vec<serde_json::Value> =
            outcome.rows.iter().map(|r| row_json(r, "repo")).collect();
        outln!(
            "{}",
            serde_json::json!({
                "kind": "batch_finished",
                "dir": outcome.dir,
                "interrupted": outcome.interrupted,
                "succeeded": outcome.all_succeeded(),
                "spent_usd": outcome.spent_usd,
                "repos": repos,
            })
        );
    } else {
        out!("{}", table(&outcome));
    }
    hints(&outcome);
    Ok(if outcome.interrupted {
        Exit::Interrupted
    } else if outcome.all_succeeded() {
        Exit::Success
    } else {
        Exit::Failed
    })
}

fn row_json(row: &Row, kind: &str) -> serde_json::Value {
    let mut value = serde_json::to_value(&row.repo).expect("a batch record serializes");
    value["kind"] = kind.into();
    value["repo"] = row.key.clone().into();
    value
}

fn cost(row: &Row) -> String {
    row.repo
        .cost_usd
        .map_or_else(|| "-".to_string(), crate::engine::usd)
}

/// One repository's state in a line.
fn line(row: &Row) -> String {
    let r = &row.repo;
    let mut text = format!("{:<13} {}", r.status, r.written);
    if let Some(id) = &r.run_id {
        text.push_str(&format!("  run {id}"));
    }
    if let Some(n) = r.files_changed {
        text.push_str(&format!(
            ", {n} file{} changed",
            if n == 1 { "" } else { "s" }
        ));
        if r.cost_usd.is_some() {
            text.push_str(&format!(", {}", cost(row)));
        }
    }
    if let Some(why) = &r.reason
        && !r.succeeded()
    {
        text.push_str(&format!(" — {why}"));
    }
    text
}

/// The final table: repository, status, run id, files changed, cost.
fn table(outcome: &Outcome) -> String {
    let header = ["REPOSITORY", "STATUS", "RUN", "FILES", "COST"];
    let cells: Vec<[String; 5]> = outcome
        .rows
        .iter()
        .map(|row| {
            [
                row.repo.written.clone(),
                row.repo.status.clone(),
                row.repo.run_id.clone().unwrap_or_else(|| "-".into()),
                row.repo
                    .files_changed
                    .map_or_else(|| "-".into(), |n| n.to_string()),
                cost(row),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let render = |cols: [&str; 5]| {
        let mut line = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            if i == 4 {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  "));
            }
        }
        line.trim_end().to_string() + "\n"
    };
    let mut out = render(header);
    for row in &cells {
        out.push_str(&render(row.each_ref().map(String::as_str)));
    }
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for row in &outcome.rows {
        *counts.entry(row.repo.status.as_str()).or_default() += 1;
    }
    let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    // The total only where the column has figures: no price known for any
    // run is not "$0.00".
    let spent = if outcome.rows.iter().any(|r| r.repo.cost_usd.is_some()) {
        format!(
            "the batch's runs spent {}",
            crate::engine::usd(outcome.spent_usd)
        )
    } else {
        "the cost of its runs is not known (no prices for their model)".to_string()
    };
    out.push_str(&format!(
        "{}: {}; {spent}\n",
        repositories(outcome.rows.len()),
        counts.join(", "),
    ));
    out
}

/// `1 repository`, `3 repositories`.
fn repositories(n: usize) -> String {
    format!("{n} {}", if n == 1 { "repository" } else { "repositories" })
}

/// How to go on: paused runs to decide, and what to run again.
fn hints(outcome: &Outcome) {
    for row in &outcome.rows {
        let r = &row.repo;
        if r.paused()
            && let (Some(path), Some(id)) = (&r.path, &r.run_id)
        {
            errln!(
                "wf batch: {} paused at a checkpoint: cd {path} && wf approve {id} && wf resume {id} (or wf reject {id})",
                r.written
            );
        }
    }
    if outcome.interrupted {
        errln!(
            "wf batch: interrupted; the same command again resumes the batch (finished repositories are not run again)"
        );
    } else if !outcome.all_succeeded() {
        errln!(
            "wf batch: not every run succeeded; `wf show RUN` in a repository gives its timeline, {} each run's log",
            outcome.dir.join("logs").display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::batch::manifest::Repo;

    fn outcome(costs: &[Option<f64>], spent_usd: f64) -> Outcome {
        Outcome {
            rows: costs
                .iter()
                .enumerate()
                .map(|(i, c)| Row {
                    key: format!("/r{i}"),
                    repo: Repo {
                        written: format!("r{i}"),
                        status: "succeeded".into(),
                        run_id: Some(format!("run{i}")),
                        files_changed: Some(1),
                        cost_usd: *c,
                        ..Repo::default()
                    },
                })
                .collect(),
            interrupted: false,
            spent_usd,
            dir: "/b".into(),
        }
    }

    #[test]
    fn one_repository_is_singular_and_an_unknown_cost_is_not_zero() {
        let t = table(&outcome(&[None], 0.0));
        assert!(t.contains("\n1 repository: 1 succeeded; "), "{t}");
        assert!(!t.contains("$0.00"), "{t}");
        assert!(t.contains("the cost of its runs is not known"), "{t}");
        assert!(!line(&outcome(&[None], 0.0).rows[0]).contains(", -"));
        let t = table(&outcome(&[Some(0.5), Some(0.25)], 0.75));
        assert!(
            t.contains("\n2 repositories: 2 succeeded; the batch's runs spent $0.75"),
            "{t}"
        );
    }
}
