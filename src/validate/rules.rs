//! A small declarative description of a request body, and the walker that checks a JSON value
//! against it, reporting every problem at once.
//!
//! Each provider module states its body as [`Field`]s. The rules are the ones the OpenAPI
//! documents state; the property tests hold the two to the same verdict on every generated body.

use std::{fmt, ops::ControlFlow};

use serde_json::{Map, Value};

use super::report::{Flow, Path, Sink};
pub(crate) use crate::issue::type_name;
use crate::values::text::quoted;
use crate::values::url;
use crate::values::{Resolution, VideoDuration};

/// What a value must be.
pub(crate) enum Rule {
    /// A string, with character-count bounds and an optional URL rule.
    Str {
        min_chars: usize,
        max_chars: Option<usize>,
        url: Option<url::UrlRule>,
    },
    /// A whole number within bounds.
    Int { min: i64, max: i64 },
    /// One of a closed set of strings.
    Enum(&'static [&'static str]),
    /// An array whose length is within bounds, each item following `item`.
    List {
        min: usize,
        max: usize,
        item: &'static Rule,
    },
    /// An object with exactly these fields (unknown properties are refused).
    Object(&'static [Field]),
}

/// One property of an object.
pub(crate) struct Field {
    pub name: &'static str,
    pub required: bool,
    pub rule: Rule,
}

impl Field {
    /// A property the object must have.
    pub(crate) const fn required(name: &'static str, rule: Rule) -> Field {
        Field {
            name,
            required: true,
            rule,
        }
    }

    /// A property the object may have.
    pub(crate) const fn optional(name: &'static str, rule: Rule) -> Field {
        Field {
            name,
            required: false,
            rule,
        }
    }
}

/// `720p` or `1080p`, on every provider.
pub(crate) const RESOLUTION: Rule = Rule::Enum(&Resolution::NAMES);
/// Whole seconds from 3 to 15, on every provider.
pub(crate) const DURATION: Rule = Rule::Int {
    min: VideoDuration::MIN as i64,
    max: VideoDuration::MAX as i64,
};

/// A string of `min_chars` or more characters, and at most `max_chars` when given.
pub(crate) const fn text(min_chars: usize, max_chars: Option<usize>) -> Rule {
    Rule::Str {
        min_chars,
        max_chars,
        url: None,
    }
}

/// A URL string under `rule`.
pub(crate) const fn url(rule: url::UrlRule) -> Rule {
    Rule::Str {
        min_chars: 0,
        max_chars: None,
        url: Some(rule),
    }
}

/// The most fields any object of the tables has; checked by a test. An object with more is
/// still checked right, with map look-ups for the fields past this many.
pub(crate) const MAX_FIELDS: usize = 8;

/// `"a", "b", "c"`: the allowed values of an enum, as the providers quote them.
struct Quoted(&'static [&'static str]);

impl fmt::Display for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{v:?}")?;
        }
        Ok(())
    }
}

/// `'a', 'b'`: names in single quotes, comma-separated, each quoted as every outside value is
/// (an unknown key is the body's, of any length), and at most [`MAX_NAMES`] of them.
fn write_names<'n>(
    f: &mut fmt::Formatter<'_>,
    names: impl Iterator<Item = &'n str>,
) -> fmt::Result {
    let mut count = 0usize;
    for (i, name) in names.enumerate() {
        if i >= MAX_NAMES {
            count = i.saturating_add(1);
            continue;
        }
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "'{}'", quoted(name))?;
    }
    if count > MAX_NAMES {
        write!(f, " and {} more", count.saturating_sub(MAX_NAMES))?;
    }
    Ok(())
}

/// The most names one message lists (a body may have any number of unknown keys).
const MAX_NAMES: usize = 8;

/// `property 'a'` or `properties 'a', 'b'`: the required fields absent from an object.
struct Missing<'a> {
    fields: &'static [Field],
    map: &'a Map<String, Value>,
}

impl Missing<'_> {
    fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields
            .iter()
            .filter(|f| f.required && !self.map.contains_key(f.name))
            .map(|f| f.name)
    }
}

impl fmt::Display for Missing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.names().count() == 1 {
            "property"
        } else {
            "properties"
        };
        write!(f, "{noun} ")?;
        write_names(f, self.names())
    }
}

/// `'x', 'y'`: an object's keys that no field names (but `skip`), in the map's order.
struct Unknown<'a> {
    fields: &'static [Field],
    map: &'a Map<String, Value>,
    skip: Option<&'a str>,
}

