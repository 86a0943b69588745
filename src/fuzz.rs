//! Property tests over every parser of outside data in the client: what a provider answers
//! (task and job bodies through the generated types into a [`TaskSnapshot`], error bodies into
//! an [`Error`], `Retry-After`), what a callback sender delivers (headers, body, its clock),
//! and the unit formatting those values reach. The property everywhere: no panic, in debug
//! (overflow checks on) as in release, and a clear answer; for signatures, also that nothing
//! without a valid signature is accepted.
//!
//! Inputs are arbitrary JSON values (a recursive strategy whose keys lean towards the
//! providers' field names), arbitrary strings and bytes, and near-valid mutations of real
//! bodies (fields set to edge values, removed or added; then, for the byte-level parsers,
//! bytes truncated, replaced, inserted or deleted, and numbers no JSON value can hold), so
//! that the parsers get past their first check.
//!
//! Case counts: 1024 per property (the `proptest_config` of each block; the whole module runs
//! in about 6 s in a debug build on two cores); `PROPTEST_CASES` overrides them all for a
//! longer run, e.g. `PROPTEST_CASES=100000 cargo test --release --lib fuzz`. A failing case
//! is saved to `src/fuzz.proptest-regressions` and replayed first on later runs.
//!
//! `Content-Range` (and the `416` `bytes */N` form) and the content-type check live in a
//! private module of the client; they are exercised end to end, through a download from a
//! loopback server, in `tests/parsers.rs`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use proptest::{
    collection::vec,
    option,
    prelude::*,
    sample::{select, Index},
    test_runner::FileFailurePersistence,
};
use reqwest::{
    header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER},
    StatusCode,
};
use serde_json::{json, Number, Value};
use sha2::{Digest, Sha256};

use crate::{
    client::{
        ApiKey, CallbackError, CallbackInbox, Delivery, Error, Finished, Output, TaskSnapshot,
        TaskState,
    },
    generated::{apiframe, hiapi, reapi},
    retry::{self, RetryPolicy},
    units,
    webhook::{self, SignatureError, HIAPI_TOLERANCE},
    Provider,
};

/// `cases` cases, or `PROPTEST_CASES` when set.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        max_shrink_iters: 4096,
        // A failing case is saved beside this file, as `fuzz.proptest-regressions`, and
        // replayed first on every run once committed.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Value pools
// ---------------------------------------------------------------------------------------------

/// The providers' field names (task, job, error bodies and their envelopes), so that arbitrary
/// objects often have the shape a parser looks for.
const KEYS: &[&str] = &[
    "taskId",
    "id",
    "status",
    "model",
    "output",
    "url",
    "expireAt",
    "type",
    "error",
    "code",
    "message",
    "error_code",
    "data",
    "tasks",
    "video_urls",
    "completedAt",
    "createdAt",
    "creditCost",
    "progress",
    "result",
    "urls",
    "expired",
    "webhookStatus",
    "input",
    "details",
    "creditsRequired",
    "creditsAvailable",
    "storage",
    "route",
    "created",
    "completed",
];

/// Status names of every provider, in several cases, and a few that no provider uses.
const STATUSES: &[&str] = &[
    "queued",
    "handling",
    "archiving",
    "processing",
    "success",
    "fail",
    "pending",
    "completed",
    "failed",
    "QUEUED",
    "PROCESSING",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "cancelled",
    "Canceled",
    "SUCCESS",
    "",
    " success",
    "succeſs",
    "\u{0}",
];

/// Strings that have broken parsers before: empty, control and combining characters, a BOM,
/// right-to-left marks, surrogate-free astral characters, URLs with secrets in them.
const WORDS: &[&str] = &[
    "",
    " ",
    "\t",
    "\u{0}",
    "\u{feff}",
    "\u{202e}",
    "e\u{301}",
    "😀",
    "null",
    "NaN",
    "-",
    "0",
    "-0",
    "1e400",
    "https://temp.hiapi.ai/x/tk-1-0.mp4?sig=SECRET",
    "https://user:SECRET@cdn.example.com/a.mp4#SECRET",
    "http://[::1]:80/v.mp4",
    "http://",
    "//no-scheme",
    "not a url",
    "b2c3d4e5-f6a7-8901-bcde-f23456789012",
    "00000000-0000-0000-0000-000000000000",
    "b2c3d4e5f6a78901bcdef23456789012",
    "{b2c3d4e5-f6a7-8901-bcde-f23456789012}",
    "urn:uuid:b2c3d4e5-f6a7-8901-bcde-f23456789012",
];

/// Integers at the edges of the types the parsers and the arithmetic after them use
/// (`i64`, `u8` progress, chrono's timestamp range).
fn edge_ints() -> Vec<i64> {
    let max = DateTime::<Utc>::MAX_UTC.timestamp();
    let min = DateTime::<Utc>::MIN_UTC.timestamp();
    vec![
        i64::MIN,
        i64::MIN + 1,
        -1,
        0,
        1,
        99,
        100,
        101,
        127,
        128,
        255,
        256,
        i64::from(i32::MAX),
        i64::from(u32::MAX),
        1_700_000_000,
        min - 1,
        min,
        max - 86_400,
        max,
        max + 1,
        i64::MAX - 1,
        i64::MAX,
    ]
}

/// RFC 3339 dates at and just inside chrono's limits (where adding Apiframe's 24 h retention
/// overflows), just outside them, and invalid ones.
fn edge_dates() -> Vec<String> {
    let max = DateTime::<Utc>::MAX_UTC;
    let min = DateTime::<Utc>::MIN_UTC;
    let mut dates: Vec<String> = [
        Some(max),
        max.checked_sub_signed(TimeDelta::seconds(1)),
        max.checked_sub_signed(TimeDelta::hours(24)),
        max.checked_sub_signed(TimeDelta::hours(24) + TimeDelta::seconds(1)),
        max.checked_sub_signed(TimeDelta::hours(24) - TimeDelta::seconds(1)),
        Some(min),
        min.checked_add_signed(TimeDelta::seconds(1)),
        Some(DateTime::UNIX_EPOCH),
    ]
    .into_iter()
    .flatten()
    .flat_map(|at| {
        [
            at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            at.to_rfc3339_opts(SecondsFormat::Secs, false),
            serde_json::to_value(at)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        ]
    })
    .collect();
    dates.extend(
        [
            "2026-01-01T00:03:00Z",
            "9999-12-31T23:59:59Z",
            "+262143-01-01T00:00:00Z",
            "-262144-01-01T00:00:00Z",
            "+262142-12-31T23:59:59-23:59",
            "+262142-12-31T23:59:59.999999999-00:01",
            "-262143-01-01T00:00:00+23:59",
            "2026-02-30T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-12-31T23:59:60Z",
            "2026-01-01T00:00:00+99:99",
            "2026-01-01",
            "2026-01-01T00:00:00.9999999999999999999999Z",
        ]
        .map(str::to_owned),
    );
    dates
}

