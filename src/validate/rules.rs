//! A small declarative description of a request body, and the walker that checks a JSON value
//! against it, reporting every problem at once.
//!
//! Each provider module states its body as [`Field`]s. The rules are the ones the OpenAPI
//! documents state; the property tests hold the two to the same verdict on every generated body.

use serde_json::{Map, Value};

use super::report::{child, index, Report};
pub(crate) use crate::issue::type_name;
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

fn quoted_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks `value` at `path` against `rule`, adding every problem to `report`.
pub(crate) fn check(value: &Value, rule: &Rule, path: &str, report: &mut Report) {
    match rule {
        Rule::Str {
            min_chars,
            max_chars,
            url,
        } => {
            let Some(text) = value.as_str() else {
                return report.error(path, format!("got {}, want string", type_name(value)));
            };
            let chars = text.chars().count();
            if chars < *min_chars {
                report.error(path, format!("minLength: got {chars}, want {min_chars}"));
            }
            if let Some(max) = max_chars.filter(|max| chars > *max) {
                report.error(path, format!("maxLength: got {chars}, want {max}"));
            }
            if let Some(problem) = url.and_then(|rule| rule.check(text)) {
                report.error(path, problem);
            }
        }
        Rule::Int { min, max } => match value.as_i64() {
            Some(n) if n < *min => report.error(path, format!("minimum: got {n}, want {min}")),
            Some(n) if n > *max => report.error(path, format!("maximum: got {n}, want {max}")),
            Some(_) => {}
            // Beyond i64 (a huge u64) is out of range too.
            None if value.is_u64() => {
                report.error(path, format!("maximum: got {value}, want {max}"))
            }
            None => report.error(path, format!("got {}, want integer", type_name(value))),
        },
        Rule::Enum(allowed) => match value.as_str() {
            Some(text) if allowed.contains(&text) => {}
            Some(_) => report.error(
                path,
                format!("value must be one of {}", quoted_list(allowed)),
            ),
            None => report.error(path, format!("got {}, want string", type_name(value))),
        },
        Rule::List { min, max, item } => {
            let Some(items) = value.as_array() else {
                return report.error(path, format!("got {}, want array", type_name(value)));
            };
            if items.len() < *min {
                report.error(path, format!("minItems: got {}, want {min}", items.len()));
            }
            if items.len() > *max {
                report.error(path, format!("maxItems: got {}, want {max}", items.len()));
            }
            for (i, v) in items.iter().enumerate() {
                check(v, item, &index(path, i), report);
            }
        }
        Rule::Object(fields) => {
            let Some(map) = value.as_object() else {
                return report.error(path, format!("got {}, want object", type_name(value)));
            };
            check_object(map, fields, path, report);
        }
    }
}

/// Checks an object's fields: missing required ones, unknown ones, and each present one.
pub(crate) fn check_object(
    map: &Map<String, Value>,
    fields: &[Field],
    path: &str,
    report: &mut Report,
) {
    let missing: Vec<&str> = fields
        .iter()
        .filter(|f| f.required && !map.contains_key(f.name))
        .map(|f| f.name)
        .collect();
    if !missing.is_empty() {
        let names = missing.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>();
        let noun = if names.len() == 1 {
            "property"
        } else {
            "properties"
        };
        report.error(path, format!("missing {noun} {}", names.join(", ")));
    }
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| !fields.iter().any(|f| f.name == k.as_str()))
        .map(|k| format!("'{k}'"))
        .collect();
    if !unknown.is_empty() {
        report.error(
            path,
            format!("additional properties {} not allowed", unknown.join(", ")),
        );
    }
    for field in fields {
        if let Some(value) = map.get(field.name) {
            check(value, &field.rule, &child(path, field.name), report);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        check(&value, rule, "input.x", &mut report);
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
        check_object(body.as_object().unwrap(), FIELDS, "input", &mut report);
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
