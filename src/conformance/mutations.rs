//! Requests derived from a document's request schema: one edit at a time to a base body, each
//! aimed at one rule the schema states (a bound, an enum, a type, a required or unknown field,
//! a length, a pattern or format), on either side of it.
//!
//! The rule an edit aims at is a label, not a verdict: whether the edited body is valid is for
//! the schema to say (an edit may miss, e.g. when another rule forbids the field anyway).

use std::fmt;

use serde_json::{Map, Number, Value};

use crate::contract::{escape, unescape};

/// The rule an edit aims at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// A field the object does not declare, where `additionalProperties` is `false`.
    UnknownField,
    /// A required field removed.
    MissingRequired,
    /// An optional field removed or added.
    OptionalField,
    /// A value of another JSON type.
    WrongType,
    /// A value just below `minimum`.
    BelowMinimum,
    /// A value just above `maximum`.
    AboveMaximum,
    /// A value on a bound, inside.
    OnBound,
    /// A value outside the `enum`.
    NotInEnum,
    /// One of the `enum`'s values.
    EnumValue,
    /// A string one character shorter than `minLength`.
    TooShort,
    /// A string one character longer than `maxLength`.
    TooLong,
    /// A string that matches neither the `pattern` nor the `format`.
    Malformed,
    /// A list one item shorter than `minItems`.
    TooFewItems,
    /// A list one item longer than `maxItems`.
    TooManyItems,
}

impl Rule {
    /// A short name (`above_maximum`), for reports.
    pub fn name(self) -> &'static str {
        match self {
            Rule::UnknownField => "unknown_field",
            Rule::MissingRequired => "missing_required",
            Rule::OptionalField => "optional_field",
            Rule::WrongType => "wrong_type",
            Rule::BelowMinimum => "below_minimum",
            Rule::AboveMaximum => "above_maximum",
            Rule::OnBound => "on_bound",
            Rule::NotInEnum => "not_in_enum",
            Rule::EnumValue => "enum_value",
            Rule::TooShort => "too_short",
            Rule::TooLong => "too_long",
            Rule::Malformed => "malformed",
            Rule::TooFewItems => "too_few_items",
            Rule::TooManyItems => "too_many_items",
        }
    }
}

/// One edit of a body: set (or, with `value: None`, remove) what `pointer` points at.
#[derive(Clone, Debug, PartialEq)]
pub struct Edit {
    /// The rule the edit aims at.
    pub rule: Rule,
    /// A JSON Pointer into the body.
    pub pointer: String,
    /// The new value; `None` removes the field.
    pub value: Option<Value>,
}

impl fmt::Display for Edit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        match &self.value {
            Some(value) => write!(f, "{} {at} = {}", self.rule.name(), shorten(value)),
            None => write!(f, "{} {at} removed", self.rule.name()),
        }
    }
}

/// A value as JSON, long strings and lists shortened (`"aaaa…" (2501 chars)`).
fn shorten(value: &Value) -> String {
    match value {
        Value::String(text) if text.chars().count() > 40 => {
            let head: String = text.chars().take(12).collect();
            format!("\"{head}…\" ({} chars)", text.chars().count())
        }
        Value::Array(items) if items.len() > 3 => format!("[{} items]", items.len()),
        other => other.to_string(),
    }
}

impl Edit {
    /// `body` with this edit applied; `None` when the pointer's parent is not in the body.
    pub fn apply(&self, body: &Value) -> Option<Value> {
        let mut edited = body.clone();
        let (parent, last) = split(&self.pointer)?;
        let target = edited.pointer_mut(parent)?;
        match (target, &self.value) {
            (Value::Object(map), Some(value)) => {
                map.insert(last, value.clone());
            }
            (Value::Object(map), None) => {
                map.remove(&last)?;
            }
            (Value::Array(items), Some(value)) => {
                let index: usize = last.parse().ok()?;
                *items.get_mut(index)? = value.clone();
            }
            _ => return None,
        }
        Some(edited)
    }
}

