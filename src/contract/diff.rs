//! What an edit of a document does to a caller: two versions of an OpenAPI 3.0 document
//! compared, each change classified as breaking or compatible for code that calls the API
//! through this crate, with the JSON Pointer where it is and its effect on the generated Rust
//! API.
//!
//! A change is **breaking** when a caller who upgrades to the client generated from the new
//! document can be hurt by it: a request that was valid is refused, an answer that was read
//! is not, or code written against the old generated types no longer compiles. The direction
//! decides what "stricter" means:
//!
//! - in what a caller *sends* (parameters and request bodies) an enum value removed, a bound
//!   tightened (a larger `minimum`, `minLength` or `minItems`, a smaller maximum, an exclusive
//!   flag set, a new or changed `pattern` or `format`), a field removed (the documents refuse
//!   unknown fields, and the generated struct loses it), a field made required, a new required
//!   field or parameter and a changed type are breaking; the opposite edits are compatible;
//! - in what a caller *receives* (answers) a field removed, retyped, or moved between required
//!   and optional (the generated field changes between `T` and `Option<T>`), any change to the
//!   values of an enum (typify makes closed Rust enums: a new value fails to parse, a removed
//!   one removes a variant code may name), a closed schema (`additionalProperties: false`), and
//!   a tighter length or pattern on a string the generated newtype checks are breaking. A field
//!   added to an answer is compatible, even in a closed schema: the regenerated client reads
//!   it (it is a client built from the *old* document that refuses such answers, whatever the
//!   documents say); the other answer bounds are not checked by the generated code.
//! - A schema reached from both is read both ways and the stricter class kept. A component no
//!   operation reaches is read both ways too; a component removed is breaking (its type goes).
//! - Removing an operation, a parameter, a media type or a documented status is breaking;
//!   adding one is compatible unless it is a required parameter.
//! - A change that renames or retypes a generated type (a new integer type picked from the
//!   bounds, a plain `String` becoming a checked newtype, an inline schema becoming a
//!   component) is breaking whatever its direction.
//!
//! Descriptions, examples, defaults and response headers are not compared (progenitor reads
//! none of them into signatures); `links` are listed as compatible, for the tools that follow
//! them. A part of a document that cannot be compared (a `$ref` that does not resolve, a
//! document that is not an object) is reported as a breaking change whose `what` starts with
//! [`COULD_NOT_COMPARE`]: nothing unverified passes as compatible.
//!
//! The Rust effects name the types the way progenitor and typify do with the settings of
//! `build.rs` (component `Body` → `types::Body`, property `resolution` of it → field
//! `resolution`, an inline enum there → `types::BodyResolution` with variants like `X1080p`,
//! operation `get_task` → `Client::get_task`); inline names are predicted, so they are
//! "likely" for shapes the real documents do not have.
//!
//! ```
//! use happyhorse::contract::diff::{compare, Class};
//! use serde_json::json;
//!
//! let old = json!({"openapi": "3.0.3", "paths": {"/tasks": {"post": {
//!     "operationId": "create_task",
//!     "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Body"}}}},
//!     "responses": {"200": {"description": "ok"}}
//! }}}, "components": {"schemas": {"Body": {"type": "object", "properties": {
//!     "duration": {"type": "integer", "minimum": 3, "maximum": 15},
//!     "resolution": {"type": "string", "enum": ["720p", "1080p"]}
//! }}}}});
//! let mut new = old.clone();
//! new["components"]["schemas"]["Body"]["properties"]["duration"]["maximum"] = json!(10);
//! new["components"]["schemas"]["Body"]["properties"]["resolution"]["enum"] =
//!     json!(["720p", "1080p", "4k"]);
//!
//! let report = compare(&old, &new);
//! let breaking: Vec<_> = report.breaking().collect();
//! assert_eq!(breaking.len(), 1);
//! assert_eq!(breaking[0].path, "/components/schemas/Body/properties/duration/maximum");
//! let compatible: Vec<_> = report.compatible().collect();
//! assert_eq!(compatible[0].class, Class::Compatible);
//! assert!(compatible[0].rust.contains("`types::BodyResolution` gains variant `X4k`"));
//! assert!(report.has_breaking());
//! ```

mod naming;

use std::{collections::BTreeSet, fmt, sync::LazyLock};

use serde_json::{Map, Value};

use super::{escape, is_method, unescape};

pub use naming::rust_integer_type;
use naming::{is_checked_string, pascal_case, rust_type, shape, snake_case, variant_name};

/// The words every "could not compare" entry's `what` begins with.
pub const COULD_NOT_COMPARE: &str = "could not compare";

/// How a change affects a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Requests that worked may be refused, answers may no longer be read as before, or code
    /// written against the old generated types may no longer compile.
    Breaking,
    /// Everything that worked still works.
    Compatible,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Class::Breaking => "breaking",
            Class::Compatible => "compatible",
        })
    }
}

/// One difference between the two documents.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Breaking or compatible, for a caller.
    pub class: Class,
    /// A JSON Pointer to where the change is: in the new document, or in the old one for what
    /// was removed (`""` for a whole document).
    pub path: String,
    /// What changed and what it means for a caller.
    pub what: String,
    /// What it does to the code progenitor generates from the document.
    pub rust: String,
    /// The old value, when there is one to show.
    pub old: Option<Value>,
    /// The new value, when there is one to show.
    pub new: Option<Value>,
}

impl Change {
    /// Whether this entry says part of the documents could not be compared (such entries are
    /// breaking, so that nothing unverified passes).
    pub fn is_uncompared(&self) -> bool {
        self.what.starts_with(COULD_NOT_COMPARE)
    }
}

/// Every change between two documents, breaking ones first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// The changes, breaking first, then by path.
    pub changes: Vec<Change>,
}

impl Report {
    /// Whether any change is breaking.
    pub fn has_breaking(&self) -> bool {
        self.changes.iter().any(|c| c.class == Class::Breaking)
    }

    /// The breaking changes.
    pub fn breaking(&self) -> impl Iterator<Item = &Change> {
        self.of(Class::Breaking)
    }

    /// The compatible changes.
    pub fn compatible(&self) -> impl Iterator<Item = &Change> {
        self.of(Class::Compatible)
    }

    /// The changes of `class`.
    pub fn of(&self, class: Class) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.class == class)
    }

    /// Whether the documents are the same for a caller.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for class in [Class::Breaking, Class::Compatible] {
            let changes: Vec<&Change> = self.of(class).collect();
            if changes.is_empty() {
                continue;
            }
            let heading = match class {
                Class::Breaking => "Breaking",
                Class::Compatible => "Compatible",
            };
            writeln!(f, "{heading} ({}):", changes.len())?;
            for change in changes {
                write!(f, "  {}", change.path)?;
                match (&change.old, &change.new) {
                    (_, Some(value)) if change.is_uncompared() => write!(f, ": {}", short(value))?,
                    (Some(old), Some(new)) => write!(f, ": {} → {}", short(old), short(new))?,
                    (Some(old), None) => write!(f, ": {} removed", short(old))?,
                    (None, Some(new)) => write!(f, ": {} added", short(new))?,
                    (None, None) => {}
                }
                writeln!(f)?;
                writeln!(f, "      {}", change.what)?;
                writeln!(f, "      Rust: {}", change.rust)?;
            }
        }
        let breaking = self.breaking().count();
        write!(
            f,
            "{breaking} breaking, {} compatible",
            self.changes.len().saturating_sub(breaking)
        )
    }
}

/// A value in one line, long ones cut.
fn short(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 60 {
        let head: String = text.chars().take(57).collect();
        format!("{head}...")
    } else {
        text
    }
}

/// Compares two versions of one document (parsed, as JSON values). Never panics: what cannot
/// be compared is reported (see [`Change::is_uncompared`]).
pub fn compare(old: &Value, new: &Value) -> Report {
    let mut changes = shape_problems("old", old);
    changes.extend(shape_problems("new", new));
    if old.is_object() && new.is_object() {
        let mut walk = Walk {
            old,
            new,
            changes: Vec::new(),
            seen: BTreeSet::new(),
            reached: BTreeSet::new(),
        };
        walk.operations();
        walk.components();
        changes.extend(walk.changes);
    }
    Report {
        changes: settle(changes),
    }
}

