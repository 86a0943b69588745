//! Helpers shared by the integration tests: the seed examples and the contract's validators.
#![allow(dead_code)]

use std::{fs, path::PathBuf};

#[cfg(feature = "cli")]
pub mod browser;
#[cfg(feature = "postgres")]
pub mod pg;
#[cfg(feature = "cli")]
pub mod process;
pub mod prometheus;
#[cfg(feature = "store")]
pub mod s3;
pub mod smallfs;

use happyhorse::{contract, Provider};
use serde_json::Value;

/// Says that a test skipped part of itself, where the test runner shows it: straight to the
/// process's stderr, which the runner's capture (of `print!` and `eprint!` only) leaves alone,
/// so `cargo test` shows the line beside the test's `ok` without `--nocapture`.
pub fn say_skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED (the test passes without it): {why}"
    );
}

/// The directory holding the seed pages' example bodies, one folder per provider.
pub fn seed_examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-examples")
}

/// Every example request body of the seed pages: provider, file name, body.
pub fn seed_examples() -> Vec<(Provider, String, Value)> {
    let mut out = Vec::new();
    for provider in Provider::ALL {
        let dir = seed_examples_dir().join(provider.name());
        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        names.sort();
        for path in names {
            let text = fs::read_to_string(&path).expect("readable fixture");
            let body =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.push((provider, name, body));
        }
    }
    out
}

/// One seed example by provider and file name.
pub fn seed_example(provider: Provider, name: &str) -> Value {
    seed_examples()
        .into_iter()
        .find(|(p, n, _)| *p == provider && n == name)
        .map(|(_, _, body)| body)
        .unwrap_or_else(|| panic!("no seed example {provider}/{name}"))
}

/// A draft-4 validator, with formats checked, for the named component of a provider's document.
pub fn validator(provider: Provider, component: &str) -> jsonschema::Validator {
    let schema = contract::component_schema(provider, component)
        .unwrap_or_else(|| panic!("{provider} has no component {component}"));
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{provider} {component} does not compile: {e}"))
}

/// The validator of a provider's whole submit body.
pub fn request_validator(provider: Provider) -> jsonschema::Validator {
    validator(provider, contract::request_component(provider))
}

/// Every error the validator reports, as `path: message` lines.
pub fn errors(validator: &jsonschema::Validator, body: &Value) -> Vec<String> {
    validator
        .iter_errors(body)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// `body` with the value at the JSON pointer `pointer` replaced (or inserted into its parent
/// object).
pub fn with(mut body: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
    let target = body.pointer_mut(parent).expect("parent exists");
    match target {
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
        }
        Value::Array(items) => items[key.parse::<usize>().expect("index")] = value,
        _ => panic!("{parent} is not a container"),
    }
    body
}

/// `body` without the member at the JSON pointer `pointer`.
pub fn without(mut body: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
    body.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .expect("parent object exists")
        .remove(key);
    body
}

/// A reqwest client that sends `name: value` on every request, marked sensitive.
pub fn http(name: &str, value: &str) -> reqwest::Client {
    http_with(&[(name, value)])
}

/// A reqwest client that sends these headers on every request, marked sensitive.
pub fn http_with(headers: &[(&str, &str)]) -> reqwest::Client {
    let mut map = reqwest::header::HeaderMap::new();
    for (name, value) in headers {
        let mut value = reqwest::header::HeaderValue::from_str(value).expect("ASCII header value");
        value.set_sensitive(true);
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).expect("header name");
        map.insert(name, value);
    }
    happyhorse::install_crypto_provider();
    reqwest::Client::builder()
        .default_headers(map)
        .build()
        .expect("a reqwest client")
}

/// A reqwest client with no default headers (reqwest is built without a TLS provider of its
/// own, so the process gets *ring*'s first).
pub fn plain_http() -> reqwest::Client {
    http_with(&[])
}

/// How many tasks the HiAPI side of a sandbox lists (`GET /v1/tasks`), given its base URL.
pub async fn hiapi_task_total(hiapi_base_url: &str) -> u64 {
    let listed: Value = plain_http()
        .get(format!("{hiapi_base_url}/tasks"))
        .bearer_auth("sk-test")
        .send()
        .await
        .expect("the sandbox answers")
        .json()
        .await
        .expect("a JSON task list");
    listed["data"]["total"].as_u64().expect("a total")
}

/// Sends `request` and parses its answer as JSON, panicking if either fails.
pub async fn send_json(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// The URL of the Apiframe job that `accepted` (the answer to a submit) names, given the
/// Apiframe base URL.
pub fn apiframe_job_url(apiframe_base_url: &str, accepted: &Value) -> String {
    format!(
        "{apiframe_base_url}/v2/jobs/{}",
        accepted["jobId"].as_str().unwrap()
    )
}

/// A sandbox with the default configuration but for outputs that expire at once and tasks
/// that are forgotten `forget_after` later.
#[cfg(feature = "sandbox")]
pub async fn forgetful_sandbox(forget_after: std::time::Duration) -> happyhorse::sandbox::Sandbox {
    happyhorse::sandbox::Sandbox::start(
        happyhorse::sandbox::SandboxConfig::default()
            .with_output_ttl(std::time::Duration::ZERO)
            .with_forget_after(forget_after),
    )
    .await
    .unwrap()
}

/// SHA-256 of `bytes`, lower-case hex (as the batch ledger records it).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A client of `provider` pointed at `sandbox`, with a key the sandbox accepts.
#[cfg(feature = "sandbox")]
pub fn sandbox_client(
    sandbox: &happyhorse::sandbox::Sandbox,
    provider: Provider,
) -> happyhorse::Client {
    happyhorse::Client::new(sandbox_client_config(sandbox, provider)).expect("a client")
}

/// The configuration of [`sandbox_client`], to add to (a fault header, say).
#[cfg(feature = "sandbox")]
pub fn sandbox_client_config(
    sandbox: &happyhorse::sandbox::Sandbox,
    provider: Provider,
) -> happyhorse::ClientConfig {
    happyhorse::ClientConfig::new(provider)
        .with_api_key(format!("{}test", provider.key_prefix()))
        .with_base_url(sandbox.base_url(provider))
}

/// The environment that points the binary's clients of every provider at `sandbox`:
/// `*_API_KEY` and `*_BASE_URL` pairs.
#[cfg(feature = "sandbox")]
pub fn sandbox_env(sandbox: &happyhorse::sandbox::Sandbox) -> Vec<(String, String)> {
    Provider::ALL
        .into_iter()
        .flat_map(|provider| {
            [
                (
                    provider.api_key_env().to_owned(),
                    format!("{}test", provider.key_prefix()),
                ),
                (
                    provider.base_url_env().to_owned(),
                    sandbox.base_url(provider),
                ),
            ]
        })
        .collect()
}

/// The file names in `dir`, sorted (empty when `dir` does not exist).
pub fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|entry| {
                entry
                    .expect("directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// A two-thread runtime that serves in-process sandboxes while a test thread waits on a child
/// process.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
