//! What an edit of a document does to a caller: two versions of an OpenAPI 3.0 document
//! compared, each change classified as breaking or compatible for code that calls the API
//! through this crate, with the JSON Pointer where it is and its effect on the generated Rust
//! API.
//!
//! The direction decides: in what a caller *sends* (parameters, request bodies) a change is
//! breaking when the new document refuses something the old one accepted (an enum value
//! removed, a bound tightened, a field removed while unknown fields are refused, a field made
//! required, a type changed); in what a caller *receives* (response bodies) when the new
//! document allows an answer the old client cannot read, or drops what it read (a field
//! removed or made optional, a type changed, a value added to a closed enum, `null` allowed).
//! Removing an operation or a documented status is breaking; adding one is compatible.
//! Descriptions, examples and links are not compared.
//!
//! ```
//! use happyhorse::contract::diff::{compare, Class};
//! use serde_json::json;
//!
//! let old = json!({"paths": {"/tasks": {"post": {
//!     "operationId": "create_task",
//!     "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Body"}}}},
//!     "responses": {"200": {"description": "ok"}}
//! }}}, "components": {"schemas": {"Body": {"type": "object", "properties": {
//!     "duration": {"type": "integer", "minimum": 3, "maximum": 15}
//! }}}}});
//! let mut new = old.clone();
//! new["components"]["schemas"]["Body"]["properties"]["duration"]["maximum"] = json!(10);
//!
//! let report = compare(&old, &new);
//! let change = &report.changes[0];
//! assert_eq!(change.class, Class::Breaking);
//! assert_eq!(change.path, "/components/schemas/Body/properties/duration/maximum");
//! assert!(report.has_breaking());
//! ```

use std::{collections::BTreeSet, fmt, sync::LazyLock};

use serde_json::{Map, Value};

/// How a change affects a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Requests that worked may be refused, or answers may no longer be read as before.
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
    /// was removed.
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

    /// The changes of `class`.
    pub fn of(&self, class: Class) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.class == class)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for change in &self.changes {
            let label = match change.class {
                Class::Breaking => "BREAKING  ",
                Class::Compatible => "compatible",
            };
            write!(f, "{label} {}", change.path)?;
            match (&change.old, &change.new) {
                (Some(old), Some(new)) => write!(f, ": {} → {}", short(old), short(new))?,
                (Some(old), None) => write!(f, ": {} removed", short(old))?,
                (None, Some(new)) => write!(f, ": {} added", short(new))?,
                (None, None) => {}
            }
            writeln!(f)?;
            writeln!(f, "           {}", change.what)?;
            writeln!(f, "           Rust: {}", change.rust)?;
        }
        let breaking = self.of(Class::Breaking).count();
        write!(
            f,
            "{breaking} breaking, {} compatible",
            self.changes.len().saturating_sub(breaking)
        )
    }
}

/// A value in one line, long ones cut.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        let head: String = text.chars().take(57).collect();
        format!("{head}...")
    } else {
        text
    }
}

/// Compares two versions of one document (parsed, as JSON values).
pub fn compare(old: &Value, new: &Value) -> Report {
    let mut walk = Walk {
        old,
        new,
        changes: Vec::new(),
        seen: BTreeSet::new(),
    };
    walk.operations();
    let mut changes = walk.changes;
    // A component reached from requests and responses alike may be reported twice: keep the
    // stricter reading of each.
    changes.sort_by(|a, b| (&a.path, &a.what, a.class).cmp(&(&b.path, &b.what, b.class)));
    changes.dedup_by(|later, kept| later.path == kept.path && later.what == kept.what);
    changes.sort_by(|a, b| (a.class, &a.path).cmp(&(b.class, &b.path)));
    Report { changes }
}

/// An empty object, for what a document leaves out.
static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

/// Which way values travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Dir {
    /// From the caller: requests.
    Sent,
    /// To the caller: answers.
    Received,
}

