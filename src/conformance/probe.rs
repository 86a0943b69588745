//! A drift probe: send a live endpoint only requests its document says must be refused before
//! any task is created, and report, case by case, where its verdict or wording differs.
//!
//! The cases are derived from the provider's request schema ([`super::mutations`]): valid
//! bodies of each mode, each edited once across one rule (an unknown field, a duration out of
//! range, one reference too many, a wrong type, ...), kept only when both the document's JSON
//! Schema and the crate's validation layer call the edited body invalid; then the same kind of
//! body without a key, and with a key that is not one. A valid body is never sent.
//!
//! What the document says each must get: a body case, the submit operation's `400` (HiAPI:
//! or its HTTP 200 envelope carrying another `code`, as its pages warn), with an answer the
//! document describes and a message that names the offending field; a key case, `401`.
//!
//! Money: a provider that drifted may accept a body and create a (billable) task. The probe
//! stops at the first accepted case unless told to go on, and names the task it created.

use std::{collections::BTreeSet, fmt, time::Duration};

use reqwest::{
    header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE},
    StatusCode,
};
use serde_json::Value;

use super::{
    compile, document,
    mutations::{edits, Edit, Rule, UNKNOWN_FIELD},
    operations::{operations, Answer, Operation, Violation},
    request_reference, DocumentError,
};
use crate::{
    retry::{self, Retry},
    validate,
    values::{HttpUrl, References, VideoDuration},
    ClientConfig, Error, Prompt, Provider, VideoRequest,
};

/// How a case authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUse {
    /// The configured key.
    Configured,
    /// No key at all.
    Missing,
    /// A made-up key (without the provider's prefix).
    MadeUp,
}

/// One request the probe sends.
#[derive(Clone, Debug)]
pub struct Case {
    /// What the case tries, e.g. `above_maximum /duration = 16`.
    pub name: String,
    /// The body sent (never one the documents call valid).
    pub body: Value,
    /// How it authenticates.
    pub key: KeyUse,
    /// The status the document prescribes: 400 for a body, 401 for a key.
    pub expected: u16,
    /// The field a refusal's message should name (`None`: any wording).
    pub field: Option<String>,
}

/// The probe's cases for `provider`, in the order they are sent.
pub fn cases(provider: Provider) -> Result<Vec<Case>, DocumentError> {
    let doc = document(provider);
    let schema = compiled_request_schema(provider)?;
    let reference = request_reference(provider);
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for base in bases(provider) {
        for edit in edits(doc, &reference, &base) {
            if !refusable(edit.rule) || !seen.insert((edit.pointer.clone(), edit.rule)) {
                continue;
            }
            let Some(body) = edit.apply(&base) else {
                continue;
            };
            // Never a body either judge calls valid.
            if schema.is_valid(&body) || validate::is_valid(provider, &body) {
                continue;
            }
            found.push(Case {
                name: edit.to_string(),
                field: field_of(&edit),
                body,
                key: KeyUse::Configured,
                expected: 400,
            });
        }
    }
    // The key cases carry an invalid body too, so that a provider checking the body first
    // still creates nothing.
    if let Some(first) = found.first().cloned() {
        for (key, name) in [
            (KeyUse::Missing, "no key"),
            (KeyUse::MadeUp, "a made-up key"),
        ] {
            found.push(Case {
                name: name.to_owned(),
                key,
                expected: 401,
                field: None,
                ..first.clone()
            });
        }
    }
    Ok(found)
}

/// The edits that aim at a rule whose breach the documents refuse.
fn refusable(rule: Rule) -> bool {
    !matches!(rule, Rule::OnBound | Rule::EnumValue | Rule::OptionalField)
}

/// The field a refusal should name: the unknown field, else the last named segment.
fn field_of(edit: &Edit) -> Option<String> {
    if edit.rule == Rule::UnknownField {
        return Some(UNKNOWN_FIELD.to_owned());
    }
    edit.pointer
        .rsplit('/')
        .find(|segment| !segment.is_empty() && !segment.bytes().all(|b| b.is_ascii_digit()))
        .map(crate::contract::unescape)
}