/// A pointer's parent and its last segment, unescaped; `None` for the root.
fn split(pointer: &str) -> Option<(&str, String)> {
    let slash = pointer.rfind('/')?;
    let last = unescape(pointer.get(slash.saturating_add(1)..)?);
    Some((pointer.get(..slash)?, last))
}

/// The name an unknown field gets.
pub const UNKNOWN_FIELD: &str = "notADocumentedField";

/// Every edit of `body` aimed at a rule `schema` (a schema object of `document`, or a `$ref`
/// into it) states, one rule at a time, in a stable order.
pub fn edits(document: &Value, schema: &Value, body: &Value) -> Vec<Edit> {
    let mut found = Vec::new();
    walk(document, schema, body, "", 0, &mut found);
    found
}

/// How deep references and nesting are followed: deeper than any request schema, and a bound
/// for a document whose references loop.
const DEPTH: usize = 12;

fn walk(
    document: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    depth: usize,
    out: &mut Vec<Edit>,
) {
    if depth > DEPTH {
        return;
    }
    let Some(schema) = effective(document, schema, value, depth) else {
        return;
    };
    let edit = |rule, value: Value| Edit {
        rule,
        pointer: at.to_owned(),
        value: Some(value),
    };
    if !at.is_empty() {
        if let Some(other) = wrong_type(&schema, value) {
            out.push(edit(Rule::WrongType, other));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !at.is_empty() {
            for option in options.iter().filter(|o| *o != value) {
                out.push(edit(Rule::EnumValue, option.clone()));
            }
            if let Some(outside) = outside_enum(options, value) {
                out.push(edit(Rule::NotInEnum, outside));
            }
        }
        return;
    }
    match value {
        Value::Object(map) => object(document, &schema, map, at, depth, out),
        Value::Array(items) => array(document, &schema, items, at, depth, out),
        Value::Number(number) if !at.is_empty() => bounds(&schema, number, at, out),
        Value::String(text) if !at.is_empty() => string(&schema, text, at, out),
        _ => {}
    }
}

/// The schema that governs `value`: references followed, a single-entry `allOf` opened, and
/// of a `oneOf`/`anyOf` the branch that fits `value` best.
fn effective(document: &Value, schema: &Value, value: &Value, depth: usize) -> Option<Value> {
    if depth > DEPTH {
        return None;
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = document.pointer(reference.strip_prefix('#')?)?;
        return effective(document, target, value, depth.saturating_add(1));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            let resolved: Vec<Value> = branches
                .iter()
                .filter_map(|b| effective(document, b, value, depth.saturating_add(1)))
                .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            return resolved.into_iter().max_by_key(|branch| fit(branch, value));
        }
    }
    if let Some([single]) = schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        return effective(document, single, value, depth.saturating_add(1));
    }
    Some(schema.clone())
}

/// How well `branch` fits `value`: its constant fields matched, its required fields present,
/// its declared fields covering the value's.
fn fit(branch: &Value, value: &Value) -> i64 {
    let Some(map) = value.as_object() else {
        return 0;
    };
    let properties = branch.get("properties").and_then(Value::as_object);
    let mut score: i64 = 0;
    for (key, field) in map {
        match properties.and_then(|p| p.get(key)) {
            Some(declared) => {
                score = score.saturating_add(1);
                if let Some(options) = declared.get("enum").and_then(Value::as_array) {
                    if options.contains(field) {
                        score = score.saturating_add(100);
                    } else {
                        score = score.saturating_sub(100);
                    }
                }
            }
            None => score = score.saturating_sub(10),
        }
    }
    for required in branch
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !map.contains_key(required) {
            score = score.saturating_sub(10);
        }
    }
    score
}