/// Where a schema sits in the generated code: the nearest named type and the field in it.
#[derive(Clone, Debug, Default)]
struct Owner {
    ty: Option<String>,
    field: Option<String>,
}

impl Owner {
    fn in_type(&self, name: &str) -> Owner {
        Owner {
            ty: Some(name.to_owned()),
            field: None,
        }
    }

    fn with_field(&self, name: &str) -> Owner {
        Owner {
            ty: self.ty.clone(),
            field: Some(snake_case(name)),
        }
    }

    /// "field `duration` of `types::Body`", "`types::Body`", or "the generated types".
    fn describe(&self) -> String {
        match (&self.ty, &self.field) {
            (Some(ty), Some(field)) => format!("field `{field}` of `types::{ty}`"),
            (Some(ty), None) => format!("`types::{ty}`"),
            (None, Some(field)) => format!("`{field}`"),
            (None, None) => "the generated types".to_owned(),
        }
    }
}

/// How deep the walk follows schemas: far deeper than any real document, and an end for one
/// whose references loop in a way the `seen` set does not catch.
const DEPTH: usize = 48;

struct Walk<'a> {
    old: &'a Value,
    new: &'a Value,
    changes: Vec<Change>,
    /// (direction, old pointer, new pointer) of the referenced schemas already compared.
    seen: BTreeSet<(Dir, String, String)>,
}

impl<'a> Walk<'a> {
    fn push(
        &mut self,
        class: Class,
        path: &str,
        what: impl Into<String>,
        rust: impl Into<String>,
        (old, new): (Option<&Value>, Option<&Value>),
    ) {
        self.changes.push(Change {
            class,
            path: path.to_owned(),
            what: what.into(),
            rust: rust.into(),
            old: old.cloned(),
            new: new.cloned(),
        });
    }

    fn operations(&mut self) {
        let paths = |doc: &'a Value| doc.get("paths").and_then(Value::as_object);
        let (old_paths, new_paths) = (
            paths(self.old).unwrap_or(&EMPTY),
            paths(self.new).unwrap_or(&EMPTY),
        );
        for (path, old_item) in old_paths {
            let at = format!("/paths/{}", escape(path));
            for (method, old_op) in operations_of(old_item) {
                let at = format!("{at}/{method}");
                let id = operation_id(old_op, method, path);
                match new_paths.get(path).and_then(|item| item.get(method)) {
                    None => self.push(
                        Class::Breaking,
                        &at,
                        format!(
                            "operation {} {path} removed: calls to it fail",
                            method.to_ascii_uppercase()
                        ),
                        format!("method `Client::{id}` and its builder are removed"),
                        (Some(&Value::from(id.clone())), None),
                    ),
                    Some(new_op) => self.operation(&at, &id, old_op, new_op),
                }
            }
        }
        for (path, new_item) in new_paths {
            for (method, new_op) in operations_of(new_item) {
                if old_paths
                    .get(path)
                    .and_then(|item| item.get(method))
                    .is_none()
                {
                    let id = operation_id(new_op, method, path);
                    self.push(
                        Class::Compatible,
                        &format!("/paths/{}/{method}", escape(path)),
                        format!("operation {} {path} added", method.to_ascii_uppercase()),
                        format!("new method `Client::{id}`"),
                        (None, Some(&Value::from(id))),
                    );
                }
            }
        }
    }

    fn operation(&mut self, at: &str, id: &str, old: &'a Value, new: &'a Value) {
        let new_id = operation_id(new, "", "");
        if old.get("operationId").is_some() && new.get("operationId") != old.get("operationId") {
            self.push(
                Class::Breaking,
                &format!("{at}/operationId"),
                "operationId renamed: the generated method is renamed",
                format!("method `Client::{id}` becomes `Client::{new_id}`"),
                (old.get("operationId"), new.get("operationId")),
            );
        }
        self.parameters(at, id, old, new);
        self.request_body(at, id, old, new);
        self.responses(at, id, old, new);
    }

