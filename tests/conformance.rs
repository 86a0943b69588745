//! The emulator held to its documents: requests generated from `openapi/*.yaml` (valid and
//! invalid bodies, parameters, headers, keys, faults; single calls and chains submit → poll →
//! download), every answer judged against the document of its operation (status documented,
//! media type documented, body valid against the documented schema), and every verdict
//! against the document's: a body the request schema accepts is accepted, one it refuses is
//! refused.
//!
//! Bodies: every seed example, each edit `conformance::mutations` derives from the request
//! schema applied once, and `HAPPYHORSE_CONFORMANCE_CASES` (default 150) random combinations
//! of two or three edits per provider, from `HAPPYHORSE_CONFORMANCE_SEED` (default 13), so that
//! CI runs the same requests every time. A larger run on demand:
//! `HAPPYHORSE_CONFORMANCE_CASES=5000 HAPPYHORSE_CONFORMANCE_SEED=$RANDOM cargo test --test conformance`.
//!
//! The test prints how many answers each operation gave per status, and every departure.
#![cfg(all(feature = "sandbox", feature = "conformance"))]

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use common::{plain_http, seed_examples};
use happyhorse::{
    conformance::{
        document,
        mutations::{edits, Edit},
        operations::{operations, Answer, Operation},
        standalone_schema, storage_document,
    },
    contract,
    provider::Auth,
    sandbox::{Sandbox, SandboxConfig},
    Provider,
};
use reqwest::{header::CONTENT_TYPE, RequestBuilder};
use serde_json::{json, Value};

/// Every answer judged, and every departure found.
#[derive(Default)]
struct Record {
    /// (document, operation, status) → answers.
    answers: BTreeMap<(String, String, u16), usize>,
    departures: Vec<String>,
}

impl Record {
    /// Sends `request`, judges its answer against `op`, and returns the status and the body.
    async fn call(
        &mut self,
        doc: &str,
        op: &Operation,
        what: &str,
        request: RequestBuilder,
    ) -> (u16, Value) {
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                self.departures
                    .push(format!("{doc} {} {what}: no answer: {err}", op.id));
                return (0, Value::Null);
            }
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.unwrap_or_default();
        *self
            .answers
            .entry((doc.to_owned(), op.id.clone(), status))
            .or_default() += 1;
        for violation in op.judge(&Answer {
            status,
            content_type: content_type.as_deref(),
            body: &body,
        }) {
            self.departures
                .push(format!("{doc} {} {what}: {violation}", op.id));
        }
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    fn depart(&mut self, text: String) {
        self.departures.push(text);
    }
}

fn cases() -> usize {
    std::env::var("HAPPYHORSE_CONFORMANCE_CASES")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(150)
}

fn seed() -> u64 {
    std::env::var("HAPPYHORSE_CONFORMANCE_SEED")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(13)
}

/// A request with the provider's key where its facts say it goes.
fn keyed(provider: Provider, request: RequestBuilder) -> RequestBuilder {
    keyed_as(provider, "conformance", request)
}

/// A request with the provider's key named `name` (after the provider's prefix): another
/// account than [`keyed`]'s, for any other name.
fn keyed_as(provider: Provider, name: &str, request: RequestBuilder) -> RequestBuilder {
    let key = format!("{}{name}", provider.key_prefix());
    match provider.facts().auth {
        Auth::Bearer => request.bearer_auth(key),
        Auth::Header(name) => request.header(name, key),
        _ => panic!("{provider}: an authentication this test does not know"),
    }
}

fn operation<'a>(ops: &'a [Operation], id: &str) -> &'a Operation {
    ops.iter()
        .find(|op| op.id == id)
        .unwrap_or_else(|| panic!("no operation {id}"))
}

fn submit_of(ops: &[Operation]) -> &Operation {
    ops.iter()
        .find(|op| op.method == "POST")
        .expect("a submit operation")
}