fn object(
    document: &Value,
    schema: &Value,
    map: &Map<String, Value>,
    at: &str,
    depth: usize,
    out: &mut Vec<Edit>,
) {
    let child = |key: &str| format!("{at}/{}", escape(key));
    if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
        out.push(Edit {
            rule: Rule::UnknownField,
            pointer: child(UNKNOWN_FIELD),
            value: Some(Value::from(1)),
        });
    }
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, declared) in properties {
        match map.get(key) {
            Some(present) => {
                let rule = if required.contains(&key.as_str()) {
                    Rule::MissingRequired
                } else {
                    Rule::OptionalField
                };
                out.push(Edit {
                    rule,
                    pointer: child(key),
                    value: None,
                });
                walk(
                    document,
                    declared,
                    present,
                    &child(key),
                    depth.saturating_add(1),
                    out,
                );
            }
            None => {
                if let Some(sample) = sample(document, declared, depth.saturating_add(1)) {
                    out.push(Edit {
                        rule: Rule::OptionalField,
                        pointer: child(key),
                        value: Some(sample.clone()),
                    });
                    // The field's own rules, tried on the sample.
                    let mut inner = Vec::new();
                    walk(
                        document,
                        declared,
                        &sample,
                        &child(key),
                        depth.saturating_add(1),
                        &mut inner,
                    );
                    out.extend(inner.into_iter().filter(|e| e.pointer == child(key)));
                }
            }
        }
    }
}

fn array(
    document: &Value,
    schema: &Value,
    items: &[Value],
    at: &str,
    depth: usize,
    out: &mut Vec<Edit>,
) {
    let list = |len: usize| -> Option<Value> {
        let last = items.last()?;
        let mut list: Vec<Value> = items.iter().take(len).cloned().collect();
        while list.len() < len {
            list.push(last.clone());
        }
        Some(Value::from(list))
    };
    if let Some(min) = count(schema, "minItems").filter(|min| *min > 0) {
        if let Some(fewer) = min
            .checked_sub(1)
            .and_then(|n| list(n).or(Some(Value::from(Vec::<Value>::new()))))
        {
            out.push(Edit {
                rule: Rule::TooFewItems,
                pointer: at.to_owned(),
                value: Some(fewer),
            });
        }
    }
    if let Some(max) = count(schema, "maxItems") {
        for (rule, len) in [
            (Rule::OnBound, Some(max)),
            (Rule::TooManyItems, max.checked_add(1)),
        ] {
            if let Some(value) = len.filter(|n| *n <= 1_000).and_then(list) {
                out.push(Edit {
                    rule,
                    pointer: at.to_owned(),
                    value: Some(value),
                });
            }
        }
    }
    if let (Some(first), Some(declared)) = (items.first(), schema.get("items")) {
        walk(
            document,
            declared,
            first,
            &format!("{at}/0"),
            depth.saturating_add(1),
            out,
        );
    }
}

/// A non-negative count keyword (`minItems`, `maxLength`) as a `usize`.
fn count(schema: &Value, keyword: &str) -> Option<usize> {
    schema
        .get(keyword)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
}

fn bounds(schema: &Value, number: &Number, at: &str, out: &mut Vec<Edit>) {
    let integer = schema.get("type").and_then(Value::as_str) == Some("integer");
    let edit = |rule, value: Value| Edit {
        rule,
        pointer: at.to_owned(),
        value: Some(value),
    };
    if integer {
        if number.is_i64() || number.is_u64() {
            out.push(edit(
                Rule::WrongType,
                Value::from(number.as_f64().unwrap_or(0.0) + 0.5),
            ));
        }
        // Each bound: its exclusive flag, which way is inside, and the rule past it.
        let exclusive = |key: &str| schema.get(key) == Some(&Value::Bool(true));
        for (key, flag, inward, past) in [
            ("minimum", "exclusiveMinimum", 1i64, Rule::BelowMinimum),
            ("maximum", "exclusiveMaximum", -1, Rule::AboveMaximum),
        ] {
            let Some(bound) = schema.get(key).and_then(Value::as_i64) else {
                continue;
            };
            let inside = if exclusive(flag) {
                bound.checked_add(inward)
            } else {
                Some(bound)
            };
            if let Some(inside) = inside {
                out.push(edit(Rule::OnBound, Value::from(inside)));
                if let Some(outside) = inside.checked_sub(inward) {
                    out.push(edit(past, Value::from(outside)));
                }
            }
        }
    } else {
        for (key, outward, past) in [
            ("minimum", -1.0, Rule::BelowMinimum),
            ("maximum", 1.0, Rule::AboveMaximum),
        ] {
            if let Some(bound) = schema.get(key).and_then(Value::as_f64) {
                out.push(edit(Rule::OnBound, Value::from(bound)));
                out.push(edit(past, Value::from(bound + outward)));
            }
        }
    }
}