    fn parameters(&mut self, at: &str, id: &str, old: &'a Value, new: &'a Value) {
        // Each parameter by `in` and name, with the pointer where it is defined (its place in
        // the operation's list, or the component a `$ref` points to).
        let list = |doc: &'a Value, op: &'a Value| -> Vec<(String, String, &'a Value)> {
            op.get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .filter_map(|(i, p)| {
                    let (found_at, p) = resolve(doc, p, format!("{at}/parameters/{i}"));
                    let key = format!("{} {}", p.get("in")?.as_str()?, p.get("name")?.as_str()?);
                    Some((key, found_at, p))
                })
                .collect()
        };
        let (old_params, new_params) = (list(self.old, old), list(self.new, new));
        let required = |p: &Value| p.get("required") == Some(&Value::Bool(true));
        let name_of = |key: &str| {
            key.split_once(' ')
                .map_or(key.to_owned(), |(_, n)| n.to_owned())
        };
        for (key, old_at, old_param) in &old_params {
            let name = name_of(key);
            match new_params.iter().find(|(k, _, _)| k == key) {
                None => self.push(
                    Class::Breaking,
                    old_at,
                    format!("parameter `{key}` removed: requests that send it may be refused"),
                    format!(
                        "builder method `{}()` of `Client::{id}` removed",
                        snake_case(&name)
                    ),
                    (Some(&Value::from(key.clone())), None),
                ),
                Some((_, new_at, new_param)) => {
                    if !required(old_param) && required(new_param) {
                        self.push(
                            Class::Breaking,
                            &format!("{new_at}/required"),
                            format!(
                                "parameter `{key}` is now required: calls without it are refused"
                            ),
                            format!(
                                "`Client::{id}` fails at `send()` unless `{}()` is set",
                                snake_case(&name)
                            ),
                            (Some(&Value::Bool(false)), Some(&Value::Bool(true))),
                        );
                    } else if required(old_param) && !required(new_param) {
                        self.push(
                            Class::Compatible,
                            &format!("{new_at}/required"),
                            format!("parameter `{key}` is now optional"),
                            "none: the builder takes it or not",
                            (Some(&Value::Bool(true)), Some(&Value::Bool(false))),
                        );
                    }
                    if let (Some(o), Some(n)) = (old_param.get("schema"), new_param.get("schema")) {
                        let owner = Owner {
                            ty: None,
                            field: Some(format!("{}()` of `Client::{id}", snake_case(&name))),
                        };
                        self.schema(
                            Dir::Sent,
                            (format!("{old_at}/schema"), o),
                            (format!("{new_at}/schema"), n),
                            &owner,
                            0,
                        );
                    }
                }
            }
        }
        for (key, new_at, new_param) in &new_params {
            if old_params.iter().all(|(k, _, _)| k != key) {
                let name = name_of(key);
                let (class, what) = if required(new_param) {
                    (
                        Class::Breaking,
                        format!("required parameter `{key}` added: calls without it are refused"),
                    )
                } else {
                    (
                        Class::Compatible,
                        format!("optional parameter `{key}` added"),
                    )
                };
                self.push(
                    class,
                    new_at,
                    what,
                    format!(
                        "new builder method `{}()` on `Client::{id}`",
                        snake_case(&name)
                    ),
                    (None, Some(&Value::from(key.clone()))),
                );
            }
        }
    }

