//! One finding about a request body, worded as the providers word schema violations. Shared by
//! the validation layer and the sandbox, which both speak the documents' language.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

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
        // The last field of the path, with its index when the issue is about one item
        // (`reference_image[0]: got integer, want string`).
        let field = self.path.rsplit('.').next().filter(|last| *last != "$");
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

/// JSON Schema's name for the type of a value, as the providers word `got X, want Y`.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
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
            // The envelope's own field is named like any other.
            (
                "input",
                "got array, want object",
                "input: got array, want object",
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
            (
                "input.reference_image[0]",
                "got integer, want string",
                "reference_image[0]: got integer, want string",
            ),
        ];
        for (path, message, expected) in cases {
            assert_eq!(Issue::new(path, message).provider_message(), expected);
        }
    }
}