/// Number literals no `serde_json::Value` can hold, spliced into serialised bodies: a marker
/// string that [`splice_raw`] replaces with the literal.
const RAW_LITERALS: &[&str] = &[
    "18446744073709551616",
    "-9223372036854775809",
    "1e400",
    "-1e400",
    "1e-400",
    "100.0",
    "1E2",
    "0.0000000000000000000000000000000000000000001",
    "123456789012345678901234567890123456789012345678901234567890",
    "-0",
];
const RAW_MARKER: &str = "\u{1}raw:";

/// Replaces every `"\u0001raw:LITERAL"` in serialised JSON with `LITERAL`, unquoted.
fn splice_raw(text: &str) -> String {
    const QUOTED: &str = "\"\\u0001raw:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(QUOTED) {
        out.push_str(&rest[..at]);
        let after = &rest[at + QUOTED.len()..];
        let Some(end) = after.find('"') else {
            out.push_str(&rest[at..]);
            return out;
        };
        out.push_str(&after[..end]);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[ -~]{0,24}",
        2 => select(WORDS).prop_map(str::to_owned),
        1 => select(STATUSES).prop_map(str::to_owned),
        1 => select(edge_dates()),
        1 => (any::<char>(), 0usize..4000).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
    .boxed()
}

fn key() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(KEYS).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
    .boxed()
}

fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        select(edge_ints()).prop_map(Value::from),
    ]
    .boxed()
}