    fn request_body(&mut self, at: &str, id: &str, old: &'a Value, new: &'a Value) {
        let body = |doc: &'a Value, op: &'a Value| {
            op.get("requestBody")
                .map(|b| resolve(doc, b, String::new()).1)
        };
        let at = format!("{at}/requestBody");
        match (body(self.old, old), body(self.new, new)) {
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
                format!("builder method `body()` removed from `Client::{id}`"),
                (None, None),
            ),
            (Some(o), Some(n)) => self.content(Dir::Sent, &at, id, o, n),
            (None, None) => {}
        }
    }

    fn responses(&mut self, at: &str, id: &str, old: &'a Value, new: &'a Value) {
        let list = |op: &'a Value| op.get("responses").and_then(Value::as_object);
        let (old_list, new_list) = (list(old).unwrap_or(&EMPTY), list(new).unwrap_or(&EMPTY));
        for (status, pair) in paired(old_list, new_list) {
            let at = format!("{at}/responses/{}", escape(status));
            match pair {
                Paired::Removed => self.push(
                    Class::Breaking,
                    &at,
                    format!("documented answer {status} removed: the client treats it as unexpected"),
                    format!("`Client::{id}` no longer decodes a {status} answer (an unexpected-response error instead)"),
                    (Some(&Value::from(status.clone())), None),
                ),
                Paired::Both(old_response, new_response) => {
                    let o = resolve(self.old, old_response, String::new()).1;
                    let n = resolve(self.new, new_response, String::new()).1;
                    self.content(Dir::Received, &at, id, o, n);
                }
                Paired::Added => self.push(
                    Class::Compatible,
                    &at,
                    format!("answer {status} documented"),
                    format!("`Client::{id}` decodes a {status} answer"),
                    (None, Some(&Value::from(status.clone()))),
                ),
            }
        }
    }

    /// The media types of a request body or response, and their schemas.
    fn content(&mut self, dir: Dir, at: &str, id: &str, old: &'a Value, new: &'a Value) {
        let media = |v: &'a Value| v.get("content").and_then(Value::as_object);
        let (old_media, new_media) = (media(old).unwrap_or(&EMPTY), media(new).unwrap_or(&EMPTY));
        for (kind, pair) in paired(old_media, new_media) {
            let at = format!("{at}/content/{}", escape(kind));
            match pair {
                Paired::Removed => self.push(
                    Class::Breaking,
                    &at,
                    format!("media type {kind} removed"),
                    format!("`Client::{id}` no longer sends or reads {kind}"),
                    (Some(&Value::from(kind.clone())), None),
                ),
                Paired::Both(old_entry, new_entry) => {
                    if let (Some(o), Some(n)) = (old_entry.get("schema"), new_entry.get("schema")) {
                        let at = format!("{at}/schema");
                        self.schema(dir, (at.clone(), o), (at, n), &Owner::default(), 0);
                    }
                }
                Paired::Added => {
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
                        (None, Some(&Value::from(kind.clone()))),
                    );
                }
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
        let mut owner = owner.clone();
        let (old_at, old) = resolve(self.old, old, old_at);
        let (new_at, new) = resolve(self.new, new, new_at);
        if let Some(name) = component_name(&new_at) {
            owner = owner.in_type(&name);
            if !self.seen.insert((dir, old_at.clone(), new_at.clone())) {
                return;
            }
        }
        let depth = depth.saturating_add(1);
        self.kind(dir, &new_at, old, new, &owner);
        self.enumeration(dir, &new_at, old, new, &owner);
        self.bounds(dir, &new_at, old, new, &owner);
        self.nullable(dir, &new_at, old, new, &owner);
        self.object(dir, (&old_at, old), (&new_at, new), &owner, depth);
        if let (Some(o), Some(n)) = (old.get("items"), new.get("items")) {
            self.schema(
                dir,
                (old_at.clone() + "/items", o),
                (new_at.clone() + "/items", n),
                &owner,
                depth,
            );
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            self.branches(dir, key, (&old_at, old), (&new_at, new), &owner, depth);
        }
    }

    fn kind(&mut self, _dir: Dir, at: &str, old: &Value, new: &Value, owner: &Owner) {
        if let (Some(o), Some(n)) = (old.get("type"), new.get("type")) {
            if o != n {
                self.push(
                    Class::Breaking,
                    &format!("{at}/type"),
                    "the type changed: values of the old type are refused, or answers fail to parse",
                    format!("{} changes type", owner.describe()),
                    (Some(o), Some(n)),
                );
            }
        }
    }

    fn enumeration(&mut self, dir: Dir, at: &str, old: &Value, new: &Value, owner: &Owner) {
        let at = format!("{at}/enum");
        let values = |v: &Value| v.get("enum").and_then(Value::as_array).cloned();
        match (values(old), values(new)) {
            (Some(o), Some(n)) => {
                let removed: Vec<Value> = o.iter().filter(|v| !n.contains(v)).cloned().collect();
                let added: Vec<Value> = n.iter().filter(|v| !o.contains(v)).cloned().collect();
                if !removed.is_empty() {
                    let class = if dir == Dir::Sent {
                        Class::Breaking
                    } else {
                        Class::Compatible
                    };
                    self.push(
                        class,
                        &at,
                        match dir {
                            Dir::Sent => "enum values removed: requests with them are refused",
                            Dir::Received => "enum values removed: answers carry fewer values",
                        },
                        format!(
                            "{} loses the variants for {}",
                            owner.describe(),
                            list(&removed)
                        ),
                        (Some(&Value::from(removed)), None),
                    );
                }
                if !added.is_empty() {
                    let class = if dir == Dir::Sent {
                        Class::Compatible
                    } else {
                        Class::Breaking
                    };
                    self.push(
                        class,
                        &at,
                        match dir {
                            Dir::Sent => "enum values added: more requests are accepted",
                            Dir::Received => "enum values added to a closed enum: an old client cannot read answers that carry them",
                        },
                        format!("{} gains variants for {}", owner.describe(), list(&added)),
                        (None, Some(&Value::from(added))),
                    );
                }
            }
            (None, Some(n)) => self.push(
                if dir == Dir::Sent {
                    Class::Breaking
                } else {
                    Class::Compatible
                },
                &at,
                "the value is now restricted to an enum",
                format!("{} becomes an enum", owner.describe()),
                (None, Some(&Value::from(n))),
            ),
            (Some(o), None) => self.push(
                if dir == Dir::Sent {
                    Class::Compatible
                } else {
                    Class::Breaking
                },
                &at,
                "the enum restriction is gone: any value of the type",
                format!("{} is no longer an enum", owner.describe()),
                (Some(&Value::from(o)), None),
            ),
            (None, None) => {}
        }
    }

    fn bounds(&mut self, dir: Dir, at: &str, old: &Value, new: &Value, owner: &Owner) {
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
                (None, None) => continue,
            };
            let rust = match keyword {
                "minimum" | "maximum" => match (rust_integer_type(old), rust_integer_type(new)) {
                    (Some(a), Some(b)) if a != b => format!(
                        "{} changes from `{a}` to `{b}` (typify picks the integer type from the bounds)",
                        owner.describe()
                    ),
                    _ => format!(
                        "no signature change: {} keeps its number type (the generated code does not check numeric bounds; the provider and, for bodies, `validate_body` do)",
                        owner.describe()
                    ),
                },
                _ if keyword.ends_with("Length") => format!(
                    "no signature change; the `TryFrom` of the generated newtype for {} checks the new length",
                    owner.describe()
                ),
                _ => format!(
                    "no signature change ({} stays a `Vec`); `validate_body` and the provider judge the count",
                    owner.describe()
                ),
            };
            self.bound(
                dir,
                &format!("{at}/{keyword}"),
                keyword,
                stricter,
                rust,
                (o, n),
            );
        }
        for (keyword, what) in [
            ("exclusiveMinimum", "the minimum"),
            ("exclusiveMaximum", "the maximum"),
        ] {
            let flag = |v: &Value| v.get(keyword) == Some(&Value::Bool(true));
            if flag(old) != flag(new) {
                self.bound(
                    dir,
                    &format!("{at}/{keyword}"),
                    &format!("{what}'s exclusiveness"),
                    flag(new),
                    "no signature change".to_owned(),
                    (old.get(keyword), new.get(keyword)),
                );
            }
        }
        for keyword in ["pattern", "format"] {
            let (o, n) = (old.get(keyword), new.get(keyword));
            if o == n {
                continue;
            }
            let rust = format!(
                "the `TryFrom` of the generated newtype for {} checks the new {keyword}, if it checked one",
                owner.describe()
            );
            // A changed pattern may accept less; only one removed surely accepts more.
            self.bound(
                dir,
                &format!("{at}/{keyword}"),
                keyword,
                n.is_some(),
                rust,
                (o, n),
            );
        }
    }

    /// One bound changed: stricter requests are breaking; answers bounded more tightly are
    /// still read, and more loosely too (the generated types do not check response bounds).
    fn bound(
        &mut self,
        dir: Dir,
        at: &str,
        keyword: &str,
        stricter: bool,
        rust: String,
        values: (Option<&Value>, Option<&Value>),
    ) {
        let (class, what) = match (dir, stricter) {
            (Dir::Sent, true) => (
                Class::Breaking,
                format!("{keyword} tightened: requests that were valid may be refused"),
            ),
            (Dir::Sent, false) => (
                Class::Compatible,
                format!("{keyword} loosened: more requests are accepted"),
            ),
            (Dir::Received, _) => (
                Class::Compatible,
                format!("{keyword} of an answer changed: answers are read as before"),
            ),
        };
        self.push(class, at, what, rust, values);
    }

    fn nullable(&mut self, dir: Dir, at: &str, old: &Value, new: &Value, owner: &Owner) {
        let flag = |v: &Value| v.get("nullable") == Some(&Value::Bool(true));
        if flag(old) == flag(new) {
            return;
        }
        let allows = flag(new);
        let class = match (dir, allows) {
            (Dir::Sent, true) | (Dir::Received, false) => Class::Compatible,
            (Dir::Sent, false) | (Dir::Received, true) => Class::Breaking,
        };
        let what = if allows {
            "null is now allowed"
        } else {
            "null is no longer allowed"
        };
        let rust = if allows {
            format!("{} becomes an `Option`", owner.describe())
        } else {
            format!("{} is no longer an `Option`", owner.describe())
        };
        self.push(
            class,
            &format!("{at}/nullable"),
            what,
            rust,
            (old.get("nullable"), new.get("nullable")),
        );
    }

    fn object(
        &mut self,
        dir: Dir,
        (old_at, old): (&str, &'a Value),
        (new_at, new): (&str, &'a Value),
        owner: &Owner,
        depth: usize,
    ) {
        let properties = |v: &'a Value| v.get("properties").and_then(Value::as_object);
        let (old_props, new_props) = (
            properties(old).unwrap_or(&EMPTY),
            properties(new).unwrap_or(&EMPTY),
        );
        let closed = |v: &Value| v.get("additionalProperties") == Some(&Value::Bool(false));
        let required_at = format!("{new_at}/required");
        for (name, pair) in paired(old_props, new_props) {
            let field = owner.with_field(name);
            let (old_at, new_at) = (
                format!("{old_at}/properties/{}", escape(name)),
                format!("{new_at}/properties/{}", escape(name)),
            );
            match pair {
                Paired::Removed => {
                    let (class, what) = match dir {
                        Dir::Sent if closed(new) => (
                            Class::Breaking,
                            "field removed: requests that send it are refused (unknown fields are)",
                        ),
                        Dir::Sent => (
                            Class::Compatible,
                            "field removed: requests that send it may have it ignored",
                        ),
                        Dir::Received => (
                            Class::Breaking,
                            "field removed from answers: code that reads it gets nothing",
                        ),
                    };
                    self.push(
                        class,
                        &old_at,
                        what,
                        format!("{} is removed", field.describe()),
                        (Some(&Value::from(name.clone())), None),
                    );
                }
                Paired::Both(old_prop, new_prop) => {
                    self.requirement(dir, (old, new), name, &field, &required_at);
                    self.schema(dir, (old_at, old_prop), (new_at, new_prop), &field, depth);
                }
                Paired::Added => {
                    let is_required = required(new, name);
                    let (class, what) = match (dir, is_required) {
                        (Dir::Sent, true) => (
                            Class::Breaking,
                            "required field added: requests without it are refused",
                        ),
                        (Dir::Sent, false) => (Class::Compatible, "optional field added"),
                        (Dir::Received, _) => (Class::Compatible, "field added to answers"),
                    };
                    let kind = if is_required { "`T`" } else { "`Option<T>`" };
                    self.push(
                        class,
                        &new_at,
                        what,
                        format!("{} added ({kind}): code that builds the struct with a literal must set it", field.describe()),
                        (None, Some(&Value::from(name.clone()))),
                    );
                }
            }
        }
        if closed(old) != closed(new) && (old_props.len() + new_props.len()) > 0 {
            let now_closed = closed(new);
            let class = match (dir, now_closed) {
                (Dir::Sent, true) => Class::Breaking,
                _ => Class::Compatible,
            };
            self.push(
                class,
                &format!("{new_at}/additionalProperties"),
                if now_closed {
                    "unknown fields are now refused"
                } else {
                    "unknown fields are now allowed"
                },
                format!(
                    "{} {} `deny_unknown_fields`",
                    owner.describe(),
                    if now_closed { "gains" } else { "loses" }
                ),
                (
                    old.get("additionalProperties"),
                    new.get("additionalProperties"),
                ),
            );
        }
    }

    /// A field kept in both versions whose `required` changed.
    fn requirement(
        &mut self,
        dir: Dir,
        (old, new): (&Value, &Value),
        name: &str,
        field: &Owner,
        at: &str,
    ) {
        match (required(old, name), required(new, name)) {
            (false, true) => self.push(
                if dir == Dir::Sent { Class::Breaking } else { Class::Compatible },
                at,
                format!("`{name}` is now required{}", if dir == Dir::Sent { ": requests without it are refused" } else { "" }),
                format!("{} changes from `Option<T>` to `T`: code that builds it must set it", field.describe()),
                (None, Some(&Value::from(name))),
            ),
            (true, false) => self.push(
                if dir == Dir::Sent { Class::Compatible } else { Class::Breaking },
                at,
                format!("`{name}` is now optional{}", if dir == Dir::Received { ": answers may lack it, and an old client fails to read them" } else { "" }),
                format!("{} changes from `T` to `Option<T>`: code that reads or builds it must handle `None`", field.describe()),
                (Some(&Value::from(name)), None),
            ),
            _ => {}
        }
    }

    fn branches(
        &mut self,
        dir: Dir,
        key: &str,
        (old_at, old): (&str, &'a Value),
        (new_at, new): (&str, &'a Value),
        owner: &Owner,
        depth: usize,
    ) {
        let list = |v: &'a Value| v.get(key).and_then(Value::as_array);
        let (Some(o), Some(n)) = (list(old), list(new)) else {
            return;
        };
        for (i, (ob, nb)) in o.iter().zip(n.iter()).enumerate() {
            self.schema(
                dir,
                (format!("{old_at}/{key}/{i}"), ob),
                (format!("{new_at}/{key}/{i}"), nb),
                owner,
                depth,
            );
        }
        if o.len() == n.len() || key == "allOf" {
            return;
        }
        let fewer = n.len() < o.len();
        let class = match (dir, fewer) {
            (Dir::Sent, true) | (Dir::Received, false) => Class::Breaking,
            _ => Class::Compatible,
        };
        self.push(
            class,
            &format!("{new_at}/{key}"),
            format!("{key} has {} branches instead of {}", n.len(), o.len()),
            format!("{} gains or loses variants", owner.describe()),
            (Some(&Value::from(o.len())), Some(&Value::from(n.len()))),
        );
    }
}

/// The Rust type typify generates for an integer schema without a `format`, as the snapshots
/// in `tests/snapshots/` show it: `NonZeroU64` for `minimum: 1` (with or without a maximum),
/// `u64` for `minimum: 0` without a maximum, else `i64` (`0..=2147483647` and `3..=15` too).
pub fn rust_integer_type(schema: &Value) -> Option<&'static str> {
    if schema.get("type").and_then(Value::as_str) != Some("integer")
        || schema.get("format").is_some()
    {
        return None;
    }
    let min = schema.get("minimum").and_then(Value::as_f64);
    Some(match (min, schema.get("maximum")) {
        (Some(1.0), _) => "NonZeroU64",
        (Some(0.0), None) => "u64",
        _ => "i64",
    })
}

/// Whether an object schema lists `name` as required.
fn required(schema: &Value, name: &str) -> bool {
    schema
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|n| n == name))
}