/// The URL of `op` on the sandbox, with `{name}` parameters filled.
fn url(sandbox: &Sandbox, provider: Provider, op: &Operation, params: &[(&str, &str)]) -> String {
    let mut path = op.path.clone();
    for (name, value) in params {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    format!("{}{path}", sandbox.base_url(provider))
}

/// Whether the answer refuses the request: a 4xx, or HiAPI's HTTP 200 envelope with another
/// `code` (documented on its 200).
fn refused(provider: Provider, status: u16, body: &Value) -> bool {
    (400..500).contains(&status)
        || (provider == Provider::HiApi
            && status == 200
            && body
                .get("code")
                .and_then(Value::as_u64)
                .is_some_and(|c| c != 200))
}

/// The value a link's `$response.body#/pointer` expression names in `body`.
fn follow(expression: &str, body: &Value) -> Option<String> {
    let pointer = expression.strip_prefix("$response.body#")?;
    body.pointer(pointer)?.as_str().map(str::to_owned)
}

/// Every string in `body` that is one of the sandbox's output URLs.
fn output_urls(sandbox: &Sandbox, body: &Value, found: &mut Vec<String>) {
    let prefix = format!("http://{}/files/", sandbox.addr());
    match body {
        Value::String(text) if text.starts_with(&prefix) => found.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|v| output_urls(sandbox, v, found)),
        Value::Object(map) => map.values().for_each(|v| output_urls(sandbox, v, found)),
        _ => {}
    }
}

fn compiled(provider: Provider, schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&standalone_schema(document(provider), schema))
        .expect("the schema compiles")
}

/// The bodies to send: every seed example, each single edit of each, and `cases()` random
/// combinations of two or three edits.
fn bodies(provider: Provider) -> Vec<(String, Value)> {
    let reference = json!({
        "$ref": format!("#/components/schemas/{}", contract::request_component(provider))
    });
    let seeds: Vec<(String, Value)> = seed_examples()
        .into_iter()
        .filter(|(p, _, _)| *p == provider)
        .map(|(_, name, body)| (name, body))
        .collect();
    assert!(!seeds.is_empty(), "{provider}: no seed examples");
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut push = |name: String, body: Value, out: &mut Vec<(String, Value)>| {
        if seen.insert(body.to_string()) {
            out.push((name, body));
        }
    };
    let mut pools: Vec<(String, Value, Vec<Edit>)> = Vec::new();
    for (name, seed) in &seeds {
        push(name.clone(), seed.clone(), &mut out);
        let pool = edits(document(provider), &reference, seed);
        for edit in &pool {
            if let Some(body) = edit.apply(seed) {
                push(format!("{name} {edit}"), body, &mut out);
            }
        }
        pools.push((name.clone(), seed.clone(), pool));
    }
    let mut rng = fastrand::Rng::with_seed(seed() ^ provider as u64);
    for _ in 0..cases() {
        let (name, seed, pool) = &pools[rng.usize(..pools.len())];
        if pool.is_empty() {
            continue;
        }
        let mut body = seed.clone();
        let mut label = name.clone();
        for _ in 0..rng.usize(2..=3) {
            let edit = &pool[rng.usize(..pool.len())];
            if let Some(edited) = edit.apply(&body) {
                body = edited;
                label = format!("{label} + {edit}");
            }
        }
        push(label, body, &mut out);
    }
    out
}

/// Submits every body and judges answer and verdict; returns the ids of accepted tasks, in
/// order, by following the submit's documented link.
async fn submit_bodies(record: &mut Record, sandbox: &Sandbox, provider: Provider) -> Vec<String> {
    let ops = operations(document(provider)).expect("the document's operations");
    let submit = submit_of(&ops);
    let reference = json!({
        "$ref": format!("#/components/schemas/{}", contract::request_component(provider))
    });
    let schema = compiled(provider, &reference);
    let http = plain_http();
    let link = submit
        .links()
        .first()
        .cloned()
        .expect("the submit links to its poll");
    let (mut valid, mut invalid, mut ids) = (0, 0, Vec::new());
    for (name, body) in bodies(provider) {
        let request = keyed(provider, http.post(url(sandbox, provider, submit, &[]))).json(&body);
        let (status, answer) = record.call(provider.name(), submit, &name, request).await;
        let documented_valid = schema.is_valid(&body);
        let was_refused = refused(provider, status, &answer);
        if documented_valid {
            valid += 1;
            if was_refused || !(200..300).contains(&status) {
                record.depart(format!(
                    "{provider} {name}: a valid body answered {status} {answer}"
                ));
            } else if let Some(id) = follow(&link.expression, &answer) {
                ids.push(id);
            } else {
                record.depart(format!(
                    "{provider} {name}: link {} finds nothing in {answer}",
                    link.expression
                ));
            }
        } else {
            invalid += 1;
            if !was_refused {
                record.depart(format!(
                    "{provider} {name}: an invalid body answered {status} {answer}"
                ));
            }
        }
    }
    assert!(
        valid >= 10 && invalid >= 10,
        "{provider}: {valid} valid and {invalid} invalid bodies"
    );
    ids
}

