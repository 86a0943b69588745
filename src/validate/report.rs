//! What a validation finds: errors and warnings, each at a JSON path.

use std::fmt;

use serde::Serialize;

/// One finding about a request body: where it is and what is wrong.
///
/// `path` is a dotted JSON path into the body (`input.duration`, `input.reference_image[3]`),
/// or `$` for the body itself. `message` states the rule in the providers' wording, e.g.
/// `minimum: got 0, want 3` or `additional properties 'seed' not allowed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Dotted JSON path of the offending value; `$` is the whole body.
    pub path: String,
    /// What is wrong, and where the rule allows, what to do instead.
    pub message: String,
}

impl Issue {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Issue {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The message as HiAPI words it: the field name, relative to the object HiAPI validates,
    /// before the rule (`duration: minimum: got 0, want 3`,
    /// `reference_image: maxItems: got 10, want 9`), or the rule alone when it concerns the
    /// object itself (`additional properties 'seed' not allowed`).
    pub fn provider_message(&self) -> String {
        let field = self
            .path
            .rsplit('.')
            .next()
            .filter(|last| *last != "$" && *last != "input" && !self.path.ends_with(']'));
        match field {
            Some(name) if !self.is_about_the_object() => format!("{name}: {}", self.message),
            _ => self.message.clone(),
        }
    }

    fn is_about_the_object(&self) -> bool {
        self.message.starts_with("additional properties") || self.message.starts_with("missing")
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Everything a validation found: errors (the provider would refuse the body) and warnings
/// (it would accept it but ignore or truncate something).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Problems that make the provider refuse the request.
    pub errors: Vec<Issue>,
    /// Fields the provider accepts but ignores or truncates.
    pub warnings: Vec<Issue>,
}

impl Report {
    /// `true` when there are no errors (warnings do not count).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    pub(crate) fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Issue::new(path, message));
    }

    pub(crate) fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Issue::new(path, message));
    }
}

impl fmt::Display for Report {
    /// One `PATH: MESSAGE` line per error.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

/// Joins a parent path and a field name into a dotted path.
pub(crate) fn child(parent: &str, field: &str) -> String {
    if parent == "$" {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

/// Joins a parent path and an array index.
pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_messages_match_the_wording_hiapi_documents() {
        let cases = [
            (
                "input",
                "additional properties 'seed' not allowed",
                "additional properties 'seed' not allowed",
            ),
            (
                "input.duration",
                "minimum: got 0, want 3",
                "duration: minimum: got 0, want 3",
            ),
            (
                "input.duration",
                "maximum: got 20, want 15",
                "duration: maximum: got 20, want 15",
            ),
            (
                "input.reference_image",
                "got string, want array",
                "reference_image: got string, want array",
            ),
            (
                "input.reference_image",
                "maxItems: got 10, want 9",
                "reference_image: maxItems: got 10, want 9",
            ),
        ];
        for (path, message, expected) in cases {
            assert_eq!(Issue::new(path, message).provider_message(), expected);
        }
    }

    #[test]
    fn child_paths_are_dotted_from_the_root() {
        assert_eq!(child("$", "input"), "input");
        assert_eq!(child("input", "duration"), "input.duration");
        assert_eq!(
            index("input.reference_image", 2),
            "input.reference_image[2]"
        );
    }
}
