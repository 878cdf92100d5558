//! The model request: fixed instructions, the first message, and the
//! conversation that grows turn by turn with its hash kept up to date.

use super::*;
use crate::plan::AgentStep;

/// The request being built up turn by turn, with its hash kept up to date
/// incrementally: hashing the whole conversation again on every turn would
/// cost quadratic time in long runs. [`Conversation::hash`] equals
/// [`ModelRequest::hash`] (the SHA-256 of the request's JSON; `messages` is
/// its last field).
pub(super) struct Conversation {
    pub(super) request: ModelRequest,
    state: sha2::Sha256,
    pub(super) bytes: u64,
}

impl Conversation {
    pub(super) fn new(request: ModelRequest) -> Conversation {
        use sha2::Digest;
        assert!(request.messages.is_empty());
        let mut head = serde_json::to_vec(&request).expect("requests serialize");
        // `..."messages":[]}` → keep up to and including the `[`.
        head.truncate(head.len() - 2);
        let mut state = sha2::Sha256::new();
        state.update(&head);
        Conversation {
            request,
            state,
            bytes: head.len() as u64 + 2,
        }
    }

    pub(super) fn push(&mut self, message: Message) {
        use sha2::Digest;
        let body = serde_json::to_vec(&message).expect("messages serialize");
        if !self.request.messages.is_empty() {
            self.state.update(b",");
            self.bytes += 1;
        }
        self.state.update(&body);
        self.bytes += body.len() as u64;
        self.request.messages.push(message);
    }

    pub(super) fn hash(&self) -> String {
        use sha2::Digest;
        let mut state = self.state.clone();
        state.update(b"]}");
        crate::hash::hex(&state.finalize())
    }
}

pub(super) fn user_text(text: &str) -> Message {
    Message {
        role: Role::User,
        content: vec![Block::Text {
            text: text.to_string(),
        }],
    }
}

pub(super) fn response_text(response: &ModelResponse) -> String {
    response
        .content
        .iter()
        .filter_map(|b| match b {
            Block::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The fixed instructions of an agent step: the same on every turn.
pub fn instructions(step: &AgentStep) -> String {
    let mut s = String::from(
        "You are a coding agent working in a copy of a repository. Act only through the tools; paths are relative to the repository root.\n",
    );
    if step.checks.is_empty() {
        s.push_str("When the task is done, reply without tool calls.\n");
    } else {
        let names: Vec<&str> = step.checks.iter().map(|c| c.name.as_str()).collect();
        s.push_str(&format!(
            "When the task is done, reply without tool calls; then these checks run and must pass: {}. If one fails you get its output to fix.\n",
            names.join(", ")
        ));
    }
    let p = &step.permissions;
    if step.builtin_tools().iter().any(|t| t.writes()) {
        let write = if p.write.is_empty() {
            "nothing".to_string()
        } else {
            p.write.join(", ")
        };
        s.push_str(&format!("Writable: {write}."));
        for bound in &step.bounds {
            let within = if bound.write.is_empty() {
                "nothing".to_string()
            } else {
                bound.write.join(", ")
            };
            s.push_str(&format!(" Only within: {within}."));
        }
        let protect: Vec<&str> = std::iter::once(p)
            .chain(&step.bounds)
            .flat_map(|b| b.protect.iter().map(String::as_str))
            .collect();
        if !protect.is_empty() {
            s.push_str(&format!(" Never writable: {}.", protect.join(", ")));
        }
        s.push('\n');
    }
    if let Some(shell) = &p.shell {
        s.push_str(&format!("Allowed commands: {}.", shell.allow.join("; ")));
        for bound in &step.bounds {
            let allow: Vec<&str> = bound
                .shell
                .iter()
                .flat_map(|s| s.allow.iter().map(String::as_str))
                .collect();
            s.push_str(&format!(
                " Each must also match one of: {}.",
                if allow.is_empty() {
                    "nothing".to_string()
                } else {
                    allow.join("; ")
                }
            ));
        }
        s.push('\n');
    }
    if !step.constraints.is_empty() {
        s.push_str("Rules:\n");
        for c in &step.constraints {
            s.push_str(&format!("- {c}\n"));
        }
    }
    // The repository's standing rules (`constraints_from`), each file whole.
    for f in &step.instructions {
        s.push_str(&format!(
            "Rules of this repository, from {}:\n<rules path=\"{}\">\n{}",
            f.path, f.path, f.text
        ));
        if !f.text.ends_with('\n') {
            s.push('\n');
        }
        s.push_str("</rules>\n");
    }
    s
}

/// The first user message of an agent step: its context files, then the
/// task (`prompt`, rendered).
pub fn first_message(step: &AgentStep, prompt: &str) -> Message {
    let mut content = Vec::new();
    if !step.context.files.is_empty() {
        let mut ctx = String::from("Context files:\n");
        for f in &step.context.files {
            ctx.push_str(&format!("<file path=\"{}\">\n{}", f.path, f.content));
            if !f.content.ends_with('\n') {
                ctx.push('\n');
            }
            ctx.push_str("</file>\n");
        }
        content.push(Block::Text { text: ctx });
    }
    let mut task = prompt.to_string();
    if step.plan_checkpoint {
        task.push_str(
            "\n\nFirst reply with your plan only, without changing anything. A person approves it before edits and commands are allowed.",
        );
    }
    content.push(Block::Text { text: task });
    Message {
        role: Role::User,
        content,
    }
}

/// A tool (wf's own or an MCP server's) as a provider sends it: the
/// engine is what connects the tools and the providers, which know
/// nothing of each other.
pub fn tool_def(d: crate::tools::Definition) -> crate::provider::ToolDef {
    crate::provider::ToolDef {
        name: d.name,
        description: d.description,
        input_schema: d.input_schema,
    }
}

/// Bytes of an agent step's instructions and tool definitions: the part of
/// every request that does not depend on the conversation.
pub fn fixed_request_bytes(step: &AgentStep) -> u64 {
    let system = instructions(step);
    let tools: Vec<crate::provider::ToolDef> = crate::spec::ToolName::ALL
        .into_iter()
        .filter(|t| step.has(*t))
        .map(|t| tool_def(crate::tools::definition(t)))
        .collect();
    let tools_json = serde_json::to_vec(&tools).expect("tool definitions serialize");
    (system.len() + tools_json.len()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_incremental_hash_is_the_hash_of_the_whole_request() {
        let mut c = Conversation::new(ModelRequest {
            model: "m".into(),
            max_tokens: 10,
            temperature: Some(0.5),
            system: "rules \"quoted\"".into(),
            tools: vec![tool_def(crate::tools::definition(
                crate::spec::ToolName::Shell,
            ))],
            messages: Vec::new(),
        });
        for i in 0..3 {
            c.push(user_text(&format!("turn {i} é")));
            let whole = serde_json::to_vec(&c.request).unwrap();
            assert_eq!(c.hash(), c.request.hash());
            assert_eq!(c.bytes, whole.len() as u64);
        }
    }
}