/// Polls the first tasks through the submit's link until they end, then downloads each
/// output: whole, a range, past the end; each answer judged.
async fn chains(record: &mut Record, sandbox: &Sandbox, provider: Provider, ids: &[String]) {
    let ops = operations(document(provider)).expect("operations");
    let link = submit_of(&ops).links().first().cloned().expect("a link");
    let poll = operation(&ops, &link.operation);
    let storage = operations(storage_document()).expect("the storage document's operations");
    let download = operation(&storage, "download_output");
    let http = plain_http();
    for id in ids.iter().take(4) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut urls = Vec::new();
        while urls.is_empty() && Instant::now() < deadline {
            let request = keyed(
                provider,
                http.get(url(sandbox, provider, poll, &[(&link.parameter, id)])),
            );
            let (_, body) = record
                .call(provider.name(), poll, "poll via link", request)
                .await;
            output_urls(sandbox, &body, &mut urls);
            if urls.is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let Some(output) = urls.first() else {
            record.depart(format!("{provider} task {id}: no output URL within 20 s"));
            continue;
        };
        for (what, range) in [
            ("whole", None),
            ("range", Some("bytes=10-99")),
            ("resume", Some("bytes=100-")),
            ("past the end", Some("bytes=999999999-")),
        ] {
            let mut request = http.get(output);
            if let Some(range) = range {
                request = request.header("Range", range);
            }
            let (status, _) = record.call("storage", download, what, request).await;
            let expected = match what {
                "whole" => 200,
                "past the end" => 416,
                _ => 206,
            };
            if status != expected {
                record.depart(format!("storage {what}: {status}, want {expected}"));
            }
        }
        // The task's id is not enough: without the URL's signature, or with it altered, 403.
        let (path, query) = output.split_once('?').unwrap_or((output, ""));
        for (what, target) in [
            ("unsigned", path.to_owned()),
            (
                "altered signature",
                format!("{path}?{}", query.replace("signature=", "signature=0")),
            ),
        ] {
            let (status, _) = record
                .call("storage", download, what, http.get(target))
                .await;
            if status != 403 {
                record.depart(format!("storage {what}: {status}, want 403"));
            }
        }
    }
    // A file that does not exist, without a signature.
    let missing = format!("http://{}/files/no-such-task/0.mp4", sandbox.addr());
    record
        .call("storage", download, "unknown task", http.get(missing))
        .await;
}