/// Any JSON value, up to four levels deep.
fn json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((key(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A value for a field of a near-valid body: mostly an edge value, sometimes anything.
fn field_value() -> BoxedStrategy<Value> {
    let mut edges: Vec<Value> = edge_ints().into_iter().map(Value::from).collect();
    edges.extend([
        json!(u64::MAX),
        json!(1e308),
        json!(-1e308),
        json!(0.5),
        json!(-0.0),
        json!(100.5),
        json!(1.8446744073709552e19),
        json!(null),
        json!(true),
        json!([]),
        json!({}),
        json!([null]),
        json!(["https://cdn.example.com/a.mp4?sig=SECRET", 7, null, {"url": "x"}]),
        json!({"urls": "https://cdn.example.com/a.mp4"}),
    ]);
    edges.extend(edge_dates().into_iter().map(Value::String));
    edges.extend(WORDS.iter().chain(STATUSES).map(|s| json!(s)));
    edges.extend(
        RAW_LITERALS
            .iter()
            .map(|l| json!(format!("{RAW_MARKER}{l}"))),
    );
    prop_oneof![
        3 => select(edges),
        1 => json(),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------------------------
// Near-valid bodies
// ---------------------------------------------------------------------------------------------

fn hiapi_tasks() -> Vec<Value> {
    vec![
        json!({
            "taskId": "tk-hiapi-01KW3", "model": "happyhorse-1.1/text-to-video",
            "status": "success", "created": 1_700_000_000, "completed": 1_700_000_180,
            "route": "default", "storage": null,
            "output": [{"type": "video", "url": "https://temp.hiapi.ai/x/tk-0.mp4?sig=SECRET",
                        "expireAt": 1_700_604_980}]
        }),
        json!({
            "taskId": "tk-2", "status": "fail", "created": 1_700_000_000, "completed": 0,
            "error": {"code": "NSFW_CONTENT", "message": "the reference image was refused"}
        }),
        json!({"taskId": "tk-3", "status": "handling"}),
    ]
}

fn hiapi_envelopes() -> Vec<Value> {
    let mut envelopes: Vec<Value> = hiapi_tasks()
        .into_iter()
        .map(|task| json!({"code": 200, "message": "success", "data": task}))
        .collect();
    envelopes.push(json!({"code": 404, "error_code": "NOT_FOUND", "message": "no such task"}));
    envelopes
}

fn reapi_tasks() -> Vec<Value> {
    vec![
        json!({
            "id": "task_01", "model": "happyhorse-1-1", "status": "completed", "error": null,
            "output": {"video_urls": ["https://cdn.reapi.ai/media/tasks/01/0.mp4"]}
        }),
        json!({
            "id": "task_02", "status": "failed",
            "error": {"code": 20002, "message": "invalid parameter"}
        }),
        json!({"id": "task_03", "status": "processing", "output": null}),
    ]
}

fn apiframe_jobs() -> Vec<Value> {
    vec![
        json!({
            "id": "b2c3d4e5-f6a7-8901-bcde-f23456789012", "model": "happyhorse-1.1",
            "status": "COMPLETED", "progress": 100, "createdAt": "2026-01-01T00:00:00Z",
            "completedAt": "2026-01-01T00:03:00Z", "creditCost": 192, "error": null,
            "expired": false, "webhookStatus": "delivered", "input": {"prompt": "x"},
            "result": {"urls": ["https://cdn.apiframe.ai/v/1.mp4?token=SECRET"]}
        }),
        json!({
            "id": "c3d4e5f6-a7b8-9012-cdef-345678901234", "model": "happyhorse-1.1",
            "status": "PROCESSING", "progress": 42, "createdAt": "2026-01-01T00:00:00Z",
            "completedAt": null, "creditCost": null, "error": null, "webhookStatus": null
        }),
        json!({
            "id": "d4e5f6a7-b8c9-0123-def0-456789012345", "model": "happyhorse-1.1",
            "status": "FAILED", "progress": null, "createdAt": "2026-01-01T00:00:00Z",
            "completedAt": "2026-01-01T00:01:00Z", "creditCost": 0,
            "error": "moderation", "webhookStatus": "failed"
        }),
    ]
}

fn error_bodies() -> Vec<Value> {
    vec![
        json!({"code": 400, "error_code": "INVALID_REQUEST",
               "message": "duration: maximum: got 20, want 15; additional properties 'seed' not allowed"}),
        json!({"error_code": "nsfw_moderation_unavailable", "message": "retry"}),
        json!({"error": {"code": 20002, "message": "invalid parameter"}}),
        json!({"error": {"code": 50001, "message": "rate limited"}}),
        json!({"error": "Validation failed", "details": {"prompt": ["required"], "duration": "too long"}}),
        json!({"error": "Insufficient credits", "creditsRequired": 155, "creditsAvailable": 12}),
        json!("<html><body>502 Bad Gateway</body></html>"),
    ]
}

/// Every JSON pointer in `value`, the root (`""`) included.
fn pointers(value: &Value) -> Vec<String> {
    fn walk(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let escaped = key.replace('~', "~0").replace('/', "~1");
                    walk(child, format!("{at}/{escaped}"), out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

/// One change to a body.
#[derive(Clone, Debug)]
enum Edit {
    /// Replace the value at a pointer.
    Set(String, Value),
    /// Remove the member or element at a pointer.
    Remove(String),
    /// Add a member to the object at a pointer (or replace the value there by one).
    Insert(String, String, Value),
    /// Replace a number or a string at a pointer by another of its kind (the first value for
    /// a number, the second for a string): past the type check, into the field's meaning.
    Retype(String, Value, String),
}

impl Edit {
    fn apply(&self, body: &mut Value) {
        match self {
            Edit::Set(at, value) => {
                if let Some(slot) = body.pointer_mut(at) {
                    *slot = value.clone();
                }
            }
            Edit::Remove(at) => {
                let Some((parent, last)) = at.rsplit_once('/') else {
                    return;
                };
                let last = last.replace("~1", "/").replace("~0", "~");
                match body.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.remove(&last);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = last.parse::<usize>() {
                            if i < items.len() {
                                items.remove(i);
                            }
                        }
                    }
                    _ => {}
                }
            }
            Edit::Retype(at, number, text) => match body.pointer_mut(at) {
                Some(slot @ Value::Number(_)) => *slot = number.clone(),
                Some(slot @ Value::String(_)) => *slot = Value::String(text.clone()),
                _ => {}
            },
            Edit::Insert(at, key, value) => match body.pointer_mut(at) {
                Some(Value::Object(map)) => {
                    map.insert(key.clone(), value.clone());
                }
                Some(slot) => {
                    let mut map = serde_json::Map::new();
                    map.insert(key.clone(), value.clone());
                    *slot = Value::Object(map);
                }
                None => {}
            },
        }
    }
}

/// A real body with zero to four edits.
fn near(bases: Vec<Value>) -> BoxedStrategy<Value> {
    select(bases)
        .prop_flat_map(|base| {
            let at = pointers(&base);
            let same_kind = prop_oneof![
                2 => select(edge_ints()).prop_map(Value::from),
                1 => number(),
                1 => select(RAW_LITERALS).prop_map(|l| json!(format!("{RAW_MARKER}{l}"))),
            ];
            let edit = prop_oneof![
                6 => (select(at.clone()), same_kind, text())
                    .prop_map(|(p, n, t)| Edit::Retype(p, n, t)),
                3 => (select(at.clone()), field_value()).prop_map(|(p, v)| Edit::Set(p, v)),
                2 => select(at.clone()).prop_map(Edit::Remove),
                1 => (select(at), key(), field_value()).prop_map(|(p, k, v)| Edit::Insert(p, k, v)),
            ];
            let edits = prop_oneof![1 => vec(edit.clone(), 0..1), 2 => vec(edit.clone(), 1..2), 1 => vec(edit, 2..5)];
            (Just(base), edits)
        })
        .prop_map(|(mut body, edits)| {
            for edit in &edits {
                edit.apply(&mut body);
            }
            body
        })
        .boxed()
}

/// One change to serialised bytes.
#[derive(Clone, Debug)]
enum ByteEdit {
    Truncate(Index),
    Replace(Index, u8),
    Insert(Index, u8),
    Delete(Index),
}

impl ByteEdit {
    fn apply(&self, bytes: &mut Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        let len = bytes.len();
        match self {
            ByteEdit::Truncate(at) => bytes.truncate(at.index(len)),
            ByteEdit::Replace(at, byte) => bytes[at.index(len)] = *byte,
            ByteEdit::Insert(at, byte) => bytes.insert(at.index(len), *byte),
            ByteEdit::Delete(at) => {
                bytes.remove(at.index(len));
            }
        }
    }
}

fn byte_edit() -> BoxedStrategy<ByteEdit> {
    let byte = prop_oneof![
        select(b"{}[]\":,0123456789-.eE\\ nulltrefas".to_vec()),
        any::<u8>(),
    ];
    prop_oneof![
        any::<Index>().prop_map(ByteEdit::Truncate),
        (any::<Index>(), byte.clone()).prop_map(|(at, b)| ByteEdit::Replace(at, b)),
        (any::<Index>(), byte).prop_map(|(at, b)| ByteEdit::Insert(at, b)),
        any::<Index>().prop_map(ByteEdit::Delete),
    ]
    .boxed()
}

fn serialised(value: &Value) -> Vec<u8> {
    splice_raw(&value.to_string()).into_bytes()
}

/// Raw bodies: near-valid ones (with spliced number literals, and byte edits), any JSON, any
/// bytes.
fn near_bytes(bases: Vec<Value>) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => near(bases.clone()).prop_map(|v| serialised(&v)),
        2 => (near(bases), vec(byte_edit(), 1..4)).prop_map(|(v, edits)| {
            let mut bytes = serialised(&v);
            for edit in &edits {
                edit.apply(&mut bytes);
            }
            bytes
        }),
        1 => json().prop_map(|v| serialised(&v)),
        1 => vec(any::<u8>(), 0..256),
    ]
    .boxed()
}

/// The real task bodies a provider answers with (for HiAPI: the task and its envelope).
fn task_bodies(provider: Provider) -> Vec<Value> {
    match provider {
        Provider::HiApi => {
            let mut bases = hiapi_envelopes();
            bases.extend(hiapi_tasks());
            bases
        }
        Provider::Reapi => reapi_tasks(),
        Provider::Apiframe => apiframe_jobs(),
    }
}

/// Raw task bodies of any provider, near-valid or not.
fn task_bytes() -> BoxedStrategy<Vec<u8>> {
    provider()
        .prop_flat_map(|provider| near_bytes(task_bodies(provider)))
        .boxed()
}

/// Task bodies of any provider as JSON values, near-valid or not.
fn task_value() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => provider().prop_flat_map(|provider| near(task_bodies(provider))),
        1 => json(),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------------------------
// Task and job bodies → TaskSnapshot
// ---------------------------------------------------------------------------------------------

/// What holds for every snapshot, whatever the provider answered.
fn check_snapshot(provider: Provider, snapshot: &TaskSnapshot) -> Result<(), TestCaseError> {
    prop_assert_eq!(snapshot.provider, provider);
    prop_assert_eq!(
        snapshot.state,
        TaskState::from_status(provider, &snapshot.status)
    );
    prop_assert!(matches!(
        snapshot.state,
        TaskState::Queued
            | TaskState::Running
            | TaskState::Succeeded
            | TaskState::Failed
            | TaskState::Cancelled
    ));
    prop_assert!(snapshot.progress.is_none_or(|p| p <= 100));
    let finished = Finished::try_from(snapshot.clone());
    prop_assert_eq!(
        finished.is_ok(),
        snapshot.state == TaskState::Succeeded && !snapshot.outputs.is_empty()
    );
    // Debug redacts every URL; it must not panic on any.
    let shown = format!("{snapshot:?}");
    prop_assert!(!shown.is_empty());
    // A snapshot is stored and resumed.
    let stored = serde_json::to_string(snapshot).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let resumed: TaskSnapshot =
        serde_json::from_str(&stored).map_err(|e| TestCaseError::fail(format!("{e}: {stored}")))?;
    prop_assert_eq!(&resumed, snapshot);
    Ok(())
}

fn check_hiapi_task(task: hiapi::types::Task) -> Result<(), TestCaseError> {
    let snapshot = TaskSnapshot::from_hiapi(task.clone());
    check_snapshot(Provider::HiApi, &snapshot)?;
    prop_assert_eq!(&snapshot.id, &task.task_id);
    let outputs = task.output.unwrap_or_default();
    prop_assert_eq!(snapshot.outputs.len(), outputs.len());
    for (output, source) in snapshot.outputs.iter().zip(&outputs) {
        prop_assert_eq!(&output.url, &source.url);
        prop_assert_eq!(
            output.expires_at.map(|at| at.timestamp()),
            source
                .expire_at
                .filter(|at| DateTime::from_timestamp(*at, 0).is_some())
        );
    }
    Ok(())
}

fn check_reapi_task(task: reapi::types::Task) -> Result<(), TestCaseError> {
    let snapshot = TaskSnapshot::from_reapi(task.clone());
    check_snapshot(Provider::Reapi, &snapshot)?;
    prop_assert_eq!(&snapshot.id, &task.id);
    let urls = task.output.map(|o| o.video_urls).unwrap_or_default();
    let got: Vec<&String> = snapshot.outputs.iter().map(|o| &o.url).collect();
    prop_assert_eq!(got, urls.iter().collect::<Vec<_>>());
    Ok(())
}

fn check_apiframe_job(job: apiframe::types::Job) -> Result<(), TestCaseError> {
    let snapshot = TaskSnapshot::from_apiframe(job.clone());
    check_snapshot(Provider::Apiframe, &snapshot)?;
    prop_assert_eq!(&snapshot.id, &job.id.to_string());
    prop_assert_eq!(
        snapshot.progress.map(i64::from),
        job.progress.map(|p| p.clamp(0, 100))
    );
    let expires = job
        .completed_at
        .and_then(|at| at.checked_add_signed(TimeDelta::hours(24)));
    for output in &snapshot.outputs {
        prop_assert_eq!(output.expires_at, expires);
        prop_assert_eq!(output.expired, job.expired.unwrap_or(false));
    }
    Ok(())
}

/// Every parse of `bytes` as a task body of any provider, and the snapshots of what parses.
fn check_task_bytes(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(envelope) = serde_json::from_slice::<hiapi::types::TaskResponse>(bytes) {
        if let Some(task) = envelope.data {
            check_hiapi_task(task)?;
        }
    }
    if let Ok(task) = serde_json::from_slice::<hiapi::types::Task>(bytes) {
        check_hiapi_task(task)?;
    }
    if let Ok(page) = serde_json::from_slice::<hiapi::types::TaskListResponse>(bytes) {
        for task in page.data.map(|d| d.tasks).unwrap_or_default() {
            check_hiapi_task(task)?;
        }
    }
    if let Ok(task) = serde_json::from_slice::<reapi::types::Task>(bytes) {
        check_reapi_task(task)?;
    }
    if let Ok(job) = serde_json::from_slice::<apiframe::types::Job>(bytes) {
        check_apiframe_job(job)?;
    }
    Ok(())
}

/// The same through `serde_json::Value` (`from_value` takes other paths than `from_slice`).
fn check_task_value(value: &Value) -> Result<(), TestCaseError> {
    if let Ok(envelope) = serde_json::from_value::<hiapi::types::TaskResponse>(value.clone()) {
        if let Some(task) = envelope.data {
            check_hiapi_task(task)?;
        }
    }
    if let Ok(task) = serde_json::from_value::<hiapi::types::Task>(value.clone()) {
        check_hiapi_task(task)?;
    }
    if let Ok(task) = serde_json::from_value::<reapi::types::Task>(value.clone()) {
        check_reapi_task(task)?;
    }
    if let Ok(job) = serde_json::from_value::<apiframe::types::Job>(value.clone()) {
        check_apiframe_job(job)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(1024))]

    /// Raw task bodies (near-valid ones of every provider with edits at field and byte level,
    /// any JSON, any bytes) through every generated task type into a snapshot.
    #[test]
    fn task_bodies_of_any_bytes_give_a_sound_snapshot_or_a_parse_error(
        bytes in task_bytes(),
    ) {
        check_task_bytes(&bytes)?;
    }

    /// The same bodies as JSON values.
    #[test]
    fn task_bodies_of_any_json_give_a_sound_snapshot_or_a_parse_error(
        value in task_value(),
    ) {
        check_task_value(&value)?;
    }

    /// Apiframe jobs completed at any instant chrono can hold, near its end in particular:
    /// the 24 h retention added to `completedAt` never overflows.
    #[test]
    fn apiframe_expiry_is_computed_for_any_completion_time(
        seconds in prop_oneof![
            (DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp()),
            (DateTime::<Utc>::MAX_UTC.timestamp() - 2 * 86_400)..=DateTime::<Utc>::MAX_UTC.timestamp(),
        ],
        nanos in 0u32..1_000_000_000,
        base in select(apiframe_jobs()),
    ) {
        let Some(completed) = DateTime::<Utc>::from_timestamp(seconds, nanos) else {
            return Ok(());
        };
        let mut body = base;
        body["completedAt"] = json!(completed);
        body["status"] = json!("COMPLETED");
        body["result"] = json!({"urls": ["https://cdn.apiframe.ai/v.mp4"]});
        let job: apiframe::types::Job = serde_json::from_slice(&serialised(&body))
            .map_err(|e| TestCaseError::fail(format!("{e}: {body}")))?;
        prop_assert_eq!(job.completed_at, Some(completed));
        let snapshot = TaskSnapshot::from_apiframe(job);
        let expires = snapshot.outputs[0].expires_at;
        match completed.checked_add_signed(TimeDelta::hours(24)) {
            Some(at) => prop_assert_eq!(expires, Some(at)),
            None => prop_assert_eq!(expires, None),
        }
        check_snapshot(Provider::Apiframe, &snapshot)?;
    }
}

/// Nesting far beyond any real body is a parse error (serde_json's recursion limit), or is
/// skipped without recursion where a type ignores the field, never a stack overflow.
#[test]
fn deeply_nested_task_bodies_do_not_overflow_the_stack() {
    for depth in [200, 100_000] {
        let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let objects = format!(
            r#"{{"taskId":"t","id":"t","status":"x","storage":{}null{}}}"#,
            r#"{"a":"#.repeat(depth),
            "}".repeat(depth)
        );
        for body in [arrays, objects] {
            let bytes = body.as_bytes();
            assert!(serde_json::from_slice::<Value>(bytes).is_err());
            // `storage` holds any JSON value in HiAPI's task: past the limit it is an error.
            assert!(serde_json::from_slice::<hiapi::types::Task>(bytes).is_err());
            assert!(serde_json::from_slice::<hiapi::types::TaskResponse>(bytes).is_err());
            assert!(serde_json::from_slice::<apiframe::types::Job>(bytes).is_err());
            // reapi's task has no `storage`; serde_json skips an unknown member iteratively.
            if let Ok(task) = serde_json::from_slice::<reapi::types::Task>(bytes) {
                let snapshot = TaskSnapshot::from_reapi(task);
                assert_eq!(snapshot.state, TaskState::Running);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Error bodies → Error
// ---------------------------------------------------------------------------------------------

fn provider() -> BoxedStrategy<Provider> {
    select(Provider::ALL.to_vec()).boxed()
}

/// Every status `http` can hold (a HiAPI envelope's `code` becomes one, up to 999).
fn status() -> BoxedStrategy<StatusCode> {
    prop_oneof![
        3 => select(vec![400u16, 401, 402, 403, 404, 408, 409, 422, 425, 429, 500, 502, 503, 504]),
        2 => 100u16..=599,
        1 => 100u16..=999,
    ]
    .prop_filter_map("a status http holds", |s| StatusCode::from_u16(s).ok())
    .boxed()
}

fn any_duration() -> BoxedStrategy<Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::MAX),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        (0u64..100_000, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
    ]
    .boxed()
}

/// An error body as the client holds it: any JSON, a near-valid body, the raw text of a
/// non-JSON answer, or a body that went through the generated error types first (as the
/// transport's typed error answers do).
fn error_body() -> BoxedStrategy<Value> {
    let typed = (provider(), json()).prop_map(|(provider, value)| {
        let typed = match provider {
            Provider::HiApi => serde_json::from_value::<hiapi::types::ErrorResponse>(value)
                .ok()
                .and_then(|e| serde_json::to_value(e).ok()),
            Provider::Reapi => serde_json::from_value::<reapi::types::ErrorResponse>(value)
                .ok()
                .and_then(|e| serde_json::to_value(e).ok()),
            Provider::Apiframe => serde_json::from_value::<apiframe::types::ApiError>(value)
                .ok()
                .and_then(|e| serde_json::to_value(e).ok()),
        };
        typed.unwrap_or(Value::Null)
    });
    let mut bases = error_bodies();
    bases.extend(hiapi_envelopes());
    // Every string in a real body made long (a provider echoing a long prompt, say).
    let long =
        (select(bases.clone()), any::<char>(), 1000usize..6000).prop_map(|(mut body, c, n)| {
            stretch(&mut body, &c.to_string().repeat(n));
            body
        });
    prop_oneof![
        3 => near(bases),
        1 => long,
        2 => json(),
        1 => text().prop_map(Value::String),
        1 => typed,
    ]
    .boxed()
}

/// Replaces every string in `value` (not the keys) with `text`.
fn stretch(value: &mut Value, text: &str) {
    match value {
        Value::String(s) => *s = text.to_owned(),
        Value::Array(items) => items.iter_mut().for_each(|v| stretch(v, text)),
        Value::Object(map) => map.values_mut().for_each(|v| stretch(v, text)),
        _ => {}
    }
}

/// The longest message an error built from a provider's answer may have, besides the task id
/// the caller gave.
const MESSAGE_LIMIT: usize = 2048;

proptest! {
    #![proptest_config(config(1024))]

    /// Any answer (provider, status, `Retry-After`, body, id) becomes an error whose every
    /// accessor and whose Display work.
    #[test]
    fn error_answers_of_any_shape_become_errors_without_panicking(
        provider in provider(),
        status in status(),
        retry_after in option::of(any_duration()),
        body in error_body(),
        id in option::of(text()),
        retry_number in any::<u32>(),
    ) {
        let err = Error::from_answer(provider, status, retry_after, &body, id.as_deref());
        let text = err.to_string();
        prop_assert!(!text.is_empty());
        let shown = format!("{err:?}");
        prop_assert!(!shown.is_empty());
        let _ = err.is_transient();
        let _ = err.http_status();
        prop_assert_eq!(err.retry_after().is_some(), err.is_transient() && retry_after.is_some());
        if let Some(retry) = err.retry() {
            let policy = RetryPolicy::default();
            prop_assert!(policy.delay(retry_number, retry.after) <= policy.max_retry_after.max(policy.max_delay));
        }
    }

    /// The message of an error built from an answer stays short, however long the provider's
    /// message, code or `details` are.
    #[test]
    fn error_messages_stay_bounded(
        provider in provider(),
        status in status(),
        retry_after in option::of(any_duration()),
        body in error_body(),
        id in option::of(text()),
    ) {
        let err = Error::from_answer(provider, status, retry_after, &body, id.as_deref());
        let text = err.to_string();
        let id_len = id.as_deref().map_or(0, |id| format!("{id:?}").chars().count());
        prop_assert!(
            text.chars().count() <= MESSAGE_LIMIT + id_len,
            "{} characters: {}…",
            text.chars().count(),
            text.chars().take(200).collect::<String>()
        );
    }
}

/// The input that once made `error_messages_stay_bounded` fail: a provider message copied
/// whole, and control characters passed through to a terminal.
#[test]
fn a_long_provider_message_is_cut_and_control_characters_escaped() {
    let body = json!({ "message": format!("{}\u{1b}[31m\u{0}", "a".repeat(3000)) });
    let err = Error::from_answer(Provider::HiApi, StatusCode::UNAUTHORIZED, None, &body, None);
    let text = err.to_string();
    assert!(text.chars().count() <= MESSAGE_LIMIT, "{}", text.len());
    let body = json!({ "message": "bad\u{1b}[31m\u{0}key" });
    let text = Error::from_answer(Provider::HiApi, StatusCode::UNAUTHORIZED, None, &body, None)
        .to_string();
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{0}'),
        "{text:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Retry-After
// ---------------------------------------------------------------------------------------------

/// Any instant a clock may report: far past and far future included.
fn any_time() -> BoxedStrategy<SystemTime> {
    prop_oneof![
        Just(UNIX_EPOCH),
        (any::<bool>(), any::<u64>(), 0u32..1_000_000_000).prop_map(|(past, s, n)| {
            let offset = Duration::new(s, n);
            if past {
                UNIX_EPOCH.checked_sub(offset)
            } else {
                UNIX_EPOCH.checked_add(offset)
            }
            .unwrap_or(UNIX_EPOCH)
        }),
        (0u64..=253_402_300_799).prop_map(|s| UNIX_EPOCH + Duration::from_secs(s)),
    ]
    .boxed()
}

/// `Retry-After` values: any text, digits (past `u64` too), and HTTP-dates in the three forms
/// with fields in and out of range.
fn retry_after_text() -> BoxedStrategy<String> {
    let weekday = select(vec!["Mon", "Sat", "Sun", "Saturday", "Xyz", ""]);
    let month = select(vec!["Jan", "Nov", "Dec", "Foo", "nov", ""]);
    let date = (
        weekday,
        0u32..40,
        month,
        prop_oneof![0u32..100, 1900u32..2100, 9990u32..10_010, any::<u32>()],
        0u32..30,
        0u32..70,
        0u32..70,
        0u8..3,
    )
        .prop_map(|(wd, d, mon, y, h, m, s, form)| match form {
            0 => format!("{wd}, {d:02} {mon} {y} {h:02}:{m:02}:{s:02} GMT"),
            1 => format!("{wd}, {d:02}-{mon}-{:02} {h:02}:{m:02}:{s:02} GMT", y % 100),
            _ => format!("{wd} {mon} {d:>2} {h:02}:{m:02}:{s:02} {y}"),
        });
    let real_date = (0u64..=253_402_300_799)
        .prop_map(|s| httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(s)));
    prop_oneof![
        2 => any::<String>(),
        2 => "[ \t]{0,2}[+-]?[0-9]{1,30}[ \t]{0,2}",
        1 => any::<u64>().prop_map(|n| n.to_string()),
        2 => date,
        2 => real_date,
        1 => select(WORDS).prop_map(str::to_owned),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(1024))]

    /// `Retry-After` against any clock: seconds read exactly, anything else a date or nothing.
    #[test]
    fn retry_after_parses_any_text_against_any_clock(
        value in retry_after_text(),
        now in any_time(),
        retry_number in any::<u32>(),
    ) {
        let parsed = retry::parse_retry_after(&value, now);
        if let Ok(seconds) = value.trim().parse::<u64>() {
            prop_assert_eq!(parsed, Some(Duration::from_secs(seconds)));
        }
        if let Some(wait) = parsed {
            let policy = RetryPolicy::default();
            prop_assert!(policy.delay(retry_number, Some(wait)) <= policy.max_retry_after);
        }
    }

    /// The same through a header map with any bytes as the value.
    #[test]
    fn retry_after_headers_of_any_bytes(
        value in prop_oneof![
            retry_after_text().prop_map(String::into_bytes),
            vec(any::<u8>(), 0..64),
        ],
    ) {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            headers.insert(RETRY_AFTER, value);
        }
        let _ = retry::retry_after(&headers);
    }

    /// The backoff arithmetic, with any factor and duration.
    #[test]
    fn backoff_scaling_saturates(d in any_duration(), factor in any::<f64>(), retry in any::<u32>()) {
        let _ = retry::scale(d, factor);
        let policy = RetryPolicy::default().with_backoff(d, d);
        prop_assert!(policy.delay(retry, None) <= policy.max_delay);
    }
}

// ---------------------------------------------------------------------------------------------
// Callback verification and the callback inbox
// ---------------------------------------------------------------------------------------------

fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a HiAPI delivery is genuinely signed and fresh at `now`, computed independently of
/// `webhook`: digits within `u64`, within the tolerance of `now`, and the HMAC of
/// `timestamp.body` in hex, either case, whitespace around both values allowed.
fn hiapi_genuine(secret: &[u8], timestamp: &str, signature: &str, body: &[u8], now: u64) -> bool {
    let timestamp = timestamp.trim();
    if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(sent) = timestamp.parse::<u64>() else {
        return false;
    };
    now.abs_diff(sent) <= HIAPI_TOLERANCE
        && signature
            .trim()
            .eq_ignore_ascii_case(&hmac_hex(secret, &[timestamp.as_bytes(), b".", body]))
}

/// Whether an Apiframe delivery is genuinely signed: `sha256=` (any case) and the hex HMAC of
/// the body keyed by SHA-256(API key).
fn apiframe_genuine(api_key: &str, signature: &str, body: &[u8]) -> bool {
    let key = Sha256::digest(api_key.as_bytes());
    let expected = format!("sha256={}", hmac_hex(&key, &[body]));
    signature.trim().eq_ignore_ascii_case(&expected)
}

/// How a test forms a timestamp header from the instant it signs.
#[derive(Clone, Debug)]
enum TsForm {
    Exact,
    Padded,
    LeadingZero,
    Plus,
    Minus,
    Fraction,
    Text(String),
}

impl TsForm {
    fn render(&self, sent: u64) -> String {
        match self {
            TsForm::Exact => sent.to_string(),
            TsForm::Padded => format!(" \t{sent} "),
            TsForm::LeadingZero => format!("0{sent}"),
            TsForm::Plus => format!("+{sent}"),
            TsForm::Minus => format!("-{sent}"),
            TsForm::Fraction => format!("{sent}.0"),
            TsForm::Text(text) => text.clone(),
        }
    }
}

fn ts_form() -> BoxedStrategy<TsForm> {
    prop_oneof![
        6 => Just(TsForm::Exact),
        1 => Just(TsForm::Padded),
        1 => Just(TsForm::LeadingZero),
        1 => Just(TsForm::Plus),
        1 => Just(TsForm::Minus),
        1 => Just(TsForm::Fraction),
        2 => prop_oneof![
            text(),
            "[0-9]{19,40}",
            Just(u64::MAX.to_string()),
            Just("18446744073709551616".to_owned()),
        ]
        .prop_map(TsForm::Text),
    ]
    .boxed()
}

/// How a test forms a signature header from the genuine one.
#[derive(Clone, Debug)]
enum SigForm {
    Genuine,
    Upper,
    Padded,
    WrongKey,
    FlipDigit(Index),
    Truncate(Index),
    Append(String),
    Doubled,
    Text(String),
}

impl SigForm {
    /// `genuine` is the signature as the provider sends it; `wrong` one under another key.
    fn render(&self, genuine: &str, wrong: &str) -> String {
        match self {
            SigForm::Genuine => genuine.to_owned(),
            SigForm::Upper => genuine.to_uppercase(),
            SigForm::Padded => format!("\t{genuine}  "),
            SigForm::WrongKey => wrong.to_owned(),
            SigForm::FlipDigit(at) => {
                let mut chars: Vec<char> = genuine.chars().collect();
                if !chars.is_empty() {
                    let i = at.index(chars.len());
                    chars[i] = if chars[i] == '0' { '1' } else { '0' };
                }
                chars.into_iter().collect()
            }
            SigForm::Truncate(at) => {
                let cut = at.index(genuine.len().max(1));
                genuine.get(..cut).unwrap_or_default().to_owned()
            }
            SigForm::Append(tail) => format!("{genuine}{tail}"),
            SigForm::Doubled => format!("{genuine}{genuine}"),
            SigForm::Text(text) => text.clone(),
        }
    }
}

fn sig_form() -> BoxedStrategy<SigForm> {
    prop_oneof![
        6 => Just(SigForm::Genuine),
        1 => Just(SigForm::Upper),
        1 => Just(SigForm::Padded),
        2 => Just(SigForm::WrongKey),
        2 => any::<Index>().prop_map(SigForm::FlipDigit),
        1 => any::<Index>().prop_map(SigForm::Truncate),
        1 => prop_oneof![Just("0".to_owned()), Just("00".to_owned()), any::<String>()]
            .prop_map(SigForm::Append),
        1 => Just(SigForm::Doubled),
        2 => prop_oneof![
            text(),
            "[0-9a-fA-F]{64}",
            "sha256=[0-9a-f]{64}",
            "[0-9a-f+ -]{64}",
            (any::<char>(), 0usize..100_000).prop_map(|(c, n)| c.to_string().repeat(n)),
        ]
        .prop_map(SigForm::Text),
    ]
    .boxed()
}

/// Instants a timestamp header may carry: any `u64`, its edges, around 2^63 and now.
fn sent_at() -> BoxedStrategy<u64> {
    prop_oneof![
        any::<u64>(),
        select(vec![
            0,
            1,
            HIAPI_TOLERANCE,
            1 << 63,
            (1 << 63) - 1,
            (1 << 63) + 1,
            i64::MAX as u64,
            u64::MAX - HIAPI_TOLERANCE,
            u64::MAX - 1,
            u64::MAX,
        ]),
        1_600_000_000u64..2_000_000_000,
    ]
    .boxed()
}

/// The receiver's clock: near the sender's (either side of the tolerance), or anywhere.
#[derive(Clone, Debug)]
enum Clock {
    Near(i64),
    Anywhere(u64),
}

impl Clock {
    fn at(&self, sent: u64) -> u64 {
        match *self {
            Clock::Near(delta) => sent.saturating_add_signed(delta),
            Clock::Anywhere(now) => now,
        }
    }
}

fn clock() -> BoxedStrategy<Clock> {
    prop_oneof![
        3 => (-400i64..400).prop_map(Clock::Near),
        1 => any::<i64>().prop_map(Clock::Near),
        1 => prop_oneof![any::<u64>(), Just(0), Just(u64::MAX)].prop_map(Clock::Anywhere),
    ]
    .boxed()
}

fn secret() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        Just(b"whsec_test".to_vec()),
        Just(Vec::new()),
        vec(any::<u8>(), 0..80),
    ]
    .boxed()
}

fn callback_body() -> BoxedStrategy<Vec<u8>> {
    let mut bases = hiapi_tasks();
    bases.extend(apiframe_jobs());
    near_bytes(bases)
}

proptest! {
    #![proptest_config(config(1024))]

    /// `verify_hiapi` accepts exactly the genuinely signed, fresh deliveries, and refuses every
    /// other with the right reason, whatever the header values and both clocks are.
    #[test]
    fn hiapi_verification_accepts_exactly_genuine_deliveries(
        secret in secret(),
        body in callback_body(),
        sent in sent_at(),
        clock in clock(),
        ts in option::weighted(0.95, ts_form()),
        sig in option::weighted(0.95, sig_form()),
    ) {
        let now = clock.at(sent);
        let timestamp = ts.as_ref().map(|form| form.render(sent));
        let genuine = webhook::hiapi_signature(&secret, sent, &body);
        let wrong = webhook::hiapi_signature(b"another secret", sent, &body);
        let signature = sig.as_ref().map(|form| form.render(&genuine, &wrong));
        let checked = webhook::verify_hiapi(
            &secret,
            timestamp.as_deref(),
            signature.as_deref(),
            &body,
            now,
        );
        let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
            prop_assert!(matches!(checked, Err(SignatureError::MissingHeader(_))));
            return Ok(());
        };
        let expected = hiapi_genuine(&secret, &timestamp, &signature, &body, now);
        prop_assert_eq!(checked.is_ok(), expected, "{:?}", checked);
        if let Err(SignatureError::Stale { age_seconds }) = checked {
            let sent: u64 = timestamp.trim().parse().map_err(|_| TestCaseError::fail("stale without a timestamp"))?;
            prop_assert!(now.abs_diff(sent) > HIAPI_TOLERANCE);
            prop_assert_eq!(age_seconds < 0, sent > now);
            prop_assert_eq!(
                age_seconds.unsigned_abs(),
                now.abs_diff(sent).min(if sent > now { 1 << 63 } else { i64::MAX as u64 })
            );
        }
        if let Err(err) = &checked {
            prop_assert!(!err.to_string().is_empty());
        }
    }

    /// `verify_apiframe` accepts exactly the genuinely signed deliveries.
    #[test]
    fn apiframe_verification_accepts_exactly_genuine_deliveries(
        api_key in prop_oneof![Just("afk_test".to_owned()), text()],
        body in callback_body(),
        sig in option::weighted(0.95, sig_form()),
        prefix in select(vec!["sha256=", "SHA256=", "", "sha1=", "sha256:", " sha256="]),
    ) {
        let genuine = webhook::apiframe_signature(&api_key, &body);
        let wrong = webhook::apiframe_signature("afk_other", &body);
        let signature = sig.as_ref().map(|form| {
            let rendered = form.render(&genuine, &wrong);
            match rendered.strip_prefix("sha256=") {
                Some(hex) => format!("{prefix}{hex}"),
                None => rendered,
            }
        });
        let checked = webhook::verify_apiframe(&api_key, signature.as_deref(), &body);
        let Some(signature) = signature else {
            prop_assert!(matches!(checked, Err(SignatureError::MissingHeader(_))));
            return Ok(());
        };
        prop_assert_eq!(checked.is_ok(), apiframe_genuine(&api_key, &signature, &body), "{:?}", checked);
    }
}

