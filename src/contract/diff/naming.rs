//! How progenitor and typify name and type what they generate from a document, as far as the
//! report needs it: checked against `tests/snapshots/` and against code generated from probe
//! documents with the settings of `build.rs`.

use serde_json::Value;

/// How far [`shape`] looks into nested arrays.
const SHAPE_DEPTH: usize = 4;

/// The words of an identifier: split at every character that is not a letter or digit, before
/// an upper-case letter that follows a lower-case one (`webhookUrl`), and before the last
/// capital of a run followed by a lower-case letter (`HTTPServer` → `HTTP`, `Server`). Digits
/// stay with the word they are in.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in text.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut word = String::new();
        // Whether the last cased character of the current word is lower case.
        let mut last_lower: Option<bool> = None;
        for (i, &c) in chars.iter().enumerate() {
            let next = chars.get(i.saturating_add(1)).copied();
            let before_lower = next.is_some_and(char::is_lowercase);
            let split = c.is_uppercase()
                && !word.is_empty()
                && (last_lower == Some(true) || (last_lower == Some(false) && before_lower));
            if split {
                out.push(std::mem::take(&mut word));
                last_lower = None;
            }
            word.push(c);
            if c.is_lowercase() {
                last_lower = Some(true);
            } else if c.is_uppercase() {
                last_lower = Some(false);
            }
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

/// Rust's reserved words, which typify and progenitor suffix with `_`.
fn is_keyword(ident: &str) -> bool {
    matches!(
        ident,
        "abstract"
            | "as"
            | "async"
            | "await"
            | "become"
            | "box"
            | "break"
            | "const"
            | "continue"
            | "crate"
            | "do"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "final"
            | "fn"
            | "for"
            | "gen"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "macro"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "override"
            | "priv"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "Self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "try"
            | "type"
            | "typeof"
            | "unsafe"
            | "unsized"
            | "use"
            | "virtual"
            | "where"
            | "while"
            | "yield"
    )
}

/// An identifier made of `words`: prefixed with `x`/`X` when it would start with a digit (or
/// be empty), suffixed with `_` when it is a keyword.
fn identifier(joined: String, prefix: &str) -> String {
    let out = match joined.chars().next() {
        Some(c) if c.is_alphabetic() || c == '_' => joined,
        _ => format!("{prefix}{joined}"),
    };
    if is_keyword(&out) {
        out + "_"
    } else {
        out
    }
}

/// A name as a type or enum variant: `happyhorse-1.1` → `Happyhorse11`, `720p` → `X720p`,
/// `16:9` → `X169`, `image_urls` → `ImageUrls`.
pub(super) fn pascal_case(name: &str) -> String {
    let joined: String = words(&name.replace('\'', ""))
        .iter()
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect()
            })
        })
        .collect();
    identifier(joined, "X")
}

