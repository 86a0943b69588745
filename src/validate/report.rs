//! What a validation finds: errors and warnings, each at a JSON path.
//!
//! The walk in `rules` reports to a [`Sink`]: a [`Report`] writes down every error, with its
//! path and message rendered then; a [`Verdict`] stops the walk at the first one. Paths
//! ([`Path`]) and messages (`fmt::Arguments`) stay unrendered until a sink asks for them, so a
//! valid body is walked without allocating.

use std::{fmt, ops::ControlFlow};

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

/// Whether the walk goes on after an error: a [`Report`] always continues, a [`Verdict`]
/// breaks at the first error.
pub(crate) type Flow = ControlFlow<()>;

/// Where the walk's errors go.
pub(crate) trait Sink {
    /// Takes one error; the path and message are rendered only if the sink keeps them.
    fn error(&mut self, path: Path<'_>, message: fmt::Arguments<'_>) -> Flow;
}

impl Sink for Report {
    fn error(&mut self, path: Path<'_>, message: fmt::Arguments<'_>) -> Flow {
        self.errors
            .push(Issue::new(path.to_string(), message.to_string()));
        ControlFlow::Continue(())
    }
}

/// A sink that keeps nothing and stops the walk at the first error: the walk then returns
/// `Break` exactly when the body is invalid.
pub(crate) struct Verdict;

impl Sink for Verdict {
    fn error(&mut self, _: Path<'_>, _: fmt::Arguments<'_>) -> Flow {
        ControlFlow::Break(())
    }
}

/// A JSON path under construction, one link per step on the walk's stack; rendered (by
/// `Display`) only when an error is kept.
///
/// The rendering is dotted from the root: `$` for the body itself, `input` for a field of
/// the body, `input.duration` below it, `input.reference_image[2]` for an item.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    /// The body itself.
    Root,
    /// A named field of the object at the parent path.
    Field(&'a Path<'a>, &'static str),
    /// An item of the array at the parent path.
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Path::Root => f.write_str("$"),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_paths_are_dotted_from_the_root() {
        let root = Path::Root;
        let input = Path::Field(&root, "input");
        let refs = Path::Field(&input, "reference_image");
        assert_eq!(root.to_string(), "$");
        assert_eq!(input.to_string(), "input");
        assert_eq!(
            Path::Field(&input, "duration").to_string(),
            "input.duration"
        );
        assert_eq!(
            Path::Index(&refs, 2).to_string(),
            "input.reference_image[2]"
        );
    }

    #[test]
    fn a_report_keeps_every_error_and_a_verdict_stops_at_the_first() {
        let mut report = Report::default();
        let root = Path::Root;
        let path = Path::Field(&root, "prompt");
        assert!(report
            .error(path, format_args!("minLength: got {}, want {}", 0, 1))
            .is_continue());
        assert!(report.error(Path::Root, format_args!("x")).is_continue());
        assert_eq!(report.to_string(), "prompt: minLength: got 0, want 1\n$: x");
        assert!(Verdict.error(path, format_args!("x")).is_break());
    }
}