/// A header map for a delivery: the signature headers when formed, plus any headers (names
/// among the signature ones in any case, or arbitrary; values of any bytes), appended after.
fn extra_headers() -> BoxedStrategy<Vec<(String, Vec<u8>)>> {
    let name = prop_oneof![
        select(vec![
            "x-hiapi-timestamp",
            "X-HiAPI-Timestamp",
            "x-hiapi-signature",
            "X-HIAPI-SIGNATURE",
            "x-webhook-signature",
            "X-Webhook-Signature",
            "content-type",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9-]{1,20}",
        any::<String>(),
    ];
    let value = prop_oneof![
        vec(any::<u8>(), 0..80),
        text().prop_map(String::into_bytes),
        "[0-9a-f]{64}".prop_map(String::into_bytes),
    ];
    vec((name, value), 0..4).boxed()
}

fn header_map(signed: &[(&'static str, Option<String>)], extra: &[(String, Vec<u8>)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in signed {
        if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.append(*name, value);
        }
    }
    for (name, value) in extra {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

/// The first value of `name`, as the inbox reads it.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn unix_now() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or(0)
}

proptest! {
    #![proptest_config(config(1024))]

    /// A HiAPI inbox with a secret accepts a delivery only when it is genuinely signed and
    /// fresh by the inbox's own clock, always accepts one that is (and whose body is a task),
    /// and dedupes the second receipt.
    #[test]
    fn hiapi_inbox_accepts_only_genuine_deliveries(
        secret in prop_oneof![Just("whsec_test".to_owned()), text()],
        body in callback_body(),
        offset in prop_oneof![3 => -400i64..400, 1 => any::<i64>()],
        ts in option::weighted(0.9, ts_form()),
        sig in option::weighted(0.9, sig_form()),
        extra in extra_headers(),
    ) {
        let inbox = CallbackInbox::hiapi(Some(ApiKey::new(secret.clone())));
        let before = unix_now();
        let sent = before.saturating_add_signed(offset);
        let genuine = webhook::hiapi_signature(secret.as_bytes(), sent, &body);
        let wrong = webhook::hiapi_signature(b"another secret", sent, &body);
        let headers = header_map(
            &[
                (webhook::HIAPI_TIMESTAMP_HEADER, ts.as_ref().map(|f| f.render(sent))),
                (webhook::HIAPI_SIGNATURE_HEADER, sig.as_ref().map(|f| f.render(&genuine, &wrong))),
            ],
            &extra,
        );
        let received = inbox.receive(&headers, &body);
        let after = unix_now();
        let genuine_at = |now| match (
            header(&headers, webhook::HIAPI_TIMESTAMP_HEADER),
            header(&headers, webhook::HIAPI_SIGNATURE_HEADER),
        ) {
            (Some(ts), Some(sig)) => hiapi_genuine(secret.as_bytes(), ts, sig, &body, now),
            _ => false,
        };
        let parses = serde_json::from_slice::<hiapi::types::Task>(&body).is_ok();
        match &received {
            Ok(_) => prop_assert!(genuine_at(before) || genuine_at(after), "accepted without a genuine signature"),
            Err(CallbackError::Body { .. }) => prop_assert!(!parses),
            Err(CallbackError::Signature(_)) => prop_assert!(!(genuine_at(before) && genuine_at(after))),
        }
        if genuine_at(before) && genuine_at(after) && parses {
            prop_assert!(matches!(received, Ok(Delivery::New(_))), "{:?}", received);
            let again = inbox.receive(&headers, &body);
            if genuine_at(unix_now()) {
                prop_assert!(matches!(again, Ok(Delivery::Duplicate(_))), "{:?}", again);
            }
        }
        if let Ok(Delivery::New(snapshot) | Delivery::Duplicate(snapshot)) = &received {
            check_snapshot(Provider::HiApi, snapshot)?;
        }
        if let Err(err) = &received {
            prop_assert!(!err.to_string().is_empty());
        }
    }

    /// A HiAPI inbox without a secret checks no signature: it accepts exactly the bodies that
    /// are task objects, whatever the headers.
    #[test]
    fn unsigned_hiapi_inbox_accepts_exactly_task_bodies(
        body in callback_body(),
        extra in extra_headers(),
    ) {
        let inbox = CallbackInbox::hiapi(None);
        let headers = header_map(&[], &extra);
        let received = inbox.receive(&headers, &body);
        let parses = serde_json::from_slice::<hiapi::types::Task>(&body).is_ok();
        prop_assert_eq!(received.is_ok(), parses, "{:?}", received);
        if let Ok(Delivery::New(snapshot) | Delivery::Duplicate(snapshot)) = &received {
            check_snapshot(Provider::HiApi, snapshot)?;
        }
    }

    /// An Apiframe inbox accepts a delivery only when it is genuinely signed with the key, and
    /// always accepts one that is (and whose body is a job).
    #[test]
    fn apiframe_inbox_accepts_only_genuine_deliveries(
        api_key in prop_oneof![Just("afk_test".to_owned()), text()],
        body in callback_body(),
        sig in option::weighted(0.9, sig_form()),
        extra in extra_headers(),
    ) {
        let inbox = CallbackInbox::apiframe(ApiKey::new(api_key.clone()));
        let genuine = webhook::apiframe_signature(&api_key, &body);
        let wrong = webhook::apiframe_signature("afk_other", &body);
        let headers = header_map(
            &[(webhook::APIFRAME_SIGNATURE_HEADER, sig.as_ref().map(|f| f.render(&genuine, &wrong)))],
            &extra,
        );
        let received = inbox.receive(&headers, &body);
        let signed = header(&headers, webhook::APIFRAME_SIGNATURE_HEADER)
            .is_some_and(|sig| apiframe_genuine(&api_key, sig, &body));
        let parses = serde_json::from_slice::<apiframe::types::Job>(&body).is_ok();
        match &received {
            Ok(_) => prop_assert!(signed, "accepted without a genuine signature"),
            Err(CallbackError::Body { .. }) => prop_assert!(signed && !parses),
            Err(CallbackError::Signature(_)) => prop_assert!(!signed),
        }
        if signed && parses {
            prop_assert!(matches!(received, Ok(Delivery::New(_))), "{:?}", received);
            prop_assert!(matches!(inbox.receive(&headers, &body), Ok(Delivery::Duplicate(_))));
        }
        if let Ok(Delivery::New(snapshot) | Delivery::Duplicate(snapshot)) = &received {
            check_snapshot(Provider::Apiframe, snapshot)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// URLs in logs and errors, and units
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(1024))]

    /// An output URL's query string, fragment and credentials (a signed URL's secret) never
    /// show in its Debug form, and no URL makes that panic.
    #[test]
    fn output_urls_never_leak_their_secrets(
        scheme in select(vec!["https", "http", "HTTPS", "ftp", "data", ""]),
        host in "[a-z0-9.-]{0,20}|\\[::1\\]|[0-9.]{7,15}",
        path in "(/[a-z0-9._%-]{0,12}){0,3}",
        secret in "SECRET[A-Z]{8}",
        place in 0u8..4,
        raw in any::<String>(),
    ) {
        let url = match place {
            0 => format!("{scheme}://{host}{path}?sig={secret}&x=1"),
            1 => format!("{scheme}://user:{secret}@{host}{path}"),
            2 => format!("{scheme}://{secret}@{host}{path}"),
            _ => format!("{scheme}://{host}{path}#{secret}"),
        };
        let output = Output { url, expires_at: None, expired: false };
        let shown = format!("{output:?}");
        prop_assert!(!shown.contains(&secret), "{}", shown);
        let _ = format!("{:?}", Output { url: raw, expires_at: None, expired: true });
    }

    /// Durations of any magnitude read as a short text.
    #[test]
    fn units_format_any_value(d in any_duration()) {
        let duration = units::duration(d);
        prop_assert!(!duration.is_empty() && duration.len() <= 32, "{}", duration);
    }
}

/// The generators reach past the parsers' first checks: a fair share of the generated bodies
/// parse into each provider's type (and some Apiframe jobs have a completion time).
#[test]
fn generated_cases_reach_deep_into_the_parsers() {
    use proptest::{strategy::ValueTree, test_runner::TestRunner};
    let mut runner = TestRunner::deterministic();
    let n = 3000;
    let mut parsed = [0usize; 3];
    let mut completed = 0;
    for _ in 0..n {
        let Ok(bytes) = task_bytes()
            .new_tree(&mut runner)
            .map(|tree| tree.current())
        else {
            continue;
        };
        let hiapi = serde_json::from_slice::<hiapi::types::Task>(&bytes).is_ok()
            || serde_json::from_slice::<hiapi::types::TaskResponse>(&bytes)
                .is_ok_and(|e| e.data.is_some());
        parsed[0] += usize::from(hiapi);
        parsed[1] += usize::from(serde_json::from_slice::<reapi::types::Task>(&bytes).is_ok());
        if let Ok(job) = serde_json::from_slice::<apiframe::types::Job>(&bytes) {
            parsed[2] += 1;
            completed += usize::from(job.completed_at.is_some());
        }
    }
    eprintln!(
        "of {n} bodies, parsed (HiAPI, reapi, Apiframe): {parsed:?}, {completed} jobs completed"
    );
    for (provider, count) in Provider::ALL.iter().zip(parsed) {
        // A third of the bodies are each provider's; at least a fifth of those must parse.
        assert!(
            count * 15 >= n,
            "{provider}: only {count} of {n} bodies parse"
        );
    }
    assert!(completed * 30 >= n, "only {completed} completed jobs");
}