/// A name as a field, parameter or method: `taskId` → `task_id`, `Idempotency-Key` →
/// `idempotency_key`, `type` → `type_`.
pub(super) fn snake_case(name: &str) -> String {
    let joined = words(&name.replace('\'', ""))
        .iter()
        .map(|word| word.to_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    identifier(joined, "x")
}

/// The variant typify generates for a string enum value.
pub(super) fn variant_name(value: &Value) -> Option<String> {
    value.as_str().map(pascal_case)
}

/// The integer formats typify knows, most restrictive first: format, Rust type, the `NonZero`
/// type it uses for a minimum of 1, and the type's range.
const INTEGER_FORMATS: [(&str, &str, &str, f64, f64); 10] = [
    ("int8", "i8", "NonZeroU8", i8::MIN as f64, i8::MAX as f64),
    ("uint8", "u8", "NonZeroU8", 0.0, u8::MAX as f64),
    (
        "int16",
        "i16",
        "NonZeroU16",
        i16::MIN as f64,
        i16::MAX as f64,
    ),
    ("uint16", "u16", "NonZeroU16", 0.0, u16::MAX as f64),
    ("int", "i32", "NonZeroU32", i32::MIN as f64, i32::MAX as f64),
    (
        "int32",
        "i32",
        "NonZeroU32",
        i32::MIN as f64,
        i32::MAX as f64,
    ),
    ("uint", "u32", "NonZeroU32", 0.0, u32::MAX as f64),
    ("uint32", "u32", "NonZeroU32", 0.0, u32::MAX as f64),
    (
        "int64",
        "i64",
        "NonZeroU64",
        i64::MIN as f64,
        i64::MAX as f64,
    ),
    ("uint64", "u64", "NonZeroU64", 0.0, u64::MAX as f64),
];

/// A bound of an integer schema, with OpenAPI 3.0's boolean `exclusiveMinimum` /
/// `exclusiveMaximum` applied (`step` is +1 for a minimum, -1 for a maximum).
fn integer_bound(schema: &Value, keyword: &str, exclusive: &str, step: f64) -> Option<f64> {
    let value = schema.get(keyword).and_then(Value::as_f64)?;
    Some(if schema.get(exclusive) == Some(&Value::Bool(true)) {
        value + step
    } else {
        value
    })
}

/// The Rust type typify generates for an integer schema (`type: integer`, no `enum`), as the
/// snapshots in `tests/snapshots/` show it: `NonZeroU64` for an (effective) minimum of 1, a
/// type whose range the bounds (or the `format`) match exactly (`u64` for `minimum: 0` alone,
/// `u8` for `0..=255`, `i32` for `format: int32`), else `i64` (`3..=15` too). `None` for
/// anything else.
pub fn rust_integer_type(schema: &Value) -> Option<&'static str> {
    if schema.get("type").and_then(Value::as_str) != Some("integer") || schema.get("enum").is_some()
    {
        return None;
    }
    let mut min = integer_bound(schema, "minimum", "exclusiveMinimum", 1.0);
    let mut max = integer_bound(schema, "maximum", "exclusiveMaximum", -1.0);
    let known = schema
        .get("format")
        .and_then(Value::as_str)
        .and_then(|format| INTEGER_FORMATS.iter().find(|entry| entry.0 == format));
    if let Some(&(_, ty, non_zero, low, high)) = known {
        let fits = min.is_none_or(|m| m >= low) && max.is_none_or(|m| m <= high);
        if fits && schema.get("multipleOf").is_none() {
            return Some(if min == Some(1.0) { non_zero } else { ty });
        }
        min = min.or(Some(low));
        max = max.or(Some(high));
    }
    let exact = |a: f64, b: f64| (a - b).abs() <= f64::EPSILON;
    let fitting = INTEGER_FORMATS
        .iter()
        .rev()
        .find_map(|&(_, ty, non_zero, low, high)| match (min, max) {
            (Some(1.0), _) => Some(non_zero),
            (Some(m), None) if exact(low, m) => Some(ty),
            (None, Some(m)) if exact(high, m) => Some(ty),
            (Some(a), Some(b)) if exact(low, a) && exact(high, b) => Some(ty),
            _ => None,
        });
    Some(fitting.unwrap_or("i64"))
}

/// Whether a string schema becomes a checked newtype (`TryFrom<&str>`, private field): it has a
/// length bound or a pattern and no format typify maps to its own type.
pub(super) fn is_checked_string(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("string")
        && schema.get("enum").is_none()
        && native_string(schema).is_none()
        && ["minLength", "maxLength", "pattern"]
            .iter()
            .any(|keyword| schema.get(*keyword).is_some())
}

/// The type typify uses for a string of a format it knows.
fn native_string(schema: &Value) -> Option<&'static str> {
    Some(match schema.get("format").and_then(Value::as_str)? {
        "uuid" => "uuid::Uuid",
        "date" => "chrono::NaiveDate",
        "date-time" => "chrono::DateTime<Utc>",
        "ip" => "std::net::IpAddr",
        "ipv4" => "std::net::Ipv4Addr",
        "ipv6" => "std::net::Ipv6Addr",
        _ => return None,
    })
}

/// What typify generates for a (resolved) schema.
enum Generated {
    /// A type of its own (the kind: enum, checked newtype, struct...), named after the schema.
    Own(&'static str),
    /// A Rust type used as it is: `String`, `i64`, `Vec<...>`, another component's type.
    Plain(String),
}

fn generated(schema: &Value, name: Option<&str>, depth: usize) -> Generated {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let component = target.rsplit('/').next().unwrap_or(target);
        return Generated::Plain(format!("types::{}", pascal_case(component)));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Generated::Own(if values.iter().all(Value::is_string) {
            "enum"
        } else {
            "checked newtype"
        });
    }
    let plain = |ty: &str| Generated::Plain(ty.to_owned());
    match schema.get("type").and_then(Value::as_str) {
        Some("string") if is_checked_string(schema) => Generated::Own("checked newtype"),
        Some("string") => plain(native_string(schema).unwrap_or("String")),
        Some("integer") => plain(rust_integer_type(schema).unwrap_or("i64")),
        Some("number") => plain(match schema.get("format").and_then(Value::as_str) {
            Some("float") => "f32",
            _ => "f64",
        }),
        Some("boolean") => plain("bool"),
        Some("array") if depth < SHAPE_DEPTH => {
            let item_name = name.map(|n| format!("{n}Item"));
            let item = schema.get("items").map_or_else(
                || "serde_json::Value".to_owned(),
                |items| type_at(items, item_name.as_deref(), depth.saturating_add(1)),
            );
            Generated::Plain(format!("Vec<{item}>"))
        }
        Some("array") => plain("Vec<_>"),
        Some("object") if schema.get("properties").is_none() => {
            plain("serde_json::Map<String, serde_json::Value>")
        }
        Some(_) => Generated::Own("struct"),
        None if schema.get("properties").is_some() => Generated::Own("struct"),
        None if ["oneOf", "anyOf", "allOf"]
            .iter()
            .any(|keyword| schema.get(*keyword).is_some()) =>
        {
            Generated::Own("type")
        }
        None => plain("serde_json::Value"),
    }
}

