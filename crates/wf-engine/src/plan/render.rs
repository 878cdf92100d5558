//! Rendering a task file's templated fields (prompts, globs, permissions,
//! budgets, environment, context) with its inputs.

use super::*;

/// Renders a task file's templates with its inputs and resolves its
/// context globs against the repository.
pub(super) struct Render<'a> {
    pub(super) inputs: &'a BTreeMap<String, Value>,
    pub(super) root: &'a Path,
}

impl Render<'_> {
    pub(super) fn text(&self, field: String, text: &str) -> Result<String, PlanError> {
        template::render(text, self.inputs).map_err(|e| PlanError::Template {
            field,
            message: e.message,
        })
    }

    pub(super) fn list(&self, field: &str, list: &[String]) -> Result<Vec<String>, PlanError> {
        list.iter()
            .enumerate()
            .map(|(i, c)| self.text(format!("{field}[{i}]"), c))
            .collect()
    }

    /// A list of globs rendered, each in its one spelling
    /// ([`crate::glob::normalize`]).
    pub(super) fn globs(&self, field: &str, list: &[String]) -> Result<Vec<String>, PlanError> {
        Ok(self
            .list(field, list)?
            .iter()
            .map(|g| crate::glob::normalize(g))
            .collect())
    }

    /// Permissions with their globs rendered and checked.
    pub(super) fn permissions(
        &self,
        prefix: &str,
        perms: &Permissions,
    ) -> Result<Permissions, PlanError> {
        let mut permissions = perms.clone();
        for (name, list) in [
            ("read", &mut permissions.read),
            ("write", &mut permissions.write),
            ("protect", &mut permissions.protect),
        ] {
            for (i, glob) in list.iter_mut().enumerate() {
                let field = format!("{prefix}permissions.{name}[{i}]");
                *glob = crate::glob::normalize(&self.text(field.clone(), glob)?);
                if let Err(message) = crate::sys::paths::check_relative(glob)
                    .and_then(|()| crate::glob::compile(glob).map(|_| ()))
                {
                    return Err(PlanError::Template {
                        field,
                        message: format!("glob `{glob}`: {message}"),
                    });
                }
            }
        }
        Ok(permissions)
    }

    /// A token budget: as written, or its template rendered, which must
    /// give a whole number, 1 or more.
    fn budget(&self, field: &str, budget: &crate::spec::TokenBudget) -> Result<u64, PlanError> {
        match budget {
            crate::spec::TokenBudget::Tokens(n) => Ok(*n),
            crate::spec::TokenBudget::Template(t) => {
                let text = self.text(field.to_string(), t)?;
                text.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| PlanError::Template {
                        field: field.to_string(),
                        message: format!(
                            "`{t}` gives `{text}`, not a token budget (a whole number, 1 or more)"
                        ),
                    })
            }
        }
    }

    /// `env` with its text values rendered.
    pub(super) fn env(&self, prefix: &str, env: &Env) -> Result<Env, PlanError> {
        env.iter()
            .map(|(name, value)| {
                let value = match value {
                    crate::spec::EnvValue::Text(t) => {
                        crate::spec::EnvValue::Text(self.text(format!("{prefix}env.{name}"), t)?)
                    }
                    other => other.clone(),
                };
                Ok((name.clone(), value))
            })
            .collect()
    }

    /// `base` with the step's `env` (rendered) over it.
    pub(super) fn step_env(&self, base: &Env, prefix: &str, own: &Env) -> Result<Env, PlanError> {
        let mut env = base.clone();
        env.extend(self.env(prefix, own)?);
        Ok(env)
    }

    /// The resolved context of a step that may read `read`, and the
    /// rendered include globs.
    pub(super) fn context(
        &self,
        prefix: &str,
        ctx: &crate::spec::ContextSpec,
        read: &[String],
    ) -> Result<(Context, Vec<String>), PlanError> {
        let include = self.globs(&format!("{prefix}context.include"), &ctx.include)?;
        let exclude = self.globs(&format!("{prefix}context.exclude"), &ctx.exclude)?;
        let max_tokens = self.budget(&format!("{prefix}context.max_tokens"), &ctx.max_tokens)?;
        let context = context::resolve(self.root, &include, &exclude, read, max_tokens).map_err(
            |e| match e {
                ContextError::Missing(list) => PlanError::Missing(
                    list.into_iter()
                        .map(|m| Missing {
                            field: Some(format!("{prefix}context.include[{}]", m.index)),
                            message: m.to_string(),
                        })
                        .collect(),
                ),
                e => PlanError::Context(e),
            },
        )?;
        Ok((context, include))
    }
}