/// One entry per change, in report order: a change found in both directions (a schema used in
/// requests and answers) keeps its stricter reading.
fn settle(mut changes: Vec<Change>) -> Vec<Change> {
    let values = |c: &Change| {
        (
            c.old.as_ref().map(Value::to_string),
            c.new.as_ref().map(Value::to_string),
        )
    };
    changes.sort_by(|a, b| (&a.path, values(a), a.class).cmp(&(&b.path, values(b), b.class)));
    changes.dedup_by(|later, kept| {
        later.path == kept.path && later.old == kept.old && later.new == kept.new
    });
    changes.sort_by(|a, b| (a.class, &a.path).cmp(&(b.class, &b.path)));
    changes
}

/// A "could not compare" entry.
fn uncompared(path: &str, what: &str, value: Option<Value>) -> Change {
    Change {
        class: Class::Breaking,
        path: path.to_owned(),
        what: format!("{COULD_NOT_COMPARE}: {what}"),
        rust: "unknown: compare the snapshots in `tests/snapshots/` after regenerating".to_owned(),
        old: None,
        new: value,
    }
}

/// What makes a document impossible to walk: not an object, or `paths`, `components` or
/// `components/schemas` of the wrong kind.
fn shape_problems(side: &str, document: &Value) -> Vec<Change> {
    if !document.is_object() {
        return vec![uncompared(
            "",
            &format!("the {side} document is not a JSON object"),
            None,
        )];
    }
    ["/paths", "/components", "/components/schemas"]
        .into_iter()
        .filter(|pointer| document.pointer(pointer).is_some_and(|v| !v.is_object()))
        .map(|pointer| {
            uncompared(
                pointer,
                &format!("`{pointer}` of the {side} document is not an object"),
                None,
            )
        })
        .collect()
}

/// An empty object, for what a document leaves out.
static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

/// The object at `pointer` in `value`, or an empty one.
fn object_at<'v>(value: &'v Value, pointer: &str) -> &'v Map<String, Value> {
    value
        .pointer(pointer)
        .and_then(Value::as_object)
        .unwrap_or(&EMPTY)
}

/// Which way values travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Dir {
    /// From the caller: requests.
    Sent,
    /// To the caller: answers.
    Received,
}

/// Which of the two documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Old,
    New,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Old => "old",
            Side::New => "new",
        })
    }
}

/// Where a schema sits in the generated code.
#[derive(Clone, Debug, Default)]
struct Owner {
    /// The nearest generated type with fields: a component's, or an inline object's.
    ty: Option<String>,
    /// Inside a `oneOf`/`anyOf` branch of `ty` (typify makes branches enum variants).
    variant: bool,
    /// The field of `ty` (snake case).
    field: Option<String>,
    /// The schema describes the items of that field.
    items: bool,
    /// The field may be absent, so it is an `Option` whatever `nullable` says.
    optional: bool,
    /// The name typify gives an inline type at this spot, when the report can predict it.
    inline: Option<String>,
    /// What to call the spot when it is not in `types` (a parameter, a body).
    label: Option<String>,
}

impl Owner {
    /// A spot outside `types`, like a parameter or a body.
    fn top(label: String, inline: Option<String>) -> Owner {
        Owner {
            label: Some(label),
            inline,
            ..Owner::default()
        }
    }

    /// The component `name` itself.
    fn component(name: &str) -> Owner {
        let ty = pascal_case(name);
        Owner {
            ty: Some(ty.clone()),
            inline: Some(ty),
            ..Owner::default()
        }
    }

    /// An inline object schema that typify names `name`.
    fn object(&self, name: Option<&str>) -> Owner {
        match name {
            Some(name) if self.ty.as_deref() != Some(name) => Owner {
                ty: Some(name.to_owned()),
                inline: Some(name.to_owned()),
                ..Owner::default()
            },
            _ => self.clone(),
        }
    }

    fn property(&self, name: &str, optional: bool) -> Owner {
        Owner {
            ty: self.ty.clone(),
            variant: self.variant,
            field: Some(snake_case(name)),
            items: false,
            optional,
            inline: self
                .inline
                .as_ref()
                .map(|i| format!("{i}{}", pascal_case(name))),
            label: None,
        }
    }

    fn item(&self) -> Owner {
        Owner {
            items: true,
            optional: false,
            inline: self.inline.as_ref().map(|i| format!("{i}Item")),
            ..self.clone()
        }
    }

    fn branch(&self) -> Owner {
        Owner {
            variant: true,
            inline: None,
            ..self.clone()
        }
    }

    /// "field `duration` of `types::Body`", "`types::Body`", "parameter `page()` of ...".
    fn describe(&self) -> String {
        let place = match (&self.label, &self.ty, &self.field) {
            (Some(label), _, _) => label.clone(),
            (None, Some(ty), Some(field)) if self.variant => {
                format!("field `{field}` of a variant of `types::{ty}`")
            }
            (None, Some(ty), Some(field)) => format!("field `{field}` of `types::{ty}`"),
            (None, Some(ty), None) if self.variant => format!("a variant of `types::{ty}`"),
            (None, Some(ty), None) => format!("`types::{ty}`"),
            (None, None, Some(field)) => format!("`{field}`"),
            (None, None, None) => "the generated types".to_owned(),
        };
        if self.items {
            format!("the items of {place}")
        } else {
            place
        }
    }

    /// The generated type of the value here: `types::NAME`, or a description of where.
    fn type_of(&self, name: Option<&str>) -> String {
        match name {
            Some(name) => format!("`types::{name}`"),
            None => format!("the type of {}", self.describe()),
        }
    }
}

/// One schema being compared: its direction, where it is (in the new document), who owns it,
/// the generated names of the old and new type, and how the generated type changes, if it does.
struct Spot {
    dir: Dir,
    at: String,
    owner: Owner,
    name: Option<String>,
    retyped: Option<(String, Value, Value)>,
}

/// How deep the walk follows schemas: far deeper than any real document, and an end for one
/// whose references loop in a way the `seen` set does not catch.
const DEPTH: usize = 48;

/// How many `$ref`s in a row are followed.
const REF_HOPS: usize = 8;

struct Walk<'a> {
    old: &'a Value,
    new: &'a Value,
    changes: Vec<Change>,
    /// (direction, old pointer, new pointer) of the referenced schemas already compared.
    seen: BTreeSet<(Dir, String, String)>,
    /// The component schemas an operation reaches, in either document.
    reached: BTreeSet<String>,
}

impl<'a> Walk<'a> {
    fn push(
        &mut self,
        class: Class,
        path: &str,
        what: impl Into<String>,
        rust: impl Into<String>,
        (old, new): (Option<Value>, Option<Value>),
    ) {
        self.changes.push(Change {
            class,
            path: path.to_owned(),
            what: what.into(),
            rust: rust.into(),
            old,
            new,
        });
    }