/// Everything but bodies: keys, parameters, malformed input, faults; each answer judged, and
/// refusals checked where the document calls the request invalid.
async fn edges(record: &mut Record, sandbox: &Sandbox, provider: Provider, task: &str) {
    let ops = operations(document(provider)).expect("operations");
    let submit = submit_of(&ops);
    let http = plain_http();
    let seed = seed_examples()
        .into_iter()
        .find(|(p, _, _)| *p == provider)
        .map(|(_, _, body)| body)
        .expect("a seed");
    let name = provider.name();
    let submit_url = url(sandbox, provider, submit, &[]);

    // No key, a key that is not one, malformed bodies.
    for (what, request) in [
        ("no key", http.post(&submit_url).json(&seed)),
        (
            "a made-up key",
            http.post(&submit_url)
                .bearer_auth("nope")
                .header("X-API-Key", "nope")
                .json(&seed),
        ),
        (
            "not JSON",
            keyed(provider, http.post(&submit_url))
                .header(CONTENT_TYPE, "application/json")
                .body("{\"prompt\": "),
        ),
        (
            "an array",
            keyed(provider, http.post(&submit_url)).json(&json!([])),
        ),
        (
            "empty",
            keyed(provider, http.post(&submit_url)).header(CONTENT_TYPE, "application/json"),
        ),
        (
            "text/plain",
            keyed(provider, http.post(&submit_url))
                .header(CONTENT_TYPE, "text/plain")
                .body(seed.to_string()),
        ),
    ] {
        let (status, body) = record.call(name, submit, what, request).await;
        if !refused(provider, status, &body) {
            record.depart(format!("{provider} submit {what}: not refused ({status})"));
        }
    }

    // Idempotency keys, where the document has the parameter.
    let has_key = submit.raw()["parameters"]
        .to_string()
        .contains("IdempotencyKey");
    if has_key {
        let key = format!("conformance-{}", provider.name());
        let send = |body: &Value, key: &str| {
            keyed(provider, http.post(&submit_url))
                .header("Idempotency-Key", key)
                .json(body)
        };
        let (first, _) = record
            .call(name, submit, "idempotency first", send(&seed, &key))
            .await;
        let (replay, _) = record
            .call(name, submit, "idempotency replay", send(&seed, &key))
            .await;
        if first != replay {
            record.depart(format!(
                "{provider}: a replay answered {replay}, the first {first}"
            ));
        }
        let mut other = seed.clone();
        other["prompt"] = json!("another prompt altogether");
        if other.pointer("/input/prompt").is_some() {
            other["input"]["prompt"] = json!("another prompt altogether");
            other.as_object_mut().map(|m| m.remove("prompt"));
        }
        let (mismatch, body) = record
            .call(name, submit, "idempotency mismatch", send(&other, &key))
            .await;
        if !refused(provider, mismatch, &body) {
            record.depart(format!(
                "{provider}: a reused key with another body answered {mismatch}"
            ));
        }
        for (what, bad) in [
            ("key too long", "k".repeat(256)),
            ("empty key", String::new()),
        ] {
            let (status, body) = record.call(name, submit, what, send(&seed, &bad)).await;
            if !refused(provider, status, &body) {
                record.depart(format!("{provider} {what}: not refused ({status})"));
            }
        }
    }

    // Every GET: no key, unknown and malformed ids, its query parameters.
    for op in ops.iter().filter(|op| op.method == "GET") {
        let params = op.raw()["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let has_id = op.path.contains("{id}");
        let here = |id: &str| url(sandbox, provider, op, &[("id", id)]);
        let mut targets = vec![("a task", here(task))];
        if has_id {
            targets.extend([
                ("unknown id", here("00000000-0000-4000-8000-000000000000")),
                ("another unknown id", here("no-such-task")),
                ("percent garbage", here("%ff%fe")),
                ("bad escape", here("%zz")),
            ]);
        }
        for (what, target) in &targets {
            let (status, _) = record
                .call(name, op, what, keyed(provider, http.get(target)))
                .await;
            if *what == "a task" && status != 200 {
                record.depart(format!("{provider} {} {what}: {status}", op.id));
            }
        }
        // Tasks belong to the key that created them: another key's poll is a 404, and
        // another key's list is not the first key's.
        let (status, body) = record
            .call(
                name,
                op,
                "another key",
                keyed_as(provider, "another-account", http.get(&targets[0].1)),
            )
            .await;
        if has_id && status != 404 {
            record.depart(format!(
                "{provider} {} another key's task: {status}, want 404",
                op.id
            ));
        }
        if !has_id && body.to_string().contains(task) {
            record.depart(format!("{provider} {} another key lists {task}", op.id));
        }
        record
            .call(name, op, "no key", http.get(&targets[0].1))
            .await;
        for param in params.iter().filter(|p| p["in"] == "query") {
            let pname = param["name"].as_str().expect("a parameter name");
            let schema = compiled(provider, &param["schema"]);
            let mut values: Vec<String> = [
                "1",
                "0",
                "-1",
                "2",
                "20",
                "100",
                "101",
                "abc",
                "",
                "1.5",
                "99999999999999999999999",
            ]
            .map(str::to_owned)
            .to_vec();
            for bound in ["minimum", "maximum"] {
                if let Some(n) = param["schema"][bound].as_i64() {
                    values.extend([n - 1, n, n + 1].map(|v| v.to_string()));
                }
            }
            for value in values {
                let target = format!(
                    "{}?{pname}={value}",
                    targets[0].1.split('?').next().unwrap_or_default()
                );
                let documented_valid =
                    serde_json::from_str::<Value>(&value).is_ok_and(|v| schema.is_valid(&v));
                let (status, body) = record
                    .call(
                        name,
                        op,
                        &format!("{pname}={value}"),
                        keyed(provider, http.get(&target)),
                    )
                    .await;
                if documented_valid && status != 200 {
                    record.depart(format!(
                        "{provider} {} {pname}={value}: valid, answered {status}",
                        op.id
                    ));
                }
                if !documented_valid && !refused(provider, status, &body) {
                    record.depart(format!(
                        "{provider} {} {pname}={value}: invalid, answered {status}",
                        op.id
                    ));
                }
            }
        }
        if params.iter().any(|p| p["in"] == "query") {
            for query in ["%", "page=%ff", "=1", "&&", "page=1&page=2", "page"] {
                let target = format!("{}?{query}", targets[0].1);
                record
                    .call(
                        name,
                        op,
                        &format!("query {query:?}"),
                        keyed(provider, http.get(&target)),
                    )
                    .await;
            }
        }
    }

    // Faults the sandbox injects: each answer is still one the document describes.
    for op in &ops {
        for fault in [
            "rate_limit",
            "unavailable",
            "moderation_unavailable",
            "server_error",
            "envelope_error",
            "slow=1ms",
        ] {
            let target = url(sandbox, provider, op, &[("id", task)]);
            let request = match op.method.as_str() {
                "POST" => http.post(&target).json(&seed),
                _ => http.get(&target),
            };
            record
                .call(
                    name,
                    op,
                    &format!("fault {fault}"),
                    keyed(provider, request).header("X-Sandbox-Fault", fault),
                )
                .await;
        }
    }
}

/// In-flight idempotency (409) and expired outputs (410), which need sandboxes of their own.
async fn timing_edges(record: &mut Record) {
    let slow =
        Sandbox::start(SandboxConfig::default().with_submit_delay(Duration::from_millis(400)))
            .await
            .expect("a sandbox");
    let http = plain_http();
    for provider in Provider::ALL {
        let ops = operations(document(provider)).expect("operations");
        let submit = submit_of(&ops);
        if !submit.raw()["parameters"]
            .to_string()
            .contains("IdempotencyKey")
        {
            continue;
        }
        let seed = seed_examples()
            .into_iter()
            .find(|(p, _, _)| *p == provider)
            .map(|(_, _, b)| b)
            .expect("a seed");
        let target = url(&slow, provider, submit, &[]);
        let send = || {
            keyed(provider, http.post(&target))
                .header("Idempotency-Key", "in-flight")
                .json(&seed)
                .send()
        };
        let first = tokio::spawn(send());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, _) = record
            .call(
                provider.name(),
                submit,
                "while the first is in flight",
                keyed(provider, http.post(&target))
                    .header("Idempotency-Key", "in-flight")
                    .json(&seed),
            )
            .await;
        if status != 409 {
            record.depart(format!(
                "{provider}: a key in flight answered {status}, want 409"
            ));
        }
        // Idempotency keys are per API key: another key's first use is a first request.
        let (status, _) = record
            .call(
                provider.name(),
                submit,
                "another key while the first is in flight",
                keyed_as(provider, "another-account", http.post(&target))
                    .header("Idempotency-Key", "in-flight")
                    .json(&seed),
            )
            .await;
        if !(200..300).contains(&status) {
            record.depart(format!(
                "{provider}: another key's first use of a key in flight answered {status}"
            ));
        }
        let _ = first.await;
    }

    let expired = Sandbox::start(
        SandboxConfig::default()
            .with_time_scale(10_000.0)
            .with_output_ttl(Duration::ZERO)
            .with_forget_after(Duration::from_secs(60)),
    )
    .await
    .expect("a sandbox");
    let storage = operations(storage_document()).expect("operations");
    let download = operation(&storage, "download_output");
    let provider = Provider::Reapi;
    let ops = operations(document(provider)).expect("operations");
    let submit = submit_of(&ops);
    let seed = seed_examples()
        .into_iter()
        .find(|(p, _, _)| *p == provider)
        .map(|(_, _, b)| b)
        .expect("a seed");
    let (_, accepted) = record
        .call(
            "reapi",
            submit,
            "expiring",
            keyed(provider, http.post(url(&expired, provider, submit, &[]))).json(&seed),
        )
        .await;
    let link = submit.links().first().cloned().expect("a link");
    let id = follow(&link.expression, &accepted).expect("a task id");
    let poll = operation(&ops, &link.operation);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut status = 0;
    while status != 410 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, polled) = record
            .call(
                "reapi",
                poll,
                "expiring poll",
                keyed(
                    provider,
                    http.get(url(&expired, provider, poll, &[("id", &id)])),
                ),
            )
            .await;
        let mut urls = Vec::new();
        output_urls(&expired, &polled, &mut urls);
        let Some(target) = urls.first() else {
            continue;
        };
        status = record
            .call("storage", download, "expired", http.get(target))
            .await
            .0;
    }
    if status != 410 {
        record.depart(format!(
            "storage: an expired output answered {status}, want 410"
        ));
    }

    // A signed URL whose task is forgotten since: 404.
    let forgetful = Sandbox::start(
        SandboxConfig::default()
            .with_output_ttl(Duration::ZERO)
            .with_forget_after(Duration::from_millis(300)),
    )
    .await
    .expect("a sandbox");
    let (_, accepted) = record
        .call(
            "reapi",
            submit,
            "forgotten",
            keyed(provider, http.post(url(&forgetful, provider, submit, &[]))).json(&seed),
        )
        .await;
    let id = follow(&link.expression, &accepted).expect("a task id");
    let (_, polled) = record
        .call(
            "reapi",
            poll,
            "to be forgotten",
            keyed(
                provider,
                http.get(url(&forgetful, provider, poll, &[("id", &id)])),
            ),
        )
        .await;
    let mut urls = Vec::new();
    output_urls(&forgetful, &polled, &mut urls);
    tokio::time::sleep(Duration::from_millis(600)).await;
    match urls.first() {
        Some(target) => {
            let (status, _) = record
                .call("storage", download, "forgotten", http.get(target))
                .await;
            if status != 404 {
                record.depart(format!(
                    "storage: a forgotten task's output answered {status}, want 404"
                ));
            }
        }
        None => record.depart(format!("reapi: no output URL in {polled}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_of_the_sandbox_is_documented() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_time_scale(2_000.0))
        .await
        .expect("a sandbox");
    let mut record = Record::default();
    for provider in Provider::ALL {
        let ids = submit_bodies(&mut record, &sandbox, provider).await;
        let first = ids.first().cloned().expect("an accepted task");
        chains(&mut record, &sandbox, provider, &ids).await;
        edges(&mut record, &sandbox, provider, &first).await;
    }
    timing_edges(&mut record).await;

    let mut table = String::new();
    for ((doc, op, status), n) in &record.answers {
        table.push_str(&format!("{doc:>8} {op:<16} {status} ×{n}\n"));
    }
    let total: usize = record.answers.values().sum();
    println!("{total} answers judged:\n{table}");
    // Every operation of every document was called.
    for (doc, value) in Provider::ALL
        .map(|p| (p.name(), document(p)))
        .into_iter()
        .chain([("storage", storage_document())])
    {
        for op in operations(value).expect("operations") {
            assert!(
                record
                    .answers
                    .keys()
                    .any(|(d, o, _)| d == doc && *o == op.id),
                "{doc} {} was never called",
                op.id
            );
        }
    }
    assert!(
        record.departures.is_empty(),
        "{} departures from the documents:\n{}",
        record.departures.len(),
        record.departures.join("\n")
    );
}
