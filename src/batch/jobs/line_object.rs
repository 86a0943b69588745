//! A line's text as a JSON object, refused when a key appears twice (serde_json would keep
//! the last value silently) or when the line is another JSON value; the problem never quotes
//! the line.

use std::fmt;

use serde::{
    de::{self, MapAccess, SeqAccess, Visitor},
    Deserialize, Deserializer,
};
use serde_json::{error::Category, Map, Value};

use crate::values::text::quoted;

/// A line's JSON object, refused when a key appears twice (serde_json would keep the last
/// value silently) or when the line is another JSON value.
struct LineObject(Map<String, Value>);

impl<'de> Deserialize<'de> for LineObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LineVisitor)
    }
}

struct LineVisitor;

impl LineVisitor {
    /// The error for a line that is JSON but not an object; it never quotes the value.
    fn not_an_object<E: de::Error>(got: &str) -> Result<LineObject, E> {
        Err(E::custom(format_args!("expected a JSON object, got {got}")))
    }
}

impl<'de> Visitor<'de> for LineVisitor {
    type Value = LineObject;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LineObject, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "\"{}\" is given twice; give each field once (JSON readers disagree on which value counts)",
                    quoted(&key)
                )));
            }
            let value: Value = map.next_value()?;
            object.insert(key, value);
        }
        Ok(LineObject(object))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<LineObject, A::Error> {
        Self::not_an_object("an array")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<LineObject, E> {
        Self::not_an_object("a string")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<LineObject, E> {
        Self::not_an_object("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<LineObject, E> {
        Self::not_an_object("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<LineObject, E> {
        Self::not_an_object("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<LineObject, E> {
        Self::not_an_object("a number")
    }

    fn visit_unit<E: de::Error>(self) -> Result<LineObject, E> {
        Self::not_an_object("null")
    }
}

/// The line's object, or why it is not one.
pub(super) fn line_object(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<LineObject>(text) {
        Ok(LineObject(object)) => Ok(object),
        Err(err) => {
            // serde_json ends its message with the position; a line has one line.
            let full = err.to_string();
            let suffix = format!(" at line {} column {}", err.line(), err.column());
            let message = full.strip_suffix(&suffix).unwrap_or(&full);
            Err(match err.classify() {
                Category::Data => format!("{message} (column {})", err.column()),
                _ => format!("not JSON: {message} (column {})", err.column()),
            })
        }
    }
}