    fn document(&self, side: Side) -> &'a Value {
        match side {
            Side::Old => self.old,
            Side::New => self.new,
        }
    }

    /// `value`, or what its local `$ref` points to (chains followed), with the pointer where
    /// it was found; a reference that does not resolve is reported.
    fn resolve(&mut self, side: Side, value: &'a Value, at: String) -> (String, &'a Value) {
        let document = self.document(side);
        let (mut at, mut value) = (at, value);
        for _ in 0..REF_HOPS {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return (at, value);
            };
            let target = reference.strip_prefix('#');
            match target.and_then(|pointer| document.pointer(pointer)) {
                Some(found) => {
                    at = target.unwrap_or_default().to_owned();
                    value = found;
                }
                None => {
                    self.changes.push(uncompared(
                        &at,
                        &format!("`$ref` {reference} in the {side} document does not resolve to a part of it"),
                        Some(Value::from(reference)),
                    ));
                    return (at, value);
                }
            }
        }
        if value.get("$ref").is_some() {
            self.changes.push(uncompared(
                &at,
                &format!("a chain of more than {REF_HOPS} `$ref`s in the {side} document"),
                value.get("$ref").cloned(),
            ));
        }
        (at, value)
    }

    fn operations(&mut self) {
        for (path, items) in paired_at(self.old, self.new, "/paths") {
            let at = format!("/paths/{}", escape(path));
            let (old_item, new_item) = pair_options(&items);
            let (old_item, new_item) = (
                old_item.unwrap_or(&Value::Null),
                new_item.unwrap_or(&Value::Null),
            );
            for (method, ops) in paired_at(old_item, new_item, "") {
                if !is_method(method) {
                    continue;
                }
                let op_at = format!("{at}/{method}");
                match ops {
                    Paired::Removed(old_op) => {
                        let id = method_name(old_op, method, path);
                        self.push(
                            Class::Breaking,
                            &op_at,
                            format!(
                                "operation {} {path} removed: calls to it fail",
                                method.to_ascii_uppercase()
                            ),
                            format!(
                                "method `Client::{id}` and its builder `builder::{}` are removed",
                                pascal_case(&id)
                            ),
                            (Some(Value::from(id.clone())), None),
                        );
                    }
                    Paired::Added(new_op) => {
                        let id = method_name(new_op, method, path);
                        self.push(
                            Class::Compatible,
                            &op_at,
                            format!("operation {} {path} added", method.to_ascii_uppercase()),
                            format!("new method `Client::{id}`"),
                            (None, Some(Value::from(id))),
                        );
                    }
                    Paired::Both(old_op, new_op) => {
                        self.operation(&op_at, (&at, old_item, old_op), (&at, new_item, new_op))
                    }
                }
            }
        }
    }

    fn operation(
        &mut self,
        at: &str,
        old: (&str, &'a Value, &'a Value),
        new: (&str, &'a Value, &'a Value),
    ) {
        let id = method_name(old.2, "", "");
        let new_id = method_name(new.2, "", "");
        if old.2.get("operationId").is_some()
            && new.2.get("operationId") != old.2.get("operationId")
        {
            self.push(
                Class::Breaking,
                &format!("{at}/operationId"),
                "operationId renamed: the generated method is renamed",
                format!("method `Client::{id}` becomes `Client::{new_id}`"),
                (
                    old.2.get("operationId").cloned(),
                    new.2.get("operationId").cloned(),
                ),
            );
        }
        self.parameters(at, &new_id, old, new);
        self.request_body(at, &new_id, old.2, new.2);
        self.responses(at, &new_id, old.2, new.2);
    }

    /// The parameters of an operation, by `in` and name, with the pointer where each is
    /// defined: the path item's, overridden by the operation's own.
    fn parameter_list(
        &mut self,
        side: Side,
        at: &str,
        (item_at, item, op): (&str, &'a Value, &'a Value),
    ) -> Vec<(String, String, &'a Value)> {
        let mut out: Vec<(String, String, &'a Value)> = Vec::new();
        for (list_at, holder) in [
            (format!("{item_at}/parameters"), item),
            (format!("{at}/parameters"), op),
        ] {
            let entries = holder.get("parameters").and_then(Value::as_array);
            for (i, parameter) in entries.into_iter().flatten().enumerate() {
                let (found_at, parameter) = self.resolve(side, parameter, format!("{list_at}/{i}"));
                let text = |key: &str| parameter.get(key).and_then(Value::as_str);
                let (Some(place), Some(name)) = (text("in"), text("name")) else {
                    self.changes.push(uncompared(
                        &found_at,
                        &format!("a parameter in the {side} document has no `in` or `name`"),
                        None,
                    ));
                    continue;
                };
                let key = format!("{place} {name}");
                out.retain(|(k, _, _)| *k != key);
                out.push((key, found_at, parameter));
            }
        }
        out
    }

    fn parameters(
        &mut self,
        at: &str,
        id: &str,
        old: (&str, &'a Value, &'a Value),
        new: (&str, &'a Value, &'a Value),
    ) {
        let old_params = self.parameter_list(Side::Old, at, old);
        let new_params = self.parameter_list(Side::New, at, new);
        for (key, old_at, old_param) in &old_params {
            match new_params.iter().find(|(k, _, _)| k == key) {
                Some((_, new_at, new_param)) => {
                    self.parameter_kept(id, key, (old_at, old_param), (new_at, new_param));
                }
                None => {
                    let what = format!(
                        "{} removed: requests that send it may be refused",
                        parameter_label(key)
                    );
                    let rust = format!(
                        "builder method `{}()` of `Client::{id}` is removed",
                        snake_case(parameter_name(key))
                    );
                    let values = (Some(Value::from(parameter_name(key))), None);
                    self.push(Class::Breaking, old_at, what, rust, values);
                }
            }
        }
        for (key, new_at, new_param) in &new_params {
            if old_params.iter().all(|(k, _, _)| k != key) {
                self.parameter_added(id, key, new_at, new_param);
            }
        }
    }

    /// A parameter in both versions: whether it is required, and its schema.
    fn parameter_kept(
        &mut self,
        id: &str,
        key: &str,
        (old_at, old): (&str, &'a Value),
        (new_at, new): (&str, &'a Value),
    ) {
        let method = snake_case(parameter_name(key));
        let label = parameter_label(key);
        let at = format!("{new_at}/required");
        match (is_required(old), is_required(new)) {
            (false, true) => self.push(
                Class::Breaking,
                &at,
                format!("{label} is now required: calls without it are refused"),
                format!("`Client::{id}` fails at `send()` unless `{method}()` is set"),
                (Some(Value::Bool(false)), Some(Value::Bool(true))),
            ),
            (true, false) => self.push(
                Class::Compatible,
                &at,
                format!("{label} is now optional"),
                format!("none: `{method}()` of `Client::{id}` may now be left out"),
                (Some(Value::Bool(true)), Some(Value::Bool(false))),
            ),
            _ => {}
        }
        if let (Some(o), Some(n)) = (old.get("schema"), new.get("schema")) {
            let owner = Owner::top(
                format!("parameter `{method}()` of `Client::{id}`"),
                Some(format!(
                    "{}{}",
                    pascal_case(id),
                    pascal_case(parameter_name(key))
                )),
            );
            let (o, n) = (
                (format!("{old_at}/schema"), o),
                (format!("{new_at}/schema"), n),
            );
            self.schema(Dir::Sent, o, n, &owner, 0);
        }
    }

    /// A new parameter: breaking when calls must now carry it.
    fn parameter_added(&mut self, id: &str, key: &str, at: &str, parameter: &Value) {
        let method = snake_case(parameter_name(key));
        let label = parameter_label(key);
        let (class, what, rust) = if is_required(parameter) {
            (
                Class::Breaking,
                format!("required {label} added: calls without it are refused"),
                format!("new builder method `{method}()` on `Client::{id}`; `send()` fails unless it is set"),
            )
        } else {
            (
                Class::Compatible,
                format!("optional {label} added"),
                format!("new builder method `{method}()` on `Client::{id}`"),
            )
        };
        let values = (None, Some(Value::from(parameter_name(key))));
        self.push(class, at, what, rust, values);
    }

    fn request_body(&mut self, at: &str, id: &str, old: &'a Value, new: &'a Value) {
        let at = format!("{at}/requestBody");
        let old_body = old
            .get("requestBody")
            .map(|b| self.resolve(Side::Old, b, at.clone()).1);
        let new_body = new
            .get("requestBody")
            .map(|b| self.resolve(Side::New, b, at.clone()).1);
        match (old_body, new_body) {
            (None, Some(_)) => self.push(
                Class::Breaking,
                &at,
                "a request body is now expected",
                format!("builder method `body()` added to `Client::{id}`"),
                (None, None),
            ),
            (Some(_), None) => self.push(
                Class::Breaking,
                &at,
                "the request body is gone: requests that send one may be refused",
                format!("builder method `body()` of `Client::{id}` is removed"),
                (None, None),
            ),
            (Some(o), Some(n)) if !unresolved(o) && !unresolved(n) => {
                let owner = Owner::top(
                    format!("the body of `Client::{id}`"),
                    Some(format!("{}Body", pascal_case(id))),
                );
                self.content(Dir::Sent, &at, id, (o, n), &owner);
            }
            _ => {}
        }
    }

    fn responses(&mut self, at: &str, id: &str, old: &'a Value, new: &'a Value) {
        for (status, pair) in paired_at(old, new, "/responses") {
            let at = format!("{at}/responses/{}", escape(status));
            match pair {
                Paired::Removed(_) => self.push(
                    Class::Breaking,
                    &at,
                    format!("documented answer {status} removed: the client treats it as unexpected"),
                    format!("`Client::{id}` no longer decodes a {status} answer (an unexpected-response error instead)"),
                    (Some(Value::from(status.clone())), None),
                ),
                Paired::Both(old_response, new_response) => {
                    let o = self.resolve(Side::Old, old_response, at.clone()).1;
                    let n = self.resolve(Side::New, new_response, at.clone()).1;
                    if unresolved(o) || unresolved(n) {
                        continue;
                    }
                    // typify names an inline success schema OPERATION_IDResponse.
                    let inline = status
                        .starts_with('2')
                        .then(|| format!("{}Response", pascal_case(id)));
                    let owner = Owner::top(format!("the {status} answer of `Client::{id}`"), inline);
                    self.content(Dir::Received, &at, id, (o, n), &owner);
                    self.links(&at, o, n);
                }
                Paired::Added(_) => self.push(
                    Class::Compatible,
                    &at,
                    format!("answer {status} documented"),
                    format!("`Client::{id}` decodes a {status} answer"),
                    (None, Some(Value::from(status.clone()))),
                ),
            }
        }
    }

    /// The links of an answer: informational, for tools that chain operations by them.
    fn links(&mut self, at: &str, old: &'a Value, new: &'a Value) {
        let rust = "none: progenitor does not read links";
        for (name, pair) in paired_at(old, new, "/links") {
            let at = format!("{at}/links/{}", escape(name));
            let what = match pair {
                Paired::Removed(_) => "link removed: tools that follow it from this answer lose it",
                Paired::Added(_) => "link added",
                Paired::Both(o, n) if without_prose(o) != without_prose(n) => {
                    "link changed: tools that follow it reach another operation or pass other values"
                }
                Paired::Both(..) => continue,
            };
            let (o, n) = pair_options(&pair);
            self.push(Class::Compatible, &at, what, rust, (o.cloned(), n.cloned()));
        }
    }

    /// The media types of a request body or response, and their schemas.
    fn content(
        &mut self,
        dir: Dir,
        at: &str,
        id: &str,
        (old, new): (&'a Value, &'a Value),
        owner: &Owner,
    ) {
        let old_media = object_at(old, "/content");
        for (kind, pair) in paired(old_media, object_at(new, "/content")) {
            let at = format!("{at}/content/{}", escape(kind));
            match pair {
                Paired::Removed(_) => self.push(
                    Class::Breaking,
                    &at,
                    format!("media type {kind} removed"),
                    format!("`Client::{id}` no longer sends or reads {kind}"),
                    (Some(Value::from(kind.clone())), None),
                ),
                Paired::Both(old_entry, new_entry) => {
                    if let (Some(o), Some(n)) = (old_entry.get("schema"), new_entry.get("schema")) {
                        let at = format!("{at}/schema");
                        self.schema(dir, (at.clone(), o), (at, n), owner, 0);
                    }
                }
                Paired::Added(_) => {
                    // An answer in a media type the old client never decoded.
                    let class = if dir == Dir::Received && !old_media.is_empty() {
                        Class::Breaking
                    } else {
                        Class::Compatible
                    };
                    let verb = if dir == Dir::Sent { "send" } else { "receive" };
                    self.push(
                        class,
                        &at,
                        format!("media type {kind} added"),
                        format!("`Client::{id}` may {verb} {kind}"),
                        (None, Some(Value::from(kind.clone()))),
                    );
                }
            }
        }
    }

    /// The component schemas: removed and added ones, and the ones no operation reaches (read
    /// both ways, since the report cannot tell how callers use them).
    fn components(&mut self) {
        let pointer = "/components/schemas";
        for (name, pair) in paired_at(self.old, self.new, pointer) {
            let at = format!("{pointer}/{}", escape(name));
            let ty = pascal_case(name);
            match pair {
                Paired::Removed(_) => self.push(
                    Class::Breaking,
                    &at,
                    "component schema removed",
                    format!("type `types::{ty}` is removed: code that names it no longer compiles"),
                    (Some(Value::from(name.clone())), None),
                ),
                Paired::Added(_) => self.push(
                    Class::Compatible,
                    &at,
                    "component schema added",
                    format!("new type `types::{ty}`"),
                    (None, Some(Value::from(name.clone()))),
                ),
                Paired::Both(o, n) if !self.reached.contains(name) => {
                    let before = self.changes.len();
                    for dir in [Dir::Sent, Dir::Received] {
                        self.schema(dir, (at.clone(), o), (at.clone(), n), &Owner::default(), 0);
                    }
                    for change in self.changes.iter_mut().skip(before) {
                        if !change.is_uncompared() {
                            change.what.push_str(
                                " (no operation uses this component: read as sent and as received)",
                            );
                        }
                    }
                }
                Paired::Both(..) => {}
            }
        }
    }

    /// Compares two schemas found at `old.0` and `new.0`.
    fn schema(
        &mut self,
        dir: Dir,
        (old_at, old): (String, &'a Value),
        (new_at, new): (String, &'a Value),
        owner: &Owner,
        depth: usize,
    ) {
        if depth > DEPTH {
            return;
        }
        let (old_at, old) = self.resolve(Side::Old, old, old_at);
        let (new_at, new) = self.resolve(Side::New, new, new_at);
        if unresolved(old) || unresolved(new) {
            // Reported by `resolve`: nothing to compare it with.
            return;
        }
        let (old_component, new_component) = (component_name(&old_at), component_name(&new_at));
        for name in old_component.iter().chain(&new_component) {
            self.reached.insert(name.clone());
        }
        let (old_name, new_name) = (
            type_name(old, old_component.as_deref(), owner),
            type_name(new, new_component.as_deref(), owner),
        );
        let renamed = old_name != new_name;
        if renamed {
            self.renamed(&new_at, owner, (old_name.as_deref(), new_name.as_deref()));
        }
        if new_component.is_some() && !self.seen.insert((dir, old_at.clone(), new_at.clone())) {
            return;
        }
        let named = new_component.is_some();
        let owner = match &new_component {
            Some(component) => Owner::component(component),
            None => owner.clone(),
        };
        let retyped = (!renamed)
            .then(|| {
                let name = new_name.as_deref();
                (shape(old, name, named), shape(new, name, named))
            })
            .filter(|(a, b)| a != b)
            .map(|(a, b)| {
                let text = format!("{} changes from {a} to {b}", owner.describe());
                (text, Value::from(a), Value::from(b))
            });
        let spot = Spot {
            dir,
            at: new_at.clone(),
            owner,
            name: new_name,
            retyped,
        };
        let before = self.changes.len();
        self.kind(&spot, old, new);
        self.enumeration(&spot, old, new);
        self.bounds(&spot, old, new);
        self.pattern_and_format(&spot, old, new);
        self.retype_alone(&spot, before);
        self.nullable(&spot, old, new);
        let depth = depth.saturating_add(1);
        let holder = spot.owner.object(spot.name.as_deref());
        self.object(&spot, (&old_at, old), (&new_at, new), &holder, depth);
        if let (Some(o), Some(n)) = (old.get("items"), new.get("items")) {
            self.schema(
                dir,
                (format!("{old_at}/items"), o),
                (format!("{new_at}/items"), n),
                &spot.owner.item(),
                depth,
            );
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            self.branches(&spot, key, (&old_at, old), (&new_at, new), depth);
        }
    }

    /// A schema whose generated type is now another one: a component instead of another, or
    /// instead of an inline schema, or the reverse.
    fn renamed(&mut self, at: &str, owner: &Owner, (old, new): (Option<&str>, Option<&str>)) {
        let label = |name: Option<&str>| {
            name.map_or_else(
                || "an unnamed inline type".to_owned(),
                |n| format!("`types::{n}`"),
            )
        };
        self.push(
            Class::Breaking,
            at,
            "the schema here is now another type",
            format!(
                "{} changes from {} to {}",
                owner.describe(),
                label(old),
                label(new)
            ),
            (old.map(Value::from), new.map(Value::from)),
        );
    }

    /// Pushes one keyword's change: its class for the wire, unless the generated type changes,
    /// which breaks code whatever the direction.
    fn keyword(
        &mut self,
        spot: &Spot,
        keyword: &str,
        (class, what): (Class, String),
        rust: String,
        values: (Option<Value>, Option<Value>),
    ) {
        let at = format!("{}/{keyword}", spot.at);
        match &spot.retyped {
            Some((retyped, _, _)) => {
                let what = format!("{what}; the generated type changes");
                self.push(Class::Breaking, &at, what, retyped.clone(), values);
            }
            None => self.push(class, &at, what, rust, values),
        }
    }

    /// The generated type changed though no keyword compared here says why (a `title`, say).
    fn retype_alone(&mut self, spot: &Spot, before: usize) {
        let Some((retyped, old, new)) = &spot.retyped else {
            return;
        };
        let told = self
            .changes
            .get(before..)
            .unwrap_or_default()
            .iter()
            .any(|c| &c.rust == retyped);
        if !told {
            self.push(
                Class::Breaking,
                &spot.at,
                "the schema's generated type changes",
                retyped.clone(),
                (Some(old.clone()), Some(new.clone())),
            );
        }
    }

    fn kind(&mut self, spot: &Spot, old: &Value, new: &Value) {
        let (o, n) = (old.get("type"), new.get("type"));
        if o == n {
            return;
        }
        let what = match (o, n) {
            (Some(_), Some(_)) => {
                "the type changed: values of the old type are refused, or answers fail to parse"
            }
            (None, Some(_)) => "a type is now given: values of other types are refused",
            _ => "the type is no longer given: any JSON value",
        };
        let rust = format!("{} changes type", spot.owner.describe());
        self.keyword(
            spot,
            "type",
            (Class::Breaking, what.to_owned()),
            rust,
            (o.cloned(), n.cloned()),
        );
    }

    fn enumeration(&mut self, spot: &Spot, old: &Value, new: &Value) {
        let values = |v: &Value| v.get("enum").and_then(Value::as_array).cloned();
        let ty = spot.owner.type_of(spot.name.as_deref());
        let sent = spot.dir == Dir::Sent;
        match (values(old), values(new)) {
            (Some(o), Some(n)) => {
                let removed: Vec<Value> = o.iter().filter(|v| !n.contains(v)).cloned().collect();
                let added: Vec<Value> = n.iter().filter(|v| !o.contains(v)).cloned().collect();
                if !removed.is_empty() {
                    let what = if sent {
                        "enum values removed: requests with them are refused"
                    } else {
                        "enum values removed from answers: code that names them no longer compiles"
                    };
                    let rust = enum_effect(&ty, &removed, false);
                    self.keyword(
                        spot,
                        "enum",
                        (Class::Breaking, what.to_owned()),
                        rust,
                        (Some(removed.into()), None),
                    );
                }
                if !added.is_empty() {
                    let (class, what) = if sent {
                        (
                            Class::Compatible,
                            "enum values added: more requests are accepted",
                        )
                    } else {
                        (Class::Breaking, "enum values added to answers: clients built from the old document cannot read answers that carry them, and a `match` without a wildcard arm must handle them")
                    };
                    let rust = enum_effect(&ty, &added, true);
                    self.keyword(
                        spot,
                        "enum",
                        (class, what.to_owned()),
                        rust,
                        (None, Some(added.into())),
                    );
                }
            }
            (None, Some(n)) => {
                let class = if sent {
                    Class::Breaking
                } else {
                    Class::Compatible
                };
                let what = "the value is now restricted to an enum".to_owned();
                self.keyword(
                    spot,
                    "enum",
                    (class, what),
                    format!("{ty} becomes an enum"),
                    (None, Some(n.into())),
                );
            }
            (Some(o), None) => {
                let class = if sent {
                    Class::Compatible
                } else {
                    Class::Breaking
                };
                let what = "the enum restriction is gone: any value of the type".to_owned();
                self.keyword(
                    spot,
                    "enum",
                    (class, what),
                    format!("{ty} is no longer an enum"),
                    (Some(o.into()), None),
                );
            }
            (None, None) => {}
        }
    }

    fn bounds(&mut self, spot: &Spot, old: &Value, new: &Value) {
        // (keyword, whether a larger value is stricter)
        const KEYWORDS: [(&str, bool); 6] = [
            ("minimum", true),
            ("maximum", false),
            ("minLength", true),
            ("maxLength", false),
            ("minItems", true),
            ("maxItems", false),
        ];
        for (keyword, larger_is_stricter) in KEYWORDS {
            let (o, n) = (old.get(keyword), new.get(keyword));
            let stricter = match (o.and_then(Value::as_f64), n.and_then(Value::as_f64)) {
                (Some(a), Some(b)) if a == b => continue,
                (Some(a), Some(b)) => (b > a) == larger_is_stricter,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (None, None) if o == n => continue,
                // A bound that is not a number: count it as stricter, to be looked at.
                (None, None) => true,
            };
            let checked = keyword.ends_with("Length") && is_checked_string(new);
            let rust = self.bound_effect(spot, keyword, checked);
            let class = wire_class(spot.dir, stricter, checked);
            self.keyword(
                spot,
                keyword,
                class_what(class, keyword, stricter),
                rust,
                (o.cloned(), n.cloned()),
            );
        }
        for keyword in ["exclusiveMinimum", "exclusiveMaximum"] {
            let flag = |v: &Value| v.get(keyword) == Some(&Value::Bool(true));
            if flag(old) != flag(new) {
                let stricter = flag(new);
                let class = wire_class(spot.dir, stricter, false);
                let rust = self.bound_effect(spot, keyword, false);
                let values = (old.get(keyword).cloned(), new.get(keyword).cloned());
                self.keyword(
                    spot,
                    keyword,
                    class_what(class, keyword, stricter),
                    rust,
                    values,
                );
            }
        }
    }

    /// What a bound that did not change the generated type does to the generated code.
    fn bound_effect(&self, spot: &Spot, keyword: &str, checked: bool) -> String {
        let place = spot.owner.describe();
        if checked {
            format!(
                "no signature change; {} checks the new {keyword} in `TryFrom` and when it deserializes",
                spot.owner.type_of(spot.name.as_deref())
            )
        } else if keyword.ends_with("Items") {
            format!("no signature change ({place} stays a `Vec`); `validate_body` and the provider judge the count")
        } else {
            format!("no signature change: {place} keeps its type (the generated code does not check this bound; the provider and, for bodies, `validate_body` do)")
        }
    }

    fn pattern_and_format(&mut self, spot: &Spot, old: &Value, new: &Value) {
        for keyword in ["pattern", "format"] {
            let (o, n) = (old.get(keyword), new.get(keyword));
            if o == n {
                continue;
            }
            // A changed pattern or format may accept less; only one removed surely accepts more.
            let stricter = n.is_some();
            let checked = keyword == "pattern" && is_checked_string(new);
            let rust = if checked {
                format!(
                    "no signature change; {} checks the new pattern in `TryFrom` and when it deserializes",
                    spot.owner.type_of(spot.name.as_deref())
                )
            } else {
                format!(
                    "no signature change: {} keeps its type (typify does not check this {keyword})",
                    spot.owner.describe()
                )
            };
            let class = wire_class(spot.dir, stricter, checked);
            self.keyword(
                spot,
                keyword,
                class_what(class, keyword, stricter),
                rust,
                (o.cloned(), n.cloned()),
            );
        }
    }

    /// `nullable` toggled: the value becomes an `Option` or stops being one, unless the field
    /// may be absent (then it is an `Option` already).
    fn nullable(&mut self, spot: &Spot, old: &Value, new: &Value) {
        let flag = |v: &Value| v.get("nullable") == Some(&Value::Bool(true));
        if flag(old) == flag(new) {
            return;
        }
        let allows = flag(new);
        let option_changes = !spot.owner.optional;
        let class = match (spot.dir, allows) {
            (Dir::Sent, true) => Class::Compatible,
            (Dir::Sent, false) => Class::Breaking,
            (Dir::Received, _) if option_changes => Class::Breaking,
            (Dir::Received, _) => Class::Compatible,
        };
        let what = if allows {
            "null is now allowed"
        } else {
            "null is no longer allowed"
        };
        let place = spot.owner.describe();
        let rust = match (option_changes, allows) {
            (true, true) => format!("{place} becomes an `Option`"),
            (true, false) => format!("{place} is no longer an `Option`"),
            (false, _) => {
                format!("no signature change: {place} is an `Option` already (it may be absent)")
            }
        };
        let values = (old.get("nullable").cloned(), new.get("nullable").cloned());
        self.push(class, &format!("{}/nullable", spot.at), what, rust, values);
    }

    /// The properties of an object schema, and whether it refuses unknown fields.
    fn object(
        &mut self,
        spot: &Spot,
        (old_at, old): (&str, &'a Value),
        (new_at, new): (&str, &'a Value),
        holder: &Owner,
        depth: usize,
    ) {
        let (old_props, new_props) = (object_at(old, "/properties"), object_at(new, "/properties"));
        let required_at = format!("{new_at}/required");
        for (name, pair) in paired(old_props, new_props) {
            let (old_prop_at, new_prop_at) = (
                format!("{old_at}/properties/{}", escape(name)),
                format!("{new_at}/properties/{}", escape(name)),
            );
            match pair {
                Paired::Removed(_) => {
                    let field = holder.property(name, !required(old, name));
                    self.field_removed(spot.dir, closed(new), &old_prop_at, name, &field);
                }
                Paired::Both(old_prop, new_prop) => {
                    let field = holder.property(name, !required(old, name) && !required(new, name));
                    let declared = self.declared(Side::New, new_prop, &field);
                    let parents = (old, new);
                    self.requirement(spot.dir, parents, (name, &declared), &field, &required_at);
                    let (o, n) = ((old_prop_at, old_prop), (new_prop_at, new_prop));
                    self.schema(spot.dir, o, n, &field, depth);
                }
                Paired::Added(new_prop) => {
                    let field = holder.property(name, !required(new, name));
                    self.field_added(spot.dir, (new, new_prop), &new_prop_at, name, &field);
                }
            }
        }
        if closed(old) != closed(new) && !(old_props.is_empty() && new_props.is_empty()) {
            self.closedness(spot.dir, (old, new), new_at, holder);
        }
    }

    fn field_removed(&mut self, dir: Dir, closed: bool, at: &str, name: &str, field: &Owner) {
        let what = match dir {
            Dir::Sent if closed => {
                "field removed: requests that send it are refused (unknown fields are)"
            }
            Dir::Sent => "field removed: requests that send it may have it ignored",
            Dir::Received => "field removed from answers: code that reads it no longer compiles",
        };
        let rust = format!("{} is removed", field.describe());
        self.push(
            Class::Breaking,
            at,
            what,
            rust,
            (Some(Value::from(name)), None),
        );
    }

    /// A new property of `parent`: breaking only when requests must now carry it.
    fn field_added(
        &mut self,
        dir: Dir,
        (parent, property): (&Value, &Value),
        at: &str,
        name: &str,
        field: &Owner,
    ) {
        let is_required = required(parent, name);
        let (class, what) = match (dir, is_required) {
            (Dir::Sent, true) => (
                Class::Breaking,
                "required field added: requests without it are refused",
            ),
            (Dir::Sent, false) => (Class::Compatible, "optional field added"),
            (Dir::Received, _) if closed(parent) => (
                Class::Compatible,
                "field added to answers of a closed schema: this client reads it (clients built from the old document refuse answers that carry it)",
            ),
            (Dir::Received, _) => (Class::Compatible, "field added to answers"),
        };
        let declared = self.declared(Side::New, property, field);
        let kind = if is_required {
            format!("`{}`", declared.ty)
        } else {
            declared.when_optional()
        };
        let rust = format!(
            "{} added as {kind}: code that builds the struct with a literal must set it",
            field.describe()
        );
        self.push(class, at, what, rust, (None, Some(Value::from(name))));
    }

    /// `additionalProperties: false` set or dropped: the generated struct gains or loses
    /// `deny_unknown_fields`.
    fn closedness(&mut self, dir: Dir, (old, new): (&Value, &Value), at: &str, holder: &Owner) {
        let now_closed = closed(new);
        let (class, what) = match (dir, now_closed) {
            (Dir::Sent, true) => (Class::Breaking, "unknown fields are now refused"),
            (Dir::Received, true) => (
                Class::Breaking,
                "unknown fields in answers are now refused: answers with extra fields no longer parse",
            ),
            (_, false) => (Class::Compatible, "unknown fields are now allowed"),
        };
        let verb = if now_closed { "gains" } else { "loses" };
        let rust = format!(
            "{} {verb} `#[serde(deny_unknown_fields)]`",
            holder.describe()
        );
        let key = "additionalProperties";
        let values = (old.get(key).cloned(), new.get(key).cloned());
        self.push(class, &format!("{at}/{key}"), what, rust, values);
    }

    /// A field kept in both versions whose `required` changed: the generated field moves
    /// between `T` and `Option<T>`, unless typify gives it another value when absent.
    fn requirement(
        &mut self,
        dir: Dir,
        (old, new): (&Value, &Value),
        (name, declared): (&str, &Declared),
        field: &Owner,
        at: &str,
    ) {
        let (was, is) = (required(old, name), required(new, name));
        if was == is {
            return;
        }
        let place = field.describe();
        let values = if is {
            (None, Some(Value::from(name)))
        } else {
            (Some(Value::from(name)), None)
        };
        if declared.absent != Absent::Option {
            // A list, a map or a field with a default: the same type either way.
            let (class, what) = match (dir, is) {
                (Dir::Sent, true) => (
                    Class::Breaking,
                    format!("`{name}` is now required: requests without it are refused"),
                ),
                (Dir::Sent, false) => (Class::Compatible, format!("`{name}` is now optional")),
                (Dir::Received, true) => (
                    Class::Compatible,
                    format!("`{name}` is now always in answers"),
                ),
                (Dir::Received, false) => (
                    Class::Compatible,
                    format!("`{name}` may now be absent from answers"),
                ),
            };
            let rust = format!(
                "no signature change: {place} is {} either way",
                declared.when_optional()
            );
            self.push(class, at, what, rust, values);
            return;
        }
        let ty = &declared.ty;
        let (class, what, rust) = match (dir, is) {
            (Dir::Sent, true) => (
                Class::Breaking,
                format!("`{name}` is now required: requests without it are refused"),
                format!("{place} changes from `Option<{ty}>` to `{ty}`: code that builds it must set it"),
            ),
            (Dir::Received, true) => (
                Class::Breaking,
                format!("`{name}` is now required in answers: answers without it no longer parse"),
                format!("{place} changes from `Option<{ty}>` to `{ty}`: code that reads it as an `Option` no longer compiles"),
            ),
            (Dir::Sent, false) => (
                Class::Compatible,
                format!("`{name}` is now optional"),
                format!("{place} changes from `{ty}` to `Option<{ty}>`: builders take it as before; a struct literal must wrap it in `Some`"),
            ),
            (Dir::Received, false) => (
                Class::Breaking,
                format!("`{name}` is now optional in answers: code must handle its absence"),
                format!("{place} changes from `{ty}` to `Option<{ty}>`: code that reads it must handle `None`"),
            ),
        };
        self.push(class, at, what, rust, values);
    }

    /// How typify declares a property (its schema as written in `side`), as owned by `field`.
    fn declared(&self, side: Side, property: &Value, field: &Owner) -> Declared {
        let reference = property.get("$ref").and_then(Value::as_str);
        let target = reference.and_then(|r| r.strip_prefix('#'));
        let resolved = target
            .and_then(|pointer| self.document(side).pointer(pointer))
            .unwrap_or(property);
        let ty = match target.and_then(component_name) {
            Some(component) => format!("types::{}", pascal_case(&component)),
            None => rust_type(resolved, type_name(resolved, None, field).as_deref()),
        };
        let absent = if property.get("default").is_some() {
            Absent::Default
        } else {
            match resolved.get("type").and_then(Value::as_str) {
                Some("array") => Absent::Empty,
                Some("object") if resolved.get("properties").is_none() => Absent::Empty,
                _ => Absent::Option,
            }
        };
        Declared { ty, absent }
    }

    fn branches(
        &mut self,
        spot: &Spot,
        key: &str,
        (old_at, old): (&str, &'a Value),
        (new_at, new): (&str, &'a Value),
        depth: usize,
    ) {
        let list = |v: &'a Value| v.get(key).and_then(Value::as_array);
        let (Some(o), Some(n)) = (list(old), list(new)) else {
            if list(old).is_some() != list(new).is_some() {
                let what = format!("`{key}` added or removed: the schema's structure changed");
                let rust = format!(
                    "{} likely changes shape",
                    spot.owner.type_of(spot.name.as_deref())
                );
                let values = (
                    old.get(key).map(|_| Value::from(key)),
                    new.get(key).map(|_| Value::from(key)),
                );
                self.push(
                    Class::Breaking,
                    &format!("{new_at}/{key}"),
                    what,
                    rust,
                    values,
                );
            }
            return;
        };
        let owner = spot.owner.branch();
        for (i, (ob, nb)) in o.iter().zip(n.iter()).enumerate() {
            self.schema(
                spot.dir,
                (format!("{old_at}/{key}/{i}"), ob),
                (format!("{new_at}/{key}/{i}"), nb),
                &owner,
                depth,
            );
        }
        if o.len() == n.len() || key == "allOf" {
            return;
        }
        let fewer = n.len() < o.len();
        let class = if spot.dir == Dir::Sent && !fewer {
            Class::Compatible
        } else {
            Class::Breaking
        };
        self.push(
            class,
            &format!("{new_at}/{key}"),
            format!("{key} has {} branches instead of {}", n.len(), o.len()),
            format!(
                "{} {} variants",
                spot.owner.type_of(spot.name.as_deref()),
                if fewer { "loses" } else { "gains" }
            ),
            (Some(Value::from(o.len())), Some(Value::from(n.len()))),
        );
    }
}

/// The class of a tightened or loosened constraint: stricter requests are breaking; answers
/// are only when the generated code checks the constraint as it reads them.
fn wire_class(dir: Dir, stricter: bool, checked: bool) -> Class {
    match (dir, stricter) {
        (Dir::Sent, true) => Class::Breaking,
        (Dir::Received, true) if checked => Class::Breaking,
        _ => Class::Compatible,
    }
}

/// The class with a sentence for a constraint tightened or loosened.
fn class_what(class: Class, keyword: &str, stricter: bool) -> (Class, String) {
    let what = match (class, stricter) {
        (Class::Breaking, true) => format!("{keyword} tightened: values that were valid may be refused"),
        (_, true) => format!("{keyword} tightened on answers: the generated code does not check it, answers are read as before"),
        (_, false) => format!("{keyword} loosened: more values are accepted"),
    };
    (class, what)
}

/// "`types::Resolution` loses variant `X1080p` ("1080p")", or for integers what the checked
/// newtype's `TryFrom` accepts.
fn enum_effect(ty: &str, values: &[Value], added: bool) -> String {
    let verb = if added { "gains" } else { "loses" };
    if values.iter().all(Value::is_string) {
        let variants = values
            .iter()
            .filter_map(|v| Some(format!("`{}` ({v})", variant_name(v)?)))
            .collect::<Vec<_>>()
            .join(", ");
        let noun = if values.len() == 1 {
            "variant"
        } else {
            "variants"
        };
        format!("{ty} {verb} {noun} {variants}")
    } else {
        let listed = values
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let verb = if added { "accepts" } else { "refuses" };
        format!("the `TryFrom` and `Deserialize` of {ty} (a checked newtype) {verb} {listed}")
    }
}

/// What typify generates for a property that is not required.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Absent {
    /// `Option<T>`.
    Option,
    /// A list or map, empty when the field is absent.
    Empty,
    /// `T`, the schema's `default` when absent.
    Default,
}

/// How typify declares a property: the Rust type of its value, and what it does when the
/// property is not required.
struct Declared {
    ty: String,
    absent: Absent,
}

impl Declared {
    /// The field's declaration when the property is not required.
    fn when_optional(&self) -> String {
        let ty = &self.ty;
        match self.absent {
            Absent::Option => format!("`Option<{ty}>`"),
            Absent::Empty => format!("`{ty}`, empty when absent"),
            Absent::Default => format!("`{ty}`, its default when absent"),
        }
    }
}

/// The name typify gives the type of a (resolved) schema: a component's own, an inline
/// schema's `title`, or the name derived from where it sits.
fn type_name(schema: &Value, component: Option<&str>, owner: &Owner) -> Option<String> {
    if let Some(component) = component {
        return Some(pascal_case(component));
    }
    match schema.get("title").and_then(Value::as_str) {
        Some(title) if !owner.variant => Some(pascal_case(title)),
        _ => owner.inline.clone(),
    }
}

/// Whether `resolve` left a `$ref` it could not follow (and reported it).
fn unresolved(value: &Value) -> bool {
    value.get("$ref").is_some()
}

/// Whether an object schema refuses unknown fields.
fn closed(schema: &Value) -> bool {
    schema.get("additionalProperties") == Some(&Value::Bool(false))
}

/// Whether an object schema lists `name` as required.
fn required(schema: &Value, name: &str) -> bool {
    schema
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|n| n == name))
}

/// A schema without its prose, to compare what a tool acts on.
fn without_prose(value: &Value) -> Value {
    let mut value = value.clone();
    if let Some(object) = value.as_object_mut() {
        object.remove("description");
    }
    value
}

/// One key of two objects: only in the old one, in both, or only in the new one.
enum Paired<'m> {
    Removed(&'m Value),
    Both(&'m Value, &'m Value),
    Added(&'m Value),
}

/// The old and new values of a key, where there are.
fn pair_options<'m>(pair: &Paired<'m>) -> (Option<&'m Value>, Option<&'m Value>) {
    match pair {
        Paired::Removed(o) => (Some(o), None),
        Paired::Both(o, n) => (Some(o), Some(n)),
        Paired::Added(n) => (None, Some(n)),
    }
}

/// [`paired`] on the objects at `pointer` in `old` and `new` (empty where one has none).
fn paired_at<'m>(old: &'m Value, new: &'m Value, pointer: &str) -> Vec<(&'m String, Paired<'m>)> {
    paired(object_at(old, pointer), object_at(new, pointer))
}

/// The keys of `old` and `new`: the old one's in order, then those only the new one has.
fn paired<'m>(
    old: &'m Map<String, Value>,
    new: &'m Map<String, Value>,
) -> Vec<(&'m String, Paired<'m>)> {
    let mut out: Vec<(&String, Paired<'_>)> = old
        .iter()
        .map(|(key, o)| match new.get(key) {
            Some(n) => (key, Paired::Both(o, n)),
            None => (key, Paired::Removed(o)),
        })
        .collect();
    out.extend(
        new.iter()
            .filter(|(key, _)| !old.contains_key(*key))
            .map(|(key, n)| (key, Paired::Added(n))),
    );
    out
}

/// Whether a parameter (or request body) says `required: true`.
fn is_required(value: &Value) -> bool {
    value.get("required") == Some(&Value::Bool(true))
}

/// "page" for the key "query page".
fn parameter_name(key: &str) -> &str {
    key.split_once(' ').map_or(key, |(_, name)| name)
}

/// "query parameter `page`" for the key "query page".
fn parameter_label(key: &str) -> String {
    match key.split_once(' ') {
        Some((place, name)) => format!("{place} parameter `{name}`"),
        None => format!("parameter `{key}`"),
    }
}

/// The client method progenitor generates for an operation: its `operationId` in snake case
/// (progenitor needs one), or `METHOD path` when there is none.
fn method_name(op: &Value, method: &str, path: &str) -> String {
    op.get("operationId")
        .and_then(Value::as_str)
        .map(snake_case)
        .unwrap_or_else(|| format!("{} {path}", method.to_ascii_uppercase()))
}

/// The component name of a pointer to `/components/schemas/NAME` itself.
fn component_name(pointer: &str) -> Option<String> {
    let name = pointer.strip_prefix("/components/schemas/")?;
    (!name.contains('/')).then(|| unescape(name))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_document_against_itself_has_no_changes() {
        for provider in crate::Provider::ALL {
            let doc = crate::contract::openapi(provider);
            assert_eq!(compare(doc, doc), Report::default(), "{provider}");
        }
    }

    #[test]
    fn garbage_is_reported_not_panicked_on() {
        let shapes = [
            Value::Null,
            json!([]),
            json!({"paths": 5}),
            json!({"paths": {"/x": {"get": {"parameters": [{"$ref": "#/nowhere"}, 3], "responses": []}}}}),
            json!({"paths": {"/x": {"get": {"requestBody": {"content": {"a/b": {"schema": {"$ref": "#/components/schemas/A"}}}}}}}, "components": {"schemas": {"A": {"$ref": "#/components/schemas/A"}}}}),
            json!({"components": {"schemas": {"A": {"type": "integer", "minimum": "x", "enum": 3, "required": 1, "properties": []}}}}),
        ];
        for old in &shapes {
            for new in &shapes {
                let _ = compare(old, new);
            }
        }
        let report = compare(&Value::Null, &json!({}));
        assert!(report.changes[0].is_uncompared(), "{report}");
        assert!(report.has_breaking());
        let looping = &shapes[4];
        let report = compare(looping, looping);
        assert!(report.changes.iter().all(Change::is_uncompared), "{report}");
        assert!(!report.is_empty());
    }

    /// A document with one operation `make`: `body` is what it sends, `answer` its 200.
    fn operation(body: Value, answer: Value) -> Value {
        let media = |schema: Value| json!({"application/json": {"schema": schema}});
        json!({"paths": {"/x": {"post": {
            "operationId": "make",
            "requestBody": {"content": media(body)},
            "responses": {"200": {"description": "", "content": media(answer)}}
        }}}, "components": {"schemas": {
            "A": {"type": "object", "properties": {"a": {"type": "string"}}},
            "B": {"type": "object", "properties": {"a": {"type": "string"}}}
        }}})
    }

    /// The one change between two documents.
    fn only(old: &Value, new: &Value) -> Change {
        let report = compare(old, new);
        assert_eq!(report.changes.len(), 1, "{report}");
        report.changes[0].clone()
    }

    fn object(properties: Value) -> Value {
        json!({"type": "object", "properties": properties})
    }

    #[test]
    fn shapes_the_fixtures_leave_out() {
        let plain = object(json!({"n": {"type": "string"}}));
        let level = |values: Value| object(json!({"level": {"type": "integer", "enum": values}}));

        // An integer enum is a checked newtype named after where it is.
        let change = only(
            &operation(level(json!([1, 2])), plain.clone()),
            &operation(level(json!([1])), plain.clone()),
        );
        assert_eq!(change.class, Class::Breaking);
        assert_eq!(
            change.path,
            "/paths/~1x/post/requestBody/content/application~1json/schema/properties/level/enum"
        );
        assert!(
            change
                .rust
                .contains("`types::MakeBodyLevel` (a checked newtype) refuses 2"),
            "{}",
            change.rust
        );

        // null allowed on an optional answer field: an `Option` already.
        let nullable = object(json!({"n": {"type": "string", "nullable": true}}));
        let change = only(
            &operation(plain.clone(), plain.clone()),
            &operation(plain.clone(), nullable),
        );
        assert_eq!(change.class, Class::Compatible);
        assert!(
            change.rust.contains("is an `Option` already"),
            "{}",
            change.rust
        );

        // An answer that now refuses unknown fields.
        let mut closed = plain.clone();
        closed["additionalProperties"] = json!(false);
        let change = only(
            &operation(plain.clone(), plain.clone()),
            &operation(plain.clone(), closed),
        );
        assert_eq!(change.class, Class::Breaking);
        assert!(
            change
                .rust
                .contains("`types::MakeResponse` gains `#[serde(deny_unknown_fields)]`"),
            "{}",
            change.rust
        );

        // An optional list: a `Vec`, empty when absent.
        let with_list = object(
            json!({"n": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}),
        );
        let change = only(
            &operation(plain.clone(), plain.clone()),
            &operation(with_list, plain.clone()),
        );
        assert_eq!(change.class, Class::Compatible);
        assert!(
            change
                .rust
                .contains("added as `Vec<String>`, empty when absent"),
            "{}",
            change.rust
        );

        // A date-time format on an answer string changes the generated type.
        let when = object(json!({"n": {"type": "string", "format": "date-time"}}));
        let change = only(
            &operation(plain.clone(), plain.clone()),
            &operation(plain.clone(), when),
        );
        assert_eq!(change.class, Class::Breaking);
        assert!(
            change
                .rust
                .contains("from `String` to `chrono::DateTime<Utc>`"),
            "{}",
            change.rust
        );

        // The body now refers to another component.
        let to = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
        let change = only(
            &operation(to("A"), plain.clone()),
            &operation(to("B"), plain.clone()),
        );
        assert_eq!(change.class, Class::Breaking);
        assert!(
            change.rust.contains("from `types::A` to `types::B`"),
            "{}",
            change.rust
        );
    }

    #[test]
    fn path_level_parameters_count() {
        let with = |required: bool| {
            let mut document = operation(json!({}), json!({}));
            document["paths"]["/x"]["parameters"] = json!([{"name": "q", "in": "query", "required": required, "schema": {"type": "string"}}]);
            document
        };
        let change = only(&with(false), &with(true));
        assert_eq!(change.class, Class::Breaking);
        assert_eq!(change.path, "/paths/~1x/parameters/0/required");
        assert!(change
            .rust
            .contains("`Client::make` fails at `send()` unless `q()` is set"));
    }

    #[test]
    fn a_schema_used_both_ways_keeps_the_stricter_reading() {
        let document = |values: Value| {
            json!({"paths": {"/x": {"post": {
                "operationId": "x",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Mode"}}}},
                "responses": {"200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Mode"}}}}}
            }}}, "components": {"schemas": {"Mode": {"type": "string", "enum": values}}}})
        };
        let report = compare(&document(json!(["a"])), &document(json!(["a", "b"])));
        assert_eq!(report.changes.len(), 1, "{report}");
        assert_eq!(report.changes[0].class, Class::Breaking);
        assert!(report.changes[0]
            .rust
            .contains("`types::Mode` gains variant `B`"));
    }
}