/// One key of two objects: only in the old one, in both, or only in the new one.
enum Paired<'m> {
    Removed,
    Both(&'m Value, &'m Value),
    Added,
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
            None => (key, Paired::Removed),
        })
        .collect();
    out.extend(
        new.iter()
            .filter(|(key, _)| !old.contains_key(*key))
            .map(|(key, _)| (key, Paired::Added)),
    );
    out
}

/// The HTTP operations of a path item, in document order.
fn operations_of(item: &Value) -> Vec<(&str, &Value)> {
    item.as_object()
        .into_iter()
        .flatten()
        .filter(|(method, _)| {
            matches!(
                method.as_str(),
                "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace"
            )
        })
        .map(|(method, op)| (method.as_str(), op))
        .collect()
}

fn operation_id(op: &Value, method: &str, path: &str) -> String {
    op.get("operationId")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{method} {path}"))
}

/// `value`, or what its local `$ref` points to (chains followed, a few levels), with the
/// pointer where it was found.
fn resolve<'v>(document: &'v Value, value: &'v Value, at: String) -> (String, &'v Value) {
    let (mut at, mut value) = (at, value);
    for _ in 0..8 {
        let Some(target) = value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        else {
            break;
        };
        match document.pointer(target) {
            Some(found) => {
                at = target.to_owned();
                value = found;
            }
            None => break,
        }
    }
    (at, value)
}