impl fmt::Display for Unknown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_names(
            f,
            self.map.keys().map(String::as_str).filter(|k| {
                Some(*k) != self.skip && !self.fields.iter().any(|field| field.name == *k)
            }),
        )
    }
}

/// `a == b`, compared in line, eight bytes at a time: the names and enum values compared here
/// are a few bytes long, where a call to `memcmp` costs more than the comparison.
#[inline]
pub(crate) fn same(a: &str, b: &str) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a_words, a_tail) = a.as_bytes().as_chunks::<8>();
    let (b_words, b_tail) = b.as_bytes().as_chunks::<8>();
    a_words.iter().zip(b_words).all(|(x, y)| x == y)
        && a_tail.iter().zip(b_tail).all(|(x, y)| x == y)
}

/// Checks `value` at `path` against `rule`, giving every problem to `sink` (until it breaks).
pub(crate) fn check<S: Sink>(value: &Value, rule: &Rule, path: Path<'_>, sink: &mut S) -> Flow {
    match rule {
        Rule::Str {
            min_chars,
            max_chars,
            url,
        } => {
            let Some(text) = value.as_str() else {
                return sink.error(path, format_args!("got {}, want string", type_name(value)));
            };
            // A character takes one to four bytes: count them only when the byte length
            // leaves the bounds in doubt.
            let min_in_doubt = *min_chars > 0 && text.len() < min_chars.saturating_mul(4);
            let max_in_doubt = max_chars.is_some_and(|max| text.len() > max);
            if min_in_doubt || max_in_doubt {
                let chars = text.chars().count();
                if chars < *min_chars {
                    sink.error(
                        path,
                        format_args!("minLength: got {chars}, want {min_chars}"),
                    )?;
                }
                if let Some(max) = max_chars.filter(|max| chars > *max) {
                    sink.error(path, format_args!("maxLength: got {chars}, want {max}"))?;
                }
            }
            if let Some(problem) = url.and_then(|rule| rule.check(text)) {
                sink.error(path, format_args!("{problem}"))?;
            }
            ControlFlow::Continue(())
        }
        Rule::Int { min, max } => match value.as_i64() {
            Some(n) if n < *min => sink.error(path, format_args!("minimum: got {n}, want {min}")),
            Some(n) if n > *max => sink.error(path, format_args!("maximum: got {n}, want {max}")),
            Some(_) => ControlFlow::Continue(()),
            // Beyond i64 (a huge u64) is out of range too.
            None if value.is_u64() => {
                sink.error(path, format_args!("maximum: got {value}, want {max}"))
            }
            None => sink.error(path, format_args!("got {}, want integer", type_name(value))),
        },
        Rule::Enum(allowed) => match value.as_str() {
            Some(text) if allowed.iter().any(|a| same(a, text)) => ControlFlow::Continue(()),
            Some(_) => sink.error(
                path,
                format_args!("value must be one of {}", Quoted(allowed)),
            ),
            None => sink.error(path, format_args!("got {}, want string", type_name(value))),
        },
        Rule::List { min, max, item } => {
            let Some(items) = value.as_array() else {
                return sink.error(path, format_args!("got {}, want array", type_name(value)));
            };
            if items.len() < *min {
                sink.error(
                    path,
                    format_args!("minItems: got {}, want {min}", items.len()),
                )?;
            }
            if items.len() > *max {
                sink.error(
                    path,
                    format_args!("maxItems: got {}, want {max}", items.len()),
                )?;
            }
            for (i, v) in items.iter().enumerate() {
                check(v, item, Path::Index(&path, i), sink)?;
            }
            ControlFlow::Continue(())
        }
        Rule::Object(fields) => {
            let Some(map) = value.as_object() else {
                return sink.error(path, format_args!("got {}, want object", type_name(value)));
            };
            check_object(map, fields, None, path, sink)
        }
    }
}

/// Checks an object's fields: missing required ones, unknown ones, and each present one, in
/// that order. A key equal to `skip` (which names no field) is passed over, as if absent.
pub(crate) fn check_object<S: Sink>(
    map: &Map<String, Value>,
    fields: &'static [Field],
    skip: Option<&str>,
    path: Path<'_>,
    sink: &mut S,
) -> Flow {
    let scan = Scan::new(map, fields, skip);
    scan.check(path, sink)
}

/// One pass over an object's keys: the value of each field, and whether a key is unknown or
/// skipped. [`Scan::check`] then reports on it.
pub(crate) struct Scan<'v> {
    map: &'v Map<String, Value>,
    fields: &'static [Field],
    skip: Option<&'v str>,
    /// The value of `fields[i]`, for the first [`MAX_FIELDS`] fields.
    values: [Option<&'v Value>; MAX_FIELDS],
    unknown: bool,
    /// Whether the object has the `skip` key.
    pub(crate) skipped: bool,
}

