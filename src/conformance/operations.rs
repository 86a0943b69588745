//! A document's operations and what each may answer: the documented statuses (exact, `4XX`
//! ranges, `default`), their media types, headers and compiled body schemas; and the judge
//! that says where an answer departs from them.

use std::{collections::BTreeMap, fmt};

use serde_json::{Map, Value};

use super::{compile, DocumentError};
use crate::contract::{escape, is_method};

/// One operation of a document (`POST /tasks`, say) and its documented answers.
pub struct Operation {
    /// The `operationId` (`create_task`, `get_job`, ...).
    pub id: String,
    /// The HTTP method, upper case.
    pub method: String,
    /// The path template, as the document writes it (`/tasks/{id}`).
    pub path: String,
    responses: BTreeMap<String, Documented>,
    /// The link expressions of each success response: `(status, operationId, parameter,
    /// expression)`.
    links: Vec<Link>,
    /// The raw operation object, for parameters and the request body.
    raw: Value,
}

/// One OpenAPI link from an operation's answer to another operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The status key of the response that carries the link.
    pub status: String,
    /// The linked operation's `operationId`.
    pub operation: String,
    /// The linked operation's parameter the expression fills.
    pub parameter: String,
    /// The runtime expression, e.g. `$response.body#/data/taskId`.
    pub expression: String,
}

/// One documented answer of an operation.
struct Documented {
    /// The documented media types, each with its compiled schema when it has one.
    content: Vec<(String, Option<jsonschema::Validator>)>,
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operation")
            .field("id", &self.id)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("statuses", &self.responses.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// An answer to judge: its status, `Content-Type` header and body.
#[derive(Clone, Copy, Debug)]
pub struct Answer<'a> {
    /// The HTTP status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The body's bytes.
    pub body: &'a [u8],
}

/// Where an answer departs from its operation's documented answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// The operation documents no response for this status (and no range or `default`).
    UndocumentedStatus {
        /// The status answered.
        status: u16,
        /// The statuses the operation documents.
        documented: Vec<String>,
    },
    /// The media type is not one documented for this status.
    ContentType {
        /// The status answered.
        status: u16,
        /// The media type answered (`None` when the header is missing).
        found: Option<String>,
        /// The documented media types (empty: no body documented).
        documented: Vec<String>,
    },
    /// The body is not what the documented media type says (not JSON, say).
    Unreadable {
        /// The status answered.
        status: u16,
        /// Why.
        reason: String,
    },
    /// The body does not validate against the documented schema.
    Schema {
        /// The status answered.
        status: u16,
        /// Each error, as `JSON pointer: message`.
        errors: Vec<String>,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::UndocumentedStatus { status, documented } => write!(
                f,
                "status {status} is not documented (documented: {})",
                documented.join(", ")
            ),
            Violation::ContentType {
                status,
                found,
                documented,
            } => {
                let found = found.as_deref().unwrap_or("no Content-Type");
                if documented.is_empty() {
                    write!(f, "{status}: a {found} body where none is documented")
                } else {
                    write!(
                        f,
                        "{status}: {found}, documented {}",
                        documented.join(" or ")
                    )
                }
            }
            Violation::Unreadable { status, reason } => write!(f, "{status}: {reason}"),
            Violation::Schema { status, errors } => write!(
                f,
                "{status}: the body departs from the documented schema: {}",
                errors.join("; ")
            ),
        }
    }
}

/// Every operation of `document`, in the order of its paths, each with its answers' schemas
/// compiled (draft 4, formats checked, `nullable` translated).
pub fn operations(document: &Value) -> Result<Vec<Operation>, DocumentError> {
    let paths = document
        .get("paths")
        .and_then(Value::as_object)
        .ok_or_else(|| DocumentError::new("/paths", "no paths object"))?;
    let mut found = Vec::new();
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, raw) in item {
            if !is_method(method) {
                continue;
            }
            let at = format!("/paths/{}/{method}", escape(path));
            found.push(operation(document, path, method, raw, &at)?);
        }
    }
    Ok(found)
}

fn operation(
    document: &Value,
    path: &str,
    method: &str,
    raw: &Value,
    at: &str,
) -> Result<Operation, DocumentError> {
    let id = raw
        .get("operationId")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{} {path}", method.to_ascii_uppercase()));
    let mut responses = BTreeMap::new();
    let mut links = Vec::new();
    let empty = Map::new();
    let listed = raw
        .get("responses")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (status, response) in listed {
        let at = format!("{at}/responses/{status}");
        let response = resolve(document, response, &at)?;
        let mut content = Vec::new();
        if let Some(media) = response.get("content").and_then(Value::as_object) {
            for (media_type, entry) in media {
                let schema = match entry.get("schema") {
                    Some(schema) => Some(compile(document, schema, &at)?),
                    None => None,
                };
                content.push((media_type.to_ascii_lowercase(), schema));
            }
        }
        if let Some(declared) = response.get("links").and_then(Value::as_object) {
            for link in declared.values() {
                let link = resolve(document, link, &at)?;
                let Some(operation) = link.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                let parameters = link.get("parameters").and_then(Value::as_object);
                for (parameter, expression) in parameters.into_iter().flatten() {
                    if let Some(expression) = expression.as_str() {
                        links.push(Link {
                            status: status.clone(),
                            operation: operation.to_owned(),
                            parameter: parameter.clone(),
                            expression: expression.to_owned(),
                        });
                    }
                }
            }
        }
        responses.insert(status.clone(), Documented { content });
    }
    Ok(Operation {
        id,
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        responses,
        links,
        raw: raw.clone(),
    })
}