fn type_at(schema: &Value, name: Option<&str>, depth: usize) -> String {
    match generated(schema, name, depth) {
        Generated::Own(_) => name.map_or_else(|| "T".to_owned(), |n| format!("types::{n}")),
        Generated::Plain(ty) => ty,
    }
}

/// The Rust type of a value of a (resolved) schema, as a field or parameter has it: `name` is
/// the type typify gives the schema if it gets one of its own (`T` when the report cannot
/// predict it).
pub(super) fn rust_type(schema: &Value, name: Option<&str>) -> String {
    type_at(schema, name, 0)
}

/// The generated shape of a (resolved) schema in one line, to tell whether the generated type
/// changes: `name` as for [`rust_type`], `named` whether the schema is a component (then even
/// a plain value gets its own newtype with a public field). `nullable` is left out: it is
/// reported on its own.
pub(super) fn shape(schema: &Value, name: Option<&str>, named: bool) -> String {
    match (generated(schema, name, 0), name) {
        (Generated::Own(kind), Some(name)) => format!("{kind} `types::{name}`"),
        (Generated::Own(kind), None) => format!("a generated {kind}"),
        (Generated::Plain(ty), Some(name)) if named => format!("`types::{name}(pub {ty})`"),
        (Generated::Plain(ty), _) => format!("`{ty}`"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_follow_typify() {
        assert_eq!(snake_case("happyhorse11Params"), "happyhorse11_params");
        assert_eq!(snake_case("webhookUrl"), "webhook_url");
        assert_eq!(snake_case("Idempotency-Key"), "idempotency_key");
        assert_eq!(snake_case("reference_image"), "reference_image");
        assert_eq!(snake_case("type"), "type_");
        assert_eq!(
            pascal_case("happyhorse-1.1/text-to-video"),
            "Happyhorse11TextToVideo"
        );
        assert_eq!(pascal_case("720p"), "X720p");
        assert_eq!(pascal_case("16:9"), "X169");
        assert_eq!(pascal_case("slow-mode"), "SlowMode");
        assert_eq!(pascal_case("Big URL"), "BigUrl");
        assert_eq!(pascal_case("X-HiAPI-Signature"), "XHiApiSignature");
        assert_eq!(pascal_case("get_task"), "GetTask");
    }

    #[test]
    fn integer_types_follow_typify() {
        let cases = [
            (json!({"minimum": 1}), "NonZeroU64"),
            (json!({"minimum": 1, "maximum": 255}), "NonZeroU64"),
            (
                json!({"minimum": 0, "exclusiveMinimum": true}),
                "NonZeroU64",
            ),
            (json!({"minimum": 1, "exclusiveMinimum": true}), "i64"),
            (json!({"minimum": 0}), "u64"),
            (json!({"minimum": 0, "maximum": 10}), "i64"),
            (json!({"minimum": 0, "maximum": 255}), "u8"),
            (json!({"minimum": 0, "maximum": 4294967295_u64}), "u32"),
            (json!({"maximum": 10}), "i64"),
            (json!({"minimum": -1}), "i64"),
            (json!({"format": "int64", "minimum": 0}), "i64"),
            (json!({"format": "int64", "minimum": 1}), "NonZeroU64"),
            (json!({"format": "int32"}), "i32"),
            (json!({}), "i64"),
        ];
        for (mut schema, expected) in cases {
            schema["type"] = json!("integer");
            assert_eq!(rust_integer_type(&schema), Some(expected), "{schema}");
        }
    }
}