fn string(schema: &Value, text: &str, at: &str, out: &mut Vec<Edit>) {
    let edit = |rule, value: String| Edit {
        rule,
        pointer: at.to_owned(),
        value: Some(Value::from(value)),
    };
    if let Some(min) = count(schema, "minLength").filter(|n| *n > 0) {
        let shorter: String = text.chars().take(min.saturating_sub(1)).collect();
        out.push(edit(Rule::TooShort, shorter));
    }
    if let Some(max) = count(schema, "maxLength").filter(|n| *n <= 100_000) {
        let fill = text.chars().next().unwrap_or('a');
        let on: String = std::iter::repeat_n(fill, max).collect();
        let mut over = on.clone();
        over.push(fill);
        out.push(edit(Rule::OnBound, on));
        out.push(edit(Rule::TooLong, over));
    }
    if schema.get("pattern").is_some() || schema.get("format").is_some() {
        out.push(edit(Rule::Malformed, "not a well-formed value".to_owned()));
    }
}

/// A value of another JSON type than `schema` declares, of the same "size" as `value`.
fn wrong_type(schema: &Value, value: &Value) -> Option<Value> {
    let declared = schema.get("type")?.as_str()?;
    Some(match declared {
        "string" => Value::from(7),
        "integer" | "number" => Value::from(value.to_string()),
        "boolean" => Value::from("true"),
        "array" => match value.as_array().and_then(|items| items.first()) {
            Some(first) => first.clone(),
            None => Value::from("not a list"),
        },
        "object" => Value::from(Vec::<Value>::new()),
        _ => return None,
    })
}

/// A value outside `options` of the same JSON type as `value`.
fn outside_enum(options: &[Value], value: &Value) -> Option<Value> {
    let candidate = match value {
        Value::String(_) => Value::from("not-a-documented-value"),
        Value::Number(_) => {
            let largest = options.iter().filter_map(Value::as_i64).max().unwrap_or(0);
            Value::from(largest.checked_add(1)?)
        }
        Value::Bool(b) => Value::from(!b),
        _ => return None,
    };
    (!options.contains(&candidate)).then_some(candidate)
}