/// `value`, or what its local `$ref` points to (one level, as response and link objects use).
pub(crate) fn resolve<'a>(
    document: &'a Value,
    value: &'a Value,
    at: &str,
) -> Result<&'a Value, DocumentError> {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .ok_or_else(|| DocumentError::new(at, "only local references are followed"))?;
            document
                .pointer(pointer)
                .ok_or_else(|| DocumentError::new(at, format!("{reference} points nowhere")))
        }
        None => Ok(value),
    }
}

impl Operation {
    /// The statuses this operation documents (`"200"`, `"4XX"`, `"default"`, ...).
    pub fn statuses(&self) -> impl Iterator<Item = &str> {
        self.responses.keys().map(String::as_str)
    }

    /// The documented response key that covers `status`: the exact code, else its range
    /// (`4XX`), else `default`.
    pub fn covering(&self, status: u16) -> Option<&str> {
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        let found = [exact.as_str(), range.as_str(), "default"]
            .into_iter()
            .find_map(|key| self.responses.get_key_value(key))
            .map(|(key, _)| key.as_str());
        found
    }

    /// Whether the operation documents `status` itself (not through a range or `default`).
    pub fn documents(&self, status: u16) -> bool {
        self.responses.contains_key(&status.to_string())
    }

    /// The links of this operation's answers.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The operation object as the document writes it (parameters, request body).
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Every way `answer` departs from what this operation documents; empty when it conforms.
    pub fn judge(&self, answer: &Answer<'_>) -> Vec<Violation> {
        let Some(key) = self.covering(answer.status) else {
            return vec![Violation::UndocumentedStatus {
                status: answer.status,
                documented: self.responses.keys().cloned().collect(),
            }];
        };
        let documented = &self.responses[key];
        let media = answer.content_type.map(essence);
        if documented.content.is_empty() {
            return if answer.body.is_empty() {
                Vec::new()
            } else {
                vec![Violation::ContentType {
                    status: answer.status,
                    found: media,
                    documented: Vec::new(),
                }]
            };
        }
        let Some((media_type, schema)) = documented
            .content
            .iter()
            .find(|(documented, _)| Some(documented) == media.as_ref())
        else {
            return vec![Violation::ContentType {
                status: answer.status,
                found: media,
                documented: documented.content.iter().map(|(m, _)| m.clone()).collect(),
            }];
        };
        let Some(schema) = schema else {
            return Vec::new();
        };
        if !is_json(media_type) {
            return Vec::new();
        }
        let body: Value = match serde_json::from_slice(answer.body) {
            Ok(body) => body,
            Err(err) => {
                return vec![Violation::Unreadable {
                    status: answer.status,
                    reason: format!("the {media_type} body is not JSON: {err}"),
                }]
            }
        };
        let errors: Vec<String> = schema
            .iter_errors(&body)
            .map(|err| format!("{}: {err}", err.instance_path()))
            .collect();
        if errors.is_empty() {
            Vec::new()
        } else {
            vec![Violation::Schema {
                status: answer.status,
                errors,
            }]
        }
    }
}

/// A media type without its parameters, lower case (`application/json; charset=utf-8` →
/// `application/json`).
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn is_json(media_type: &str) -> bool {
    media_type == "application/json" || media_type.ends_with("+json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document() -> Value {
        json!({
            "openapi": "3.0.3",
            "paths": {"/things/{id}": {"get": {
                "operationId": "get_thing",
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "4XX": {"$ref": "#/components/responses/Error"},
                    "416": {"description": "no body"}
                }
            }}},
            "components": {
                "schemas": {
                    "Thing": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "note": {"type": "string", "nullable": true}}, "additionalProperties": false}
                },
                "responses": {"Error": {"description": "e", "content": {"application/json": {"schema": {"type": "object", "required": ["error"]}}}}}
            }
        })
    }

    fn judge(status: u16, content_type: Option<&str>, body: &str) -> Vec<Violation> {
        let operations = operations(&document()).unwrap();
        operations[0].judge(&Answer {
            status,
            content_type,
            body: body.as_bytes(),
        })
    }

    #[test]
    fn a_documented_answer_conforms() {
        let json = Some("application/json; charset=utf-8");
        assert!(judge(200, json, r#"{"id": "a", "note": null}"#).is_empty());
        assert!(judge(404, json, r#"{"error": "x"}"#).is_empty());
        assert!(judge(416, None, "").is_empty());
    }

    #[test]
    fn each_departure_is_named() {
        let json = Some("application/json");
        assert!(matches!(
            judge(500, json, "{}")[..],
            [Violation::UndocumentedStatus { status: 500, .. }]
        ));
        assert!(matches!(
            judge(404, Some("text/plain"), "nope")[..],
            [Violation::ContentType { status: 404, .. }]
        ));
        assert!(matches!(
            judge(200, json, "{")[..],
            [Violation::Unreadable { status: 200, .. }]
        ));
        let schema = judge(200, json, r#"{"id": 1, "extra": true}"#);
        assert!(
            matches!(&schema[..], [Violation::Schema { errors, .. }] if errors.len() == 2),
            "{schema:?}"
        );
        assert!(matches!(
            judge(416, Some("text/plain"), "x")[..],
            [Violation::ContentType { .. }]
        ));
    }

    #[test]
    fn links_are_read() {
        let mut doc = document();
        doc["paths"]["/things/{id}"]["get"]["responses"]["200"]["links"] = json!({"Self": {"operationId": "get_thing", "parameters": {"id": "$response.body#/id"}}});
        let ops = operations(&doc).unwrap();
        assert_eq!(
            ops[0].links(),
            [Link {
                status: "200".into(),
                operation: "get_thing".into(),
                parameter: "id".into(),
                expression: "$response.body#/id".into()
            }]
        );
    }
}
