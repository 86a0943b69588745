//! One line of a jobs file checked on its own ([`parse_job_line`]): its JSON object, its
//! field names, its provider, request, id and output file, into a [`BatchJob`]; or every
//! problem with it, as [`LineProblem`]s.

use std::{fmt, path::Path, str::FromStr};

use serde_json::{Map, Value};

use super::{
    field_values::string_field,
    fields::{check_id, check_output, too_long, unknown_fields, BYTE_ORDER_MARK, MAX_LINE_BYTES},
    job::{build, derived_id, BatchJob},
    line_object::line_object,
    request::request_of,
};
use crate::{values::text::quoted, Provider};

/// A line that cannot become a job, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineProblem {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong, in the request's terms.
    pub message: String,
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// One line of a jobs file checked on its own: its job, or every problem with it, each with
/// `line` (its 1-based number).
///
/// It checks everything a line says by itself (its JSON, its fields, whether its provider
/// can serve it), not what it shares with other lines: give each job to a
/// [`DuplicateCheck`](super::DuplicateCheck) for that. A blank line is not JSON here
/// ([`JobsReader`](super::JobsReader) skips blank lines before they get here), nor is one
/// that starts with a byte order mark (the reader takes the one a file may start with off its
/// first line).
///
/// ```
/// use happyhorse::{batch::parse_job_line, Provider};
///
/// let job = parse_job_line(7, r#"{"prompt": "A horse", "id": "horse"}"#, Provider::HiApi)
///     .map_err(|problems| format!("{problems:?}"))?;
/// assert_eq!((job.line, job.output.as_str()), (7, "horse.mp4"));
/// let problems =
///     parse_job_line(8, r#"{"prompt": "a", "prompt": "b"}"#, Provider::HiApi).unwrap_err();
/// assert!(problems[0].to_string().starts_with("line 8: \"prompt\" is given twice"));
/// # Ok::<(), String>(())
/// ```
pub fn parse_job_line(
    line: u64,
    text: &str,
    default_provider: Provider,
) -> Result<BatchJob, Vec<LineProblem>> {
    parse_line_in(line, text, default_provider, None)
}

/// [`parse_job_line`], with local images taken (relative to `local`) when `local` is given.
pub(super) fn parse_line_in(
    line: u64,
    text: &str,
    default_provider: Provider,
    local: Option<&Path>,
) -> Result<BatchJob, Vec<LineProblem>> {
    parse_line(line, text, default_provider, local).map_err(|messages| {
        messages
            .into_iter()
            .map(|message| LineProblem { line, message })
            .collect()
    })
}

/// Every problem with one line, or its job; `number` is its 1-based line number.
fn parse_line(
    number: u64,
    text: &str,
    default_provider: Provider,
    local: Option<&Path>,
) -> Result<BatchJob, Vec<String>> {
    let object = object_of(text).map_err(|message| vec![message])?;
    let mut problems = Vec::new();

    let provider = provider_of(&object, default_provider, &mut problems);
    let request = request_of(&object, local, &mut problems);
    let id = checked_name(&object, "id", check_id, &mut problems);
    let output = checked_name(&object, "output", check_output, &mut problems);
    let (Some(request), true, Ok(id), Ok(output)) = (request, problems.is_empty(), id, output)
    else {
        // Every way to get here noted a problem; the fallback keeps a line from vanishing.
        if problems.is_empty() {
            problems.push("cannot become a job".to_owned());
        }
        return Err(problems);
    };
    let id = match id {
        Some(id) => id,
        None => derived_id(object),
    };
    let output = output.unwrap_or_else(|| format!("{id}.mp4"));
    build(number, id, provider, request, output)
}

/// The line's object, or the one problem that stops it being read further: it is too long,
/// starts with a byte order mark, is not a JSON object, or has fields a line does not take.
fn object_of(text: &str) -> Result<Map<String, Value>, String> {
    if text.len() > MAX_LINE_BYTES {
        return Err(too_long(u64::try_from(text.len()).unwrap_or(u64::MAX)));
    }
    if text.starts_with(BYTE_ORDER_MARK) {
        return Err(
            "starts with a byte order mark (U+FEFF), which only the first line of a file may \
             carry; remove it (files joined together carry one per file)"
                .to_owned(),
        );
    }
    let object = line_object(text)?;
    if let Some(problem) = unknown_fields(object.keys()) {
        return Err(problem);
    }
    Ok(object)
}

/// The line's `provider`, or `default_provider` when it names none or one that is unknown
/// (the problem noted).
fn provider_of(
    object: &Map<String, Value>,
    default_provider: Provider,
    problems: &mut Vec<String>,
) -> Provider {
    match string_field(object, "provider", problems) {
        Ok(None) | Err(()) => default_provider,
        Ok(Some(name)) => Provider::from_str(name).unwrap_or_else(|_| {
            problems.push(format!(
                "provider: unknown provider \"{}\": use one of hiapi, reapi, apiframe",
                quoted(name)
            ));
            default_provider
        }),
    }
}

/// The name `field` (`id` or `output`) gives, as `check` accepts it: `Ok(None)` when absent or
/// null, `Err(())` when refused (the problem noted).
fn checked_name(
    object: &Map<String, Value>,
    field: &str,
    check: fn(&str) -> Result<(), String>,
    problems: &mut Vec<String>,
) -> Result<Option<String>, ()> {
    match string_field(object, field, problems) {
        Ok(Some(name)) => match check(name) {
            Ok(()) => Ok(Some(name.to_owned())),
            Err(message) => {
                problems.push(message);
                Err(())
            }
        },
        Ok(None) => Ok(None),
        Err(()) => Err(()),
    }
}