impl<'v> Scan<'v> {
    pub(crate) fn new(
        map: &'v Map<String, Value>,
        fields: &'static [Field],
        skip: Option<&'v str>,
    ) -> Self {
        debug_assert!(!fields.iter().any(|f| Some(f.name) == skip));
        let mut scan = Scan {
            map,
            fields,
            skip,
            values: [None; MAX_FIELDS],
            unknown: false,
            skipped: false,
        };
        for (key, value) in map {
            match fields.iter().position(|f| same(f.name, key)) {
                Some(i) => {
                    if let Some(slot) = scan.values.get_mut(i) {
                        *slot = Some(value);
                    }
                }
                None if skip.is_some_and(|skip| same(skip, key)) => scan.skipped = true,
                None => scan.unknown = true,
            }
        }
        scan
    }

    /// The value of `fields[i]`, named `name`.
    fn value(&self, i: usize, name: &str) -> Option<&'v Value> {
        match self.values.get(i) {
            Some(value) => *value,
            // Past the array (no table is that wide): look it up.
            None => self.map.get(name),
        }
    }

    /// Reports missing required fields, unknown keys, then checks each present field.
    pub(crate) fn check<S: Sink>(&self, path: Path<'_>, sink: &mut S) -> Flow {
        let Scan {
            map, fields, skip, ..
        } = *self;
        let missing = fields
            .iter()
            .enumerate()
            .any(|(i, f)| f.required && self.value(i, f.name).is_none());
        if missing {
            sink.error(path, format_args!("missing {}", Missing { fields, map }))?;
        }
        if self.unknown {
            sink.error(
                path,
                format_args!(
                    "additional properties {} not allowed",
                    Unknown { fields, map, skip }
                ),
            )?;
        }
        for (i, field) in fields.iter().enumerate() {
            if let Some(value) = self.value(i, field.name) {
                check(value, &field.rule, Path::Field(&path, field.name), sink)?;
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Report;
    use serde_json::json;

    const DURATION: Rule = Rule::Int { min: 3, max: 15 };
    const URLS: Rule = Rule::List {
        min: 1,
        max: 9,
        item: &Rule::Str {
            min_chars: 0,
            max_chars: None,
            url: None,
        },
    };

    fn errors(value: Value, rule: &Rule) -> Vec<String> {
        let mut report = Report::default();
        let input = Path::Field(&Path::Root, "input");
        let _ = check(&value, rule, Path::Field(&input, "x"), &mut report);
        report.errors.iter().map(|i| i.message.clone()).collect()
    }

    #[test]
    fn integers_report_bounds_and_types_in_the_providers_words() {
        assert_eq!(errors(json!(0), &DURATION), ["minimum: got 0, want 3"]);
        assert_eq!(errors(json!(20), &DURATION), ["maximum: got 20, want 15"]);
        assert_eq!(errors(json!(5.5), &DURATION), ["got number, want integer"]);
        assert_eq!(errors(json!("5"), &DURATION), ["got string, want integer"]);
        assert_eq!(errors(json!(u64::MAX), &DURATION).len(), 1);
        assert!(errors(json!(3), &DURATION).is_empty());
    }

    #[test]
    fn lists_report_their_length_and_type() {
        assert_eq!(errors(json!("a"), &URLS), ["got string, want array"]);
        assert_eq!(
            errors(json!(vec!["a"; 10]), &URLS),
            ["maxItems: got 10, want 9"]
        );
        assert_eq!(errors(json!([]), &URLS), ["minItems: got 0, want 1"]);
        assert_eq!(errors(json!([1]), &URLS), ["got integer, want string"]);
    }

    #[test]
    fn objects_report_missing_and_unknown_fields_together() {
        const FIELDS: &[Field] = &[Field {
            name: "prompt",
            required: true,
            rule: Rule::Str {
                min_chars: 1,
                max_chars: None,
                url: None,
            },
        }];
        let mut report = Report::default();
        let body = json!({"seed": 1, "audio": true});
        let path = Path::Field(&Path::Root, "input");
        let _ = check_object(body.as_object().unwrap(), FIELDS, None, path, &mut report);
        let messages: Vec<_> = report.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "input: missing property 'prompt'",
                "input: additional properties 'audio', 'seed' not allowed"
            ]
        );
    }
}