/// Valid bodies of every mode the provider serves, built by the crate's own request layer.
fn bases(provider: Provider) -> Vec<Value> {
    let prompt = || Prompt::new("A horse running on a beach at sunset");
    let url = |n: u32| HttpUrl::new(format!("https://example.com/probe/{n}.png"));
    let mut requests = Vec::new();
    if let (Ok(prompt), Ok(duration)) = (prompt(), VideoDuration::new(5)) {
        requests.push(VideoRequest::text_to_video(prompt).with_duration(duration));
    }
    if let (Ok(first), Ok(prompt)) = (url(1), prompt()) {
        requests.push(VideoRequest::image_to_video(first, Some(prompt)));
    }
    if let (Ok(prompt), Ok(one), Ok(two)) = (prompt(), url(2), url(3)) {
        if let Ok(references) = References::new(vec![one, two]) {
            requests.push(VideoRequest::reference_to_video(prompt, references));
        }
    }
    requests
        .iter()
        .filter_map(|request| request.to_wire(provider).ok())
        .map(|wire| wire.body.to_json())
        .filter(|body| validate::is_valid(provider, body))
        .collect()
}

fn compiled_request_schema(provider: Provider) -> Result<jsonschema::Validator, DocumentError> {
    compile(
        document(provider),
        &request_reference(provider),
        "/components/schemas",
    )
}

/// The probe of one provider's endpoint.
#[derive(Clone, Debug)]
pub struct Probe {
    config: ClientConfig,
    keep_going: bool,
}

/// What the provider did with one case.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The case.
    pub case: Case,
    /// The status answered.
    pub status: u16,
    /// The start of the answer's message (at most 200 characters).
    pub excerpt: String,
    /// Where the answer departs from the document; empty when it conforms.
    pub drift: Vec<Drift>,
}

/// One way an answer departs from what the document prescribes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drift {
    /// The body was accepted: a task may exist, and be billed.
    Accepted {
        /// The task the answer names, when the document's link finds one.
        task: Option<String>,
    },
    /// Refused, but with another status than the document's.
    Status {
        /// The document's.
        expected: u16,
        /// The answer's.
        found: u16,
    },
    /// The answer is not one the operation documents (status, media type or body).
    Answer(Violation),
    /// The refusal does not name the offending field.
    Wording {
        /// The field.
        field: String,
    },
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::Accepted { task: Some(task) } => {
                write!(f, "accepted: task {task} was created (it may be billed)")
            }
            Drift::Accepted { task: None } => {
                write!(
                    f,
                    "accepted: a task may have been created (it may be billed)"
                )
            }
            Drift::Status { expected, found } => {
                write!(f, "refused with {found}, documented {expected}")
            }
            Drift::Answer(violation) => write!(f, "undocumented answer: {violation}"),
            Drift::Wording { field } => write!(f, "the refusal does not name `{field}`"),
        }
    }
}

/// The probe's findings.
#[derive(Clone, Debug)]
pub struct ProbeReport {
    /// The provider probed.
    pub provider: Provider,
    /// Each case sent, in order.
    pub outcomes: Vec<Outcome>,
    /// Cases not sent because the probe stopped at an accepted one.
    pub not_sent: usize,
}

impl ProbeReport {
    /// Whether any answer departs from the document.
    pub fn drifted(&self) -> bool {
        self.outcomes.iter().any(|o| !o.drift.is_empty())
    }

    /// The tasks accepted cases may have created.
    pub fn accepted(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.drift.iter().any(|d| matches!(d, Drift::Accepted { .. })))
            .count()
    }
}

impl fmt::Display for ProbeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for outcome in &self.outcomes {
            let mark = if outcome.drift.is_empty() {
                "ok   "
            } else {
                "DRIFT"
            };
            write!(f, "{mark} {} → {}", outcome.case.name, outcome.status)?;
            if !outcome.excerpt.is_empty() {
                write!(f, " {:?}", outcome.excerpt)?;
            }
            writeln!(f)?;
            for drift in &outcome.drift {
                writeln!(f, "      {drift}")?;
            }
        }
        let drifted = self.outcomes.iter().filter(|o| !o.drift.is_empty()).count();
        write!(
            f,
            "{}: {} cases sent, {} as documented, {drifted} drifted",
            self.provider,
            self.outcomes.len(),
            self.outcomes.len().saturating_sub(drifted)
        )?;
        if self.not_sent > 0 {
            write!(
                f,
                "; stopped at an accepted case, {} not sent",
                self.not_sent
            )?;
        }
        Ok(())
    }
}

impl Probe {
    /// A probe of `config`'s provider at its base URL, with its key (see
    /// [`ClientConfig::from_env`]).
    pub fn new(config: ClientConfig) -> Self {
        Probe {
            config,
            keep_going: false,
        }
    }

    /// Goes on after a case was accepted (by default the probe stops there: each accepted case
    /// may be a billed task).
    pub fn keep_going(mut self, keep_going: bool) -> Self {
        self.keep_going = keep_going;
        self
    }