/// The component name of a pointer to `/components/schemas/NAME` itself.
fn component_name(pointer: &str) -> Option<String> {
    let name = pointer.strip_prefix("/components/schemas/")?;
    (!name.contains('/')).then(|| name.replace("~1", "/").replace("~0", "~"))
}

/// A JSON Pointer segment for `text`.
fn escape(text: &str) -> String {
    text.replace('~', "~0").replace('/', "~1")
}

/// `camelCase` or `kebab-case` as `snake_case`, as progenitor names fields and methods.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if previous_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            previous_lower = false;
        } else if c == '-' || c == ' ' {
            out.push('_');
            previous_lower = false;
        } else {
            out.push(c);
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

fn list(values: &[Value]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_progenitor() {
        assert_eq!(snake_case("happyhorse11Params"), "happyhorse11_params");
        assert_eq!(snake_case("webhookUrl"), "webhook_url");
        assert_eq!(snake_case("Idempotency-Key"), "idempotency_key");
        assert_eq!(snake_case("reference_image"), "reference_image");
    }

    #[test]
    fn a_document_against_itself_has_no_changes() {
        for provider in crate::Provider::ALL {
            let doc = crate::contract::openapi(provider);
            assert_eq!(compare(doc, doc), Report::default(), "{provider}");
        }
    }

    #[test]
    fn garbage_is_compared_without_a_panic() {
        let shapes = [
            Value::Null,
            serde_json::json!([]),
            serde_json::json!({"paths": 5}),
            serde_json::json!({"paths": {"/x": {"get": {"parameters": [{"$ref": "#/nowhere"}], "responses": []}}}}),
            serde_json::json!({"paths": {"/x": {"get": {"requestBody": {"content": {"a/b": {"schema": {"$ref": "#/components/schemas/A"}}}}}}}, "components": {"schemas": {"A": {"$ref": "#/components/schemas/A"}}}}),
        ];
        for old in &shapes {
            for new in &shapes {
                let _ = compare(old, new);
            }
        }
    }
}
