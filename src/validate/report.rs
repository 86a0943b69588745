//! What a validation finds: errors and warnings, each at a JSON path.

use std::fmt;

use serde::Serialize;

pub use crate::issue::Issue;

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
    fn child_paths_are_dotted_from_the_root() {
        assert_eq!(child("$", "input"), "input");
        assert_eq!(child("input", "duration"), "input.duration");
        assert_eq!(
            index("input.reference_image", 2),
            "input.reference_image[2]"
        );
    }
}
