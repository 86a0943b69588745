//! Reading one field's value from a line's object: a string, a whole number, a URL, and the
//! message for a value of the wrong JSON type.

use std::{path::Path, str::FromStr};

use serde_json::{Map, Value};

use crate::{
    issue::type_name,
    media::{is_local, local_placeholder},
    values::text::{is_invisible, quoted},
    values::HttpUrl,
};

/// How a problem names the field of a value that has the wrong JSON type.
pub(super) fn wrong_type(field: &str, want: &str, value: &Value) -> String {
    format!("{field}: expected {want}, got {}", type_name(value))
}

/// The value of `field`: `Ok(None)` when absent or null, `Err(())` when it is not a string
/// (the problem already noted).
pub(super) fn string_field<'a>(
    object: &'a Map<String, Value>,
    field: &str,
    problems: &mut Vec<String>,
) -> Result<Option<&'a str>, ()> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => {
            problems.push(wrong_type(field, "a string", other));
            Err(())
        }
    }
}

/// A whole number from a JSON number or a numeric string (`"5"`, `"5s"`).
pub(super) fn whole(value: &Value, field: &str) -> Result<i64, String> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{field}: {} is not a whole number", quoted(&n.to_string()))),
        Value::String(s) => s
            .trim()
            .trim_end_matches('s')
            .parse()
            .map_err(|_| format!("{field}: \"{}\" is not a whole number", quoted(s))),
        other => Err(wrong_type(field, "a number", other)),
    }
}

/// `text` as the URL of `field`, or the problem with it.
pub(super) fn url(text: &str, field: &str) -> Result<HttpUrl, String> {
    HttpUrl::from_str(text).map_err(|err| format!("{field}: {}", err.rule))
}

/// The longest local image path a line may give, in bytes (Linux's `PATH_MAX`).
const MAX_PATH_BYTES: usize = 4096;

/// `text`, an image of `field`, as its URL: with `local` (the directory relative paths are
/// taken from), a local path (or `file://` URL) becomes a
/// [`local_placeholder`](crate::media::local_placeholder) of the file's path, to be staged;
/// without, it is refused as any text that is not an http(s) URL.
pub(super) fn image_url(text: &str, field: &str, local: Option<&Path>) -> Result<HttpUrl, String> {
    match local {
        Some(dir) if is_local(text) => {
            let written = text.strip_prefix("file://").unwrap_or(text);
            if written.len() > MAX_PATH_BYTES {
                return Err(format!(
                    "{field}: \"{}\" is not an http(s) URL, and at {} bytes too long for a local file's path (the most is {MAX_PATH_BYTES})",
                    quoted(text),
                    written.len()
                ));
            }
            if written.chars().any(|c| c.is_control() || is_invisible(c)) {
                return Err(format!(
                    "{field}: the local path \"{}\" holds a control or invisible character; rename the file",
                    quoted(text)
                ));
            }
            // `dir/./a.png` as `dir/a.png` (components drop the inner `.`).
            let path: std::path::PathBuf = dir.join(written).components().collect();
            let Some(path) = path.to_str() else {
                return Err(format!("{field}: the path {} is not UTF-8", path.display()));
            };
            url(&local_placeholder(path), field)
        }
        _ => url(text, field),
    }
}