    /// Sends every case, in order, and reports.
    ///
    /// Fails before sending anything when the configuration cannot work (no key, a base URL
    /// that is neither HTTPS nor loopback) or the document cannot be read, and on a network
    /// failure (the cases sent until then are lost with it: rerun).
    pub async fn run(&self) -> Result<ProbeReport, Error> {
        let provider = self.config.provider();
        let base = self.config.checked_base_url()?;
        let key = self.config.key()?.clone();
        let config_error = |err: DocumentError| Error::Config {
            message: format!("{provider}'s document: {err}"),
        };
        let cases = cases(provider).map_err(config_error)?;
        let ops = operations(document(provider)).map_err(config_error)?;
        let submit = ops
            .iter()
            .find(|op| op.method == "POST")
            .ok_or_else(|| Error::Config {
                message: format!("{provider}'s document has no submit operation"),
            })?;
        let http = http_client(&self.config)?;
        let url = format!("{base}{}", submit.path);
        let mut outcomes = Vec::new();
        let total = cases.len();
        for case in cases {
            let header = auth_header(provider, case.key, key.expose())?;
            let (status, content_type, body) = self.send(&http, &url, &case, header).await?;
            let outcome = judge(
                provider,
                submit,
                case,
                status,
                content_type.as_deref(),
                &body,
            );
            let accepted = outcome
                .drift
                .iter()
                .any(|d| matches!(d, Drift::Accepted { .. }));
            outcomes.push(outcome);
            if accepted && !self.keep_going {
                break;
            }
        }
        let not_sent = total.saturating_sub(outcomes.len());
        Ok(ProbeReport {
            provider,
            outcomes,
            not_sent,
        })
    }

    /// One case, retried (the crate's one retry mechanism) only on 429 and 503, which create
    /// nothing.
    async fn send(
        &self,
        http: &reqwest::Client,
        url: &str,
        case: &Case,
        auth: Option<(HeaderName, HeaderValue)>,
    ) -> Result<(u16, Option<String>, Vec<u8>), Error> {
        let provider = self.config.provider();
        let attempt = |_| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            if let Some((name, value)) = auth.clone() {
                headers.insert(name, value);
            }
            let request = http.post(url).headers(headers).json(&case.body);
            async move {
                let response = request
                    .send()
                    .await
                    .map_err(|err| Failure::Network(err.without_url()))?;
                let status = response.status();
                let retry_after = retry::retry_after(response.headers());
                let content_type = response
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = response
                    .bytes()
                    .await
                    .map_err(|err| Failure::Network(err.without_url()))?;
                if matches!(
                    status,
                    StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                ) {
                    return Err(Failure::Busy {
                        answer: (status.as_u16(), content_type, body.to_vec()),
                        retry_after,
                    });
                }
                Ok((status.as_u16(), content_type, body.to_vec()))
            }
        };
        let classify = |failure: &Failure| match failure {
            Failure::Busy {
                answer,
                retry_after,
            } => Some(Retry::because(
                format!("{} from {provider}", answer.0),
                *retry_after,
            )),
            // A connection that never opened sent nothing.
            Failure::Network(err) if err.is_connect() => {
                Some(Retry::because("cannot connect", None))
            }
            Failure::Network(_) => None,
        };
        match self.config.retry().run("probe", classify, attempt).await {
            Ok(answer) => Ok(answer),
            Err(Failure::Busy { answer, .. }) => Ok(answer),
            Err(Failure::Network(source)) => Err(Error::Network { provider, source }),
        }
    }
}

/// Why an attempt ended without a verdict.
enum Failure {
    Network(reqwest::Error),
    Busy {
        answer: (u16, Option<String>, Vec<u8>),
        retry_after: Option<Duration>,
    },
}

/// A client with the crate's TLS set-up and no default headers (the key goes per case).
fn http_client(config: &ClientConfig) -> Result<reqwest::Client, Error> {
    let tls = crate::tls::shared_config().map_err(|message| Error::Config {
        message: format!("cannot set up TLS: {message}"),
    })?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!("happyhorse-probe/", env!("CARGO_PKG_VERSION")))
        .timeout(config.timeout())
        .connect_timeout(config.connect_timeout())
        .build()
        .map_err(|err| Error::Config {
            message: format!("cannot build the HTTP client: {err}"),
        })
}

