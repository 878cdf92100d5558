//! `wf completions SHELL`: clap's generated script, plus task names.
//!
//! clap_complete writes a static script from the clap definitions; it
//! cannot know the task files of the repository a person stands in. So the
//! script is extended, for each shell, with a function that asks `wf list
//! --names` when the word being completed is a task-file argument (the
//! first positional of `run`, `plan`, `batch`, `emit github|k8s`; any
//! positional of `validate`, `lock`, `test`) and offers those names along
//! with files. Whether a word is such an argument is decided from the clap
//! definitions too: the options of each subcommand that take a value are
//! written into the script, so `wf run --model <TAB>` is not offered task
//! names. The dynamic completion of clap_complete (`unstable-dynamic`) would
//! do the same from inside wf, but is unstable and pulls in more crates.
//!
//! `wf list --names` runs where the shell is, so names come from that
//! repository's task folders; outside a repository it prints nothing and
//! only files are offered.

use clap_complete::Shell;

/// The arguments that take a task file: a subcommand's path and its
/// argument's id. A test checks each exists, so a rename cannot drop one.
pub const TASK_ARGS: &[(&[&str], &str)] = &[
    (&["run"], "spec"),
    (&["plan"], "spec"),
    (&["batch"], "task"),
    (&["emit", "github"], "task"),
    (&["emit", "k8s"], "task"),
    (&["validate"], "paths"),
    (&["lock"], "paths"),
    (&["test"], "paths"),
];

/// Where a task-file argument sits, as the scripts need it.
struct TaskArg {
    /// The subcommand path, space-separated (`emit github`).
    path: String,
    /// The options of the subcommand that take a value (`-i`, `--input`).
    valued: Vec<String>,
    /// Whether every positional is a task file (else only the first).
    every: bool,
}

fn task_args(cli: &clap::Command) -> Vec<TaskArg> {
    TASK_ARGS
        .iter()
        .map(|(path, id)| {
            let mut cmd = cli;
            for name in *path {
                cmd = cmd
                    .find_subcommand(name)
                    .unwrap_or_else(|| panic!("no subcommand `{name}` for completions"));
            }
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_id() == *id && a.is_positional())
                .unwrap_or_else(|| panic!("`wf {}` has no positional `{id}`", path.join(" ")));
            let mut valued = Vec::new();
            for a in cmd.get_arguments() {
                if a.is_positional() || !a.get_action().takes_values() {
                    continue;
                }
                valued.extend(a.get_short().map(|s| format!("-{s}")));
                valued.extend(a.get_long().map(|l| format!("--{l}")));
            }
            valued.sort();
            TaskArg {
                path: path.join(" "),
                valued,
                every: matches!(arg.get_action(), clap::ArgAction::Append),
            }
        })
        .collect()
}

/// The completion script for `shell`.
pub fn script(shell: Shell, cli: &mut clap::Command) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, cli, "wf", &mut out);
    let generated = String::from_utf8_lossy(&out).into_owned();
    let args = task_args(cli);
    match shell {
        Shell::Bash => format!("{generated}\n{}", bash(&args)),
        Shell::Zsh => zsh(&generated),
        Shell::Fish => format!("{generated}\n{}", fish(&args)),
        _ => generated,
    }
}

/// A bash function deciding whether the current word is a task-file
/// argument (then completing names and files), falling back to clap's
/// `_wf`, and registered in its place.
fn bash(args: &[TaskArg]) -> String {
    let mut cases = String::new();
    for a in args {
        cases.push_str(&format!(
            "        \"{}\") valued=\" {} \"; every={} ;;\n",
            a.path,
            a.valued.join(" "),
            u8::from(a.every)
        ));
    }
    format!(
        r#"# Task names from `wf list --names` for the task-file argument of run,
# plan, batch, emit, validate, lock and test.
_wf_task_names() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}"
    [[ "$cur" == -* ]] && return 1
    local path="" word i=1 positionals=0 valued="" every=0 want=1
    # The subcommand path: `run`, or `emit github`.
    while [[ $i -lt $COMP_CWORD && $want -gt 0 ]]; do
        word="${{COMP_WORDS[i]}}"
        i=$((i + 1))
        [[ "$word" == -* ]] && continue
        path="${{path:+$path }}$word"
        want=$((want - 1))
        [[ "$path" == emit ]] && want=1
    done
    [[ $want -eq 0 ]] || return 1
    case "$path" in
{cases}        *) return 1 ;;
    esac
    while [[ $i -lt $COMP_CWORD ]]; do
        word="${{COMP_WORDS[i]}}"
        i=$((i + 1))
        if [[ "$valued" == *" $word "* ]]; then
            # Its value: `x`, `=x` (bash splits `--model=x` at `=`), or
            # `KEY=VALUE` (split in three).
            [[ "${{COMP_WORDS[i]}}" == "=" ]] && i=$((i + 1))
            i=$((i + 1))
            while [[ $i -lt $COMP_CWORD && "${{COMP_WORDS[i]}}" == "=" ]]; do
                i=$((i + 2))
            done
        elif [[ "$word" != -* && "$word" != "=" ]]; then
            positionals=$((positionals + 1))
        fi
    done
    # The current word is part of an option's value.
    [[ $i -gt $COMP_CWORD ]] && return 1
    [[ $every -eq 1 || $positionals -eq 0 ]] || return 1
    local IFS=$'\n'
    COMPREPLY=( $(compgen -W "$(wf list --names 2>/dev/null)" -- "$cur") $(compgen -f -- "$cur") )
    compopt -o filenames 2>/dev/null
    return 0
}}

