//! Near misses: edits at a JSON pointer applied to a valid base body.

use proptest::{collection::vec, option, prelude::*, sample::select, strategy::Union};
use serde_json::Value;

use super::pools::{misc_values, UNKNOWN_FIELDS};

/// One change to a body at a JSON pointer. An edit whose parent is absent (or whose pointer
/// has no `/`) does nothing.
#[derive(Clone, Debug)]
pub(crate) enum Edit {
    Set(String, Value),
    Remove(&'static str),
}

pub(crate) fn apply(mut body: Value, edit: &Edit) -> Value {
    let (pointer, value) = match edit {
        Edit::Set(pointer, value) => (pointer.as_str(), Some(value)),
        Edit::Remove(pointer) => (*pointer, None),
    };
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return body;
    };
    match (body.pointer_mut(parent), value) {
        (Some(Value::Object(map)), Some(value)) => {
            map.insert(key.to_owned(), value.clone());
        }
        (Some(Value::Object(map)), None) => {
            map.remove(key);
        }
        (Some(Value::Array(items)), value) => {
            if let Some(i) = key.parse::<usize>().ok().filter(|i| *i < items.len()) {
                match value {
                    Some(value) => items[i] = value.clone(),
                    None => {
                        items.remove(i);
                    }
                }
            }
        }
        _ => {}
    }
    body
}

pub(crate) fn set(pointer: &'static str, values: Vec<Value>) -> BoxedStrategy<Edit> {
    select(values)
        .prop_map(move |v| Edit::Set(pointer.to_owned(), v))
        .boxed()
}

pub(crate) fn set_from(pointer: &'static str, values: BoxedStrategy<Value>) -> BoxedStrategy<Edit> {
    values
        .prop_map(move |v| Edit::Set(pointer.to_owned(), v))
        .boxed()
}

pub(crate) fn remove(pointers: Vec<&'static str>) -> BoxedStrategy<Edit> {
    select(pointers).prop_map(Edit::Remove).boxed()
}

pub(crate) fn unknown_field(parents: Vec<&'static str>) -> BoxedStrategy<Edit> {
    (
        select(parents),
        select(UNKNOWN_FIELDS.to_vec()),
        select(misc_values()),
    )
        .prop_map(|(parent, name, value)| Edit::Set(format!("{parent}/{name}"), value))
        .boxed()
}

/// A valid base with zero to three edits; about two cases in five are left unedited.
pub(crate) fn edited(
    base: BoxedStrategy<Value>,
    edits: Vec<BoxedStrategy<Edit>>,
) -> BoxedStrategy<Value> {
    let edit = Union::new(edits);
    let edits = prop_oneof![2 => Just(Vec::new()), 3 => vec(edit, 1..=3)];
    (base, edits)
        .prop_map(|(base, edits)| edits.iter().fold(base, apply))
        .boxed()
}

pub(crate) fn insert_some(
    map: &mut serde_json::Map<String, Value>,
    key: &str,
    value: Option<Value>,
) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value);
    }
}

/// Optional resolution, aspect ratio (from `ratios`) and duration, as valid values.
pub(crate) fn options(
    ratios: &'static [&'static str],
) -> impl Strategy<Value = (Option<Value>, Option<Value>, Option<Value>)> {
    let ratio = match ratios {
        [] => Just(None).boxed(),
        _ => option::of(select(ratios).prop_map(Value::from)).boxed(),
    };
    (
        option::of(select(vec!["720p", "1080p"]).prop_map(Value::from)),
        ratio,
        option::of((3i64..=15).prop_map(Value::from)),
    )
}
