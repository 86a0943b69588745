//! The documents as a contract to hold a server to: what each operation may answer, requests
//! derived from the request schemas, and a probe of a live endpoint for drift.
//!
//! - [`operations`]: each operation's documented answers (statuses, media types, body
//!   schemas) and the judge that names every departure of an answer from them;
//! - [`mutations`]: edits of a valid body aimed at each rule its schema states, on both sides;
//! - [`probe`]: sends a live endpoint only requests its document says must be refused, and
//!   reports where its verdict or wording differs.
//!
//! The emulator (`happyhorse::sandbox`) is held to the same judge by the crate's conformance
//! test; the output files its tasks link to are described by [`storage_document`].
//!
//! ```
//! use happyhorse::{conformance::{operations::{operations, Answer}, document}, Provider};
//!
//! let operations = operations(document(Provider::Apiframe))?;
//! let get_job = operations.iter().find(|op| op.id == "get_job").expect("documented");
//! let answer = Answer {
//!     status: 404,
//!     content_type: Some("application/json"),
//!     body: br#"{"error": "Job not found"}"#,
//! };
//! assert!(get_job.judge(&answer).is_empty());
//! let plain = Answer { content_type: Some("text/plain"), body: b"not found", ..answer };
//! assert_eq!(
//!     get_job.judge(&plain)[0].to_string(),
//!     "404: text/plain, documented application/json"
//! );
//! # Ok::<(), happyhorse::conformance::DocumentError>(())
//! ```

pub mod mutations;
pub mod operations;
pub mod probe;

use std::{fmt, sync::OnceLock};

use serde_json::{Map, Value};

use crate::{contract, Provider};

const STORAGE: &str = include_str!(concat!(env!("OUT_DIR"), "/storage.openapi.json"));

/// The provider's OpenAPI document (the same as [`contract::openapi`]).
pub fn document(provider: Provider) -> &'static Value {
    contract::openapi(provider)
}

/// `openapi/storage.yaml`: the output files a finished task links to (signed storage URLs),
/// as the downloader relies on them: `Range`, `416`, `404`, `410` once expired.
pub fn storage_document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        // build.rs wrote this text with serde_json from a document it parsed, so it is JSON.
        serde_json::from_str(STORAGE)
            .unwrap_or_else(|err| unreachable!("build.rs wrote invalid JSON: {err}"))
    })
}

/// A standalone JSON Schema (draft 4) for `schema`, an inline schema object of `document` or a
/// `$ref` into it: every component travels along so that references resolve, and OpenAPI's
/// `nullable` is translated (see [`contract::translate_nullable`]).
pub fn standalone_schema(document: &Value, schema: &Value) -> Value {
    let mut components = document.get("components").cloned().unwrap_or(Value::Null);
    contract::translate_nullable(&mut components);
    let mut schema = schema.clone();
    contract::translate_nullable(&mut schema);
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        Value::from("http://json-schema.org/draft-04/schema#"),
    );
    root.insert("allOf".into(), Value::from(vec![schema]));
    if !components.is_null() {
        root.insert("components".into(), components);
    }
    Value::Object(root)
}

/// `schema` (an object of `document`, or a `$ref` into it) compiled as a draft-4 JSON Schema
/// with formats checked; the problem is reported at `at`.
pub(crate) fn compile(
    document: &Value,
    schema: &Value,
    at: &str,
) -> Result<jsonschema::Validator, DocumentError> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&standalone_schema(document, schema))
        .map_err(|err| DocumentError::new(at, format!("the schema does not compile: {err}")))
}

/// A `$ref` to `provider`'s request component: its submit body's schema, in its document.
pub(crate) fn request_reference(provider: Provider) -> Value {
    serde_json::json!({
        "$ref": format!("#/components/schemas/{}", contract::request_component(provider))
    })
}

/// A document that cannot be read as this module needs it: where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentError {
    /// A JSON Pointer into the document.
    pub at: String,
    /// What is wrong there.
    pub reason: String,
}

impl DocumentError {
    pub(crate) fn new(at: impl Into<String>, reason: impl Into<String>) -> Self {
        DocumentError {
            at: at.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the document at {}: {}", self.at, self.reason)
    }
}

impl std::error::Error for DocumentError {}