_wf_with_task_names() {{
    _wf_task_names || _wf "$@"
}}

if [[ "${{BASH_VERSINFO[0]}}" -eq 4 && "${{BASH_VERSINFO[1]}}" -ge 4 || "${{BASH_VERSINFO[0]}}" -gt 4 ]]; then
    complete -F _wf_with_task_names -o nosort -o bashdefault -o default wf
else
    complete -F _wf_with_task_names -o bashdefault -o default wf
fi
"#
    )
}

/// clap's zsh script with the task-file arguments completed by
/// `_wf_task_names` (names and files) instead of `_files`.
fn zsh(generated: &str) -> String {
    let helper = r#"(( $+functions[_wf_task_names] )) ||
_wf_task_names() {
    local -a names
    names=(${(f)"$(wf list --names 2>/dev/null)"})
    _alternative 'tasks:task name:compadd -a names' 'files:file:_files'
}

"#;
    let mut out = String::new();
    for line in generated.split_inclusive('\n') {
        let task_arg = [":spec -- ", ":task -- ", "*::paths -- "]
            .iter()
            .any(|p| line.starts_with(&format!("'{p}")));
        match line.strip_suffix(":_files' \\\n") {
            Some(head) if task_arg => out.push_str(&format!("{head}:_wf_task_names' \\\n")),
            _ => {
                if line.starts_with("if [ \"$funcstack[1]\" = \"_wf\" ]") {
                    out.push_str(helper);
                }
                out.push_str(line);
            }
        }
    }
    out
}

/// Fish rules offering task names where a task-file argument goes.
fn fish(args: &[TaskArg]) -> String {
    let mut cases = String::new();
    for a in args {
        cases.push_str(&format!(
            "        case '{}'\n            set valued {}\n            set every {}\n",
            a.path,
            a.valued.join(" "),
            u8::from(a.every)
        ));
    }
    format!(
        r#"# Task names from `wf list --names` for the task-file argument of run,
# plan, batch, emit, validate, lock and test.
function __fish_wf_task_arg
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l path
    while set -q tokens[1]; and test (count $path) -lt 2
        set -l word $tokens[1]
        if not string match -q -- '-*' $word
            set -a path $word
            if test "$path[1]" != emit
                set -e tokens[1]
                break
            end
        end
        set -e tokens[1]
    end
    set -l valued
    set -l every 0
    switch "$path"
{cases}        case '*'
            return 1
    end
    set -l positionals 0
    set -l skip 0
    for word in $tokens
        if test $skip -eq 1
            set skip 0
        else if contains -- $word $valued
            set skip 1
        else if not string match -q -- '-*' $word
            set positionals (math $positionals + 1)
        end
    end
    test $skip -eq 0; or return 1
    test $every -eq 1; or test $positionals -eq 0
end

complete -c wf -n "__fish_wf_task_arg" -f -a "(wf list --names 2>/dev/null)" -d 'task file'
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_task_argument_is_found_with_its_valued_options() {
        let cli = crate::cli::args::Cli::command();
        let args = task_args(&cli);
        let run = args.iter().find(|a| a.path == "run").unwrap();
        assert!(!run.every);
        for opt in [
            "-i",
            "--input",
            "--model",
            "--provider",
            "--sandbox",
            "--max-cost-usd",
        ] {
            assert!(
                run.valued.iter().any(|v| v == opt),
                "{opt}: {:?}",
                run.valued
            );
        }
        assert!(!run.valued.iter().any(|v| v == "--dry-run"));
        let validate = args.iter().find(|a| a.path == "validate").unwrap();
        assert!(validate.every);
        let k8s = args.iter().find(|a| a.path == "emit k8s").unwrap();
        assert!(k8s.valued.iter().any(|v| v == "--repos"));
    }

    #[test]
    fn zsh_completes_every_task_argument_with_names() {
        let mut cli = crate::cli::args::Cli::command();
        let text = script(Shell::Zsh, &mut cli);
        // run, plan, batch, emit github, emit k8s, validate, lock, test.
        assert_eq!(
            text.matches(":_wf_task_names' \\\n").count(),
            TASK_ARGS.len(),
            "{text}"
        );
        let helper = text.find("_wf_task_names() {").unwrap();
        let call = text.find("if [ \"$funcstack[1]\" = \"_wf\" ]").unwrap();
        assert!(helper < call);
    }
}