/// A value the schema most likely accepts: its `default`, `example` or first `enum` value, or
/// one built from its type and bounds.
fn sample(document: &Value, schema: &Value, depth: usize) -> Option<Value> {
    let schema = effective(document, schema, &Value::Null, depth)?;
    for key in ["default", "example"] {
        if let Some(value) = schema.get(key) {
            return Some(value.clone());
        }
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|o| o.first())
    {
        return Some(first.clone());
    }
    let kind = schema.get("type").and_then(Value::as_str)?;
    Some(match kind {
        "integer" => Value::from(schema.get("minimum").and_then(Value::as_i64).unwrap_or(1)),
        "number" => Value::from(schema.get("minimum").and_then(Value::as_f64).unwrap_or(1.0)),
        "boolean" => Value::from(true),
        "string" => Value::from(match schema.get("format").and_then(Value::as_str) {
            Some("uri") => "https://example.com/sample.png".to_owned(),
            Some("uuid") => "00000000-0000-4000-8000-000000000000".to_owned(),
            _ => "a".repeat(count(&schema, "minLength").unwrap_or(1).clamp(1, 64)),
        }),
        "array" => {
            let item = sample(document, schema.get("items")?, depth.saturating_add(1))?;
            let len = count(&schema, "minItems").unwrap_or(1).clamp(1, 16);
            Value::from(vec![item; len])
        }
        "object" => {
            let mut map = Map::new();
            let properties = schema.get("properties").and_then(Value::as_object);
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let declared = properties.and_then(|p| p.get(name))?;
                map.insert(
                    name.to_owned(),
                    sample(document, declared, depth.saturating_add(1))?,
                );
            }
            Value::Object(map)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document() -> Value {
        json!({"components": {"schemas": {
            "Body": {"type": "object", "additionalProperties": false, "required": ["prompt"], "properties": {
                "prompt": {"type": "string", "minLength": 1, "maxLength": 5},
                "duration": {"type": "integer", "minimum": 3, "maximum": 15},
                "images": {"type": "array", "maxItems": 2, "items": {"type": "string", "format": "uri"}},
                "size": {"type": "string", "enum": ["720p", "1080p"]}
            }}
        }}})
    }

    fn rules_at(edits: &[Edit], pointer: &str) -> Vec<(Rule, Option<Value>)> {
        edits
            .iter()
            .filter(|e| e.pointer == pointer)
            .map(|e| (e.rule, e.value.clone()))
            .collect()
    }

    #[test]
    fn every_rule_is_aimed_at_from_both_sides() {
        let doc = document();
        let body = json!({"prompt": "hi", "duration": 5, "images": ["https://a.example/x.png"]});
        let edits = edits(&doc, &json!({"$ref": "#/components/schemas/Body"}), &body);
        let duration = rules_at(&edits, "/duration");
        for expected in [
            (Rule::OnBound, Some(json!(3))),
            (Rule::BelowMinimum, Some(json!(2))),
            (Rule::OnBound, Some(json!(15))),
            (Rule::AboveMaximum, Some(json!(16))),
            (Rule::WrongType, Some(json!("5"))),
            (Rule::OptionalField, None),
        ] {
            assert!(duration.contains(&expected), "{expected:?} in {duration:?}");
        }
        let images = rules_at(&edits, "/images");
        assert!(images.contains(&(
            Rule::TooManyItems,
            Some(json!([
                "https://a.example/x.png",
                "https://a.example/x.png",
                "https://a.example/x.png"
            ]))
        )));
        assert!(rules_at(&edits, "/images/0")
            .contains(&(Rule::Malformed, Some(json!("not a well-formed value")))));
        assert!(rules_at(&edits, "/prompt").contains(&(Rule::MissingRequired, None)));
        assert!(rules_at(&edits, "/prompt").contains(&(Rule::TooLong, Some(json!("hhhhhh")))));
        assert!(rules_at(&edits, "/notADocumentedField")
            .contains(&(Rule::UnknownField, Some(json!(1)))));
        // An absent optional field is added, and its own rules tried.
        let size = rules_at(&edits, "/size");
        assert!(size.contains(&(Rule::OptionalField, Some(json!("720p")))));
        assert!(size.contains(&(Rule::NotInEnum, Some(json!("not-a-documented-value")))));
    }

    #[test]
    fn edits_apply_and_remove() {
        let body = json!({"a": {"b": [1, 2]}});
        let set = Edit {
            rule: Rule::WrongType,
            pointer: "/a/b/1".into(),
            value: Some(json!("x")),
        };
        assert_eq!(set.apply(&body), Some(json!({"a": {"b": [1, "x"]}})));
        let remove = Edit {
            rule: Rule::OptionalField,
            pointer: "/a/b".into(),
            value: None,
        };
        assert_eq!(remove.apply(&body), Some(json!({"a": {}})));
        let nowhere = Edit {
            rule: Rule::OptionalField,
            pointer: "/x/y".into(),
            value: None,
        };
        assert_eq!(nowhere.apply(&body), None);
    }

    #[test]
    fn a_looping_reference_ends() {
        let doc = json!({"components": {"schemas": {"A": {"$ref": "#/components/schemas/A"}}}});
        assert!(edits(
            &doc,
            &json!({"$ref": "#/components/schemas/A"}),
            &json!({"x": 1})
        )
        .is_empty());
    }
}