/// The authentication header a case carries, marked sensitive.
fn auth_header(
    provider: Provider,
    key_use: KeyUse,
    key: &str,
) -> Result<Option<(HeaderName, HeaderValue)>, Error> {
    // Without the provider's prefix, so that no provider (nor the sandbox, which takes any
    // prefixed key) can take it for one of its keys.
    let made_up = "happyhorse-probe-not-a-key";
    let key = match key_use {
        KeyUse::Missing => return Ok(None),
        KeyUse::MadeUp => made_up,
        KeyUse::Configured => key,
    };
    crate::client::auth_header(provider, key).map(Some)
}

/// The case's outcome: its verdict against the document's.
fn judge(
    provider: Provider,
    submit: &Operation,
    case: Case,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Outcome {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let mut drift: Vec<Drift> = submit
        .judge(&Answer {
            status,
            content_type,
            body,
        })
        .into_iter()
        .map(Drift::Answer)
        .collect();
    // HiAPI answers some refusals with HTTP 200 and another `code` (documented on its 200).
    let envelope = parsed
        .as_ref()
        .filter(|_| provider == Provider::HiApi && status == 200)
        .and_then(|b| b.get("code"))
        .and_then(Value::as_u64)
        .filter(|code| *code != 200)
        .and_then(|code| u16::try_from(code).ok());
    let refused_as = match (status, envelope) {
        (_, Some(code)) => Some(code),
        (400..=499, None) => Some(status),
        _ => None,
    };
    match refused_as {
        None if (200..300).contains(&status) => {
            let task = submit
                .links()
                .iter()
                .find(|link| link.status == status.to_string())
                .and_then(|link| link.expression.strip_prefix("$response.body#"))
                .and_then(|pointer| parsed.as_ref()?.pointer(pointer))
                .and_then(Value::as_str)
                .map(str::to_owned);
            drift.insert(0, Drift::Accepted { task });
        }
        None => drift.push(Drift::Status {
            expected: case.expected,
            found: status,
        }),
        Some(found) if found != case.expected => drift.push(Drift::Status {
            expected: case.expected,
            found,
        }),
        Some(_) => {
            if let Some(field) = &case.field {
                if !parsed.as_ref().is_some_and(|b| mentions(b, field)) {
                    drift.push(Drift::Wording {
                        field: field.clone(),
                    });
                }
            }
        }
    }
    Outcome {
        excerpt: excerpt(parsed.as_ref(), body),
        status,
        drift,
        case,
    }
}

/// Whether any string or key in `value` contains `field`.
fn mentions(value: &Value, field: &str) -> bool {
    match value {
        Value::String(text) => text.contains(field),
        Value::Array(items) => items.iter().any(|v| mentions(v, field)),
        Value::Object(map) => map
            .iter()
            .any(|(key, v)| key.contains(field) || mentions(v, field)),
        _ => false,
    }
}

/// The answer's message (its `message`, `error.message`, `error` or `details`), else the
/// start of the body; at most 200 characters.
fn excerpt(parsed: Option<&Value>, body: &[u8]) -> String {
    let text = parsed
        .and_then(|b| {
            ["/message", "/error/message", "/error"]
                .iter()
                .find_map(|p| b.pointer(p).and_then(Value::as_str))
                .map(|m| match b.get("details") {
                    Some(details) => format!("{m} {details}"),
                    None => m.to_owned(),
                })
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_has_cases_of_every_kind_and_none_is_valid() {
        for provider in Provider::ALL {
            let cases = cases(provider).unwrap();
            let schema = compiled_request_schema(provider).unwrap();
            for case in &cases {
                assert!(
                    !validate::is_valid(provider, &case.body),
                    "{provider} {}",
                    case.name
                );
                assert!(!schema.is_valid(&case.body), "{provider} {}", case.name);
            }
            let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
            for rule in [
                "unknown_field",
                "above_maximum",
                "below_minimum",
                "wrong_type",
                "missing_required",
                "too_many_items",
            ] {
                assert!(
                    names.iter().any(|n| n.starts_with(rule)),
                    "{provider}: no {rule} in {names:#?}"
                );
            }
            assert!(
                names.contains(&"no key") && names.contains(&"a made-up key"),
                "{provider}"
            );
        }
    }

    #[test]
    fn the_duration_cases_are_one_past_each_bound() {
        let names: Vec<String> = cases(Provider::Apiframe)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert!(
            names.contains(&"above_maximum /happyhorse11Params/duration = 16".to_owned()),
            "{names:#?}"
        );
        assert!(
            names.contains(&"below_minimum /happyhorse11Params/duration = 2".to_owned()),
            "{names:#?}"
        );
    }
}
