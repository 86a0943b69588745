//! Fault injection: what can go wrong on purpose, chosen per request by the
//! `X-Sandbox-Fault` header or at random by configured rates.

use std::{collections::BTreeMap, fmt, str::FromStr, time::Duration};

/// The request header that injects faults into one request: a comma-separated list of
/// [`Fault`] names, e.g. `X-Sandbox-Fault: rate_limit` or `X-Sandbox-Fault: fail=TASK_TIMEOUT,
/// duplicate_callback`. `NAME*N` limits a fault to the first N requests that carry that item
/// (counted per sandbox), so a client that sends the same header on every call sees the fault
/// N times and then succeeds: `X-Sandbox-Fault: rate_limit*2`.
pub const FAULT_HEADER: &str = "x-sandbox-fault";

/// One thing the sandbox can do wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// `rate_limit`: 429 with `Retry-After` and the provider's rate-limit body. Nothing is
    /// created.
    RateLimit,
    /// `unavailable`: 503 with the provider's body. Nothing is created.
    Unavailable,
    /// `moderation_unavailable`: 503 `nsfw_moderation_unavailable`, the moderation service's
    /// transient outage (HiAPI R2V page). Nothing is created.
    ModerationUnavailable,
    /// `server_error`: 500. Nothing is created.
    ServerError,
    /// `reset`: the connection is dropped before a complete answer. On a submit the task *is*
    /// created first: the case an `Idempotency-Key` exists for.
    Reset,
    /// `slow` or `slow=MS`: the answer waits (default [`super::SandboxConfig::slow_delay`]).
    Slow(Option<Duration>),
    /// `truncate`: a download stops after half of its bytes, with the full `Content-Length`
    /// announced. Sent with a submit, it truncates the task's first download.
    Truncate,
    /// `envelope_error`: HiAPI answers HTTP 200 whose body carries `code: 400`, as its T2V
    /// page warns it does for some validation errors (other providers answer a plain 400).
    /// Nothing is created.
    EnvelopeError,
    /// `fail` or `fail=CODE[:MESSAGE]`: the submitted task ends failed with that code.
    Fail {
        /// The provider's error code (numeric on reapi).
        code: Option<String>,
        /// The failure message.
        message: Option<String>,
    },
    /// `duplicate_callback`: the terminal callback is delivered twice.
    DuplicateCallback,
    /// `drop_callback`: no callback is delivered for this task.
    DropCallback,
}

/// The fault names, as written in the header and in `--fault NAME=RATE`.
pub const FAULT_NAMES: [&str; 11] = [
    "rate_limit",
    "unavailable",
    "moderation_unavailable",
    "server_error",
    "reset",
    "slow",
    "truncate",
    "envelope_error",
    "fail",
    "duplicate_callback",
    "drop_callback",
];

impl Fault {
    /// The fault's name.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::RateLimit => "rate_limit",
            Fault::Unavailable => "unavailable",
            Fault::ModerationUnavailable => "moderation_unavailable",
            Fault::ServerError => "server_error",
            Fault::Reset => "reset",
            Fault::Slow(_) => "slow",
            Fault::Truncate => "truncate",
            Fault::EnvelopeError => "envelope_error",
            Fault::Fail { .. } => "fail",
            Fault::DuplicateCallback => "duplicate_callback",
            Fault::DropCallback => "drop_callback",
        }
    }

    fn plain(name: &str) -> Option<Fault> {
        Some(match name {
            "rate_limit" => Fault::RateLimit,
            "unavailable" => Fault::Unavailable,
            "moderation_unavailable" => Fault::ModerationUnavailable,
            "server_error" => Fault::ServerError,
            "reset" => Fault::Reset,
            "slow" => Fault::Slow(None),
            "truncate" => Fault::Truncate,
            "envelope_error" => Fault::EnvelopeError,
            "fail" => Fault::Fail {
                code: None,
                message: None,
            },
            "duplicate_callback" => Fault::DuplicateCallback,
            "drop_callback" => Fault::DropCallback,
            _ => return None,
        })
    }
}

/// A fault name or argument the sandbox does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}; known faults: {names}", names = FAULT_NAMES.join(", "))]
pub struct UnknownFault(String);

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (name, argument) = match text.split_once('=') {
            Some((name, argument)) => (name.trim(), Some(argument.trim())),
            None => (text, None),
        };
        match (name, argument) {
            ("slow", Some(ms)) => ms
                .trim_end_matches("ms")
                .parse::<u64>()
                .map(|ms| Fault::Slow(Some(Duration::from_millis(ms))))
                .map_err(|_| UnknownFault(format!("slow={ms}: want milliseconds, e.g. slow=1500"))),
            ("fail", Some(argument)) => {
                let (code, message) = match argument.split_once(':') {
                    Some((code, message)) => (code.trim(), Some(message.trim().to_owned())),
                    None => (argument, None),
                };
                Ok(Fault::Fail {
                    code: (!code.is_empty()).then(|| code.to_owned()),
                    message,
                })
            }
            (name, None) => {
                Fault::plain(name).ok_or_else(|| UnknownFault(format!("unknown fault {name:?}")))
            }
            (name, Some(_)) => Err(UnknownFault(format!(
                "fault {name:?} takes no argument (only slow=MS and fail=CODE[:MESSAGE] do)"
            ))),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One item of a header value: the fault, and the `*N` limit with the item's text to count
/// it by.
pub(crate) struct Item {
    pub fault: Fault,
    pub limit: Option<(u32, String)>,
}

/// Parses a header value, keeping each item's `*N` limit.
pub(crate) fn parse_counted(text: &str) -> Result<Vec<Item>, UnknownFault> {
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let part = part.trim();
            match part.rsplit_once('*') {
                Some((fault, times)) => {
                    let times = times.trim().parse::<u32>().map_err(|_| {
                        UnknownFault(format!(
                            "{part}: want NAME*N with N a count, e.g. rate_limit*2"
                        ))
                    })?;
                    Ok(Item {
                        fault: fault.parse()?,
                        limit: Some((times, part.to_owned())),
                    })
                }
                None => Ok(Item {
                    fault: part.parse()?,
                    limit: None,
                }),
            }
        })
        .collect()
}

/// How often each fault happens on its own, by name, as a probability from 0 to 1.
///
/// A rate applies where its fault can happen: `rate_limit`, `unavailable`,
/// `moderation_unavailable`, `server_error`, `reset` and `slow` to every API request; `fail`
/// and the callback faults to every new task; `truncate` to every download.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultRates(BTreeMap<&'static str, f64>);

impl FaultRates {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Sets the rate of the fault called `name` (see [`FAULT_NAMES`]), clamped to 0..=1.
    pub fn with(mut self, name: &str, rate: f64) -> Result<Self, UnknownFault> {
        let name = FAULT_NAMES
            .iter()
            .find(|known| **known == name)
            .ok_or_else(|| UnknownFault(format!("unknown fault {name:?}")))?;
        let rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        self.0.insert(name, rate);
        Ok(self)
    }

    /// Parses `NAME=RATE`, as `happyhorse sandbox --fault` takes it.
    pub fn with_spec(self, spec: &str) -> Result<Self, UnknownFault> {
        let (name, rate) = spec.split_once('=').ok_or_else(|| {
            UnknownFault(format!("{spec:?}: want NAME=RATE, e.g. rate_limit=0.05"))
        })?;
        let rate: f64 = rate.trim().parse().map_err(|_| {
            UnknownFault(format!("{spec:?}: the rate must be a number from 0 to 1"))
        })?;
        self.with(name.trim(), rate)
    }

    /// Whether no fault has a rate above zero.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(|rate| *rate <= 0.0)
    }

    /// Draws the faults, among `names`, that happen to this request.
    pub(crate) fn draw(&self, names: &[&str]) -> Vec<Fault> {
        if self.is_empty() {
            return Vec::new();
        }
        names
            .iter()
            .filter(|name| {
                self.0
                    .get(*name)
                    .is_some_and(|rate| *rate > 0.0 && fastrand::f64() < *rate)
            })
            .filter_map(|name| Fault::plain(name))
            .collect()
    }
}

/// Faults that can happen to any API request.
pub(crate) const REQUEST_FAULTS: [&str; 7] = [
    "rate_limit",
    "envelope_error",
    "unavailable",
    "moderation_unavailable",
    "server_error",
    "reset",
    "slow",
];
/// Faults that can happen to a submit: any request's, and those decided for the new task.
pub(crate) const SUBMIT_FAULTS: [&str; 11] = [
    "rate_limit",
    "envelope_error",
    "unavailable",
    "moderation_unavailable",
    "server_error",
    "reset",
    "slow",
    "fail",
    "duplicate_callback",
    "drop_callback",
    "truncate",
];
/// Faults that can happen to a download.
pub(crate) const DOWNLOAD_FAULTS: [&str; 2] = ["truncate", "slow"];

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_list(text: &str) -> Result<Vec<Fault>, UnknownFault> {
        Ok(parse_counted(text)?
            .into_iter()
            .map(|item| item.fault)
            .collect())
    }

    #[test]
    fn header_values_parse() {
        assert_eq!(
            parse_list("rate_limit, slow=250 ,fail=TASK_TIMEOUT:took too long"),
            Ok(vec![
                Fault::RateLimit,
                Fault::Slow(Some(Duration::from_millis(250))),
                Fault::Fail {
                    code: Some("TASK_TIMEOUT".into()),
                    message: Some("took too long".into())
                },
            ])
        );
        let err = parse_list("rate-limit").unwrap_err().to_string();
        assert!(err.contains("unknown fault \"rate-limit\""), "{err}");
        assert!(err.contains("rate_limit, unavailable"), "{err}");
        assert!(parse_list("reset=3").is_err());
        let counted = parse_counted("rate_limit*2, reset").unwrap();
        assert_eq!(counted[0].fault, Fault::RateLimit);
        assert_eq!(counted[0].limit, Some((2, "rate_limit*2".to_owned())));
        assert_eq!(counted[1].limit, None);
        assert!(parse_counted("rate_limit*x").is_err());
        assert!(parse_list("slow=soon").is_err());
    }

    #[test]
    fn rates_clamp_and_draw() {
        let rates = FaultRates::none().with_spec("rate_limit=2").unwrap();
        assert_eq!(rates.draw(&REQUEST_FAULTS), vec![Fault::RateLimit]);
        assert_eq!(rates.draw(&DOWNLOAD_FAULTS), vec![]);
        assert!(FaultRates::none().with_spec("nope=0.1").is_err());
        assert!(FaultRates::none().with_spec("fail").is_err());
        assert!(FaultRates::none()
            .with_spec("fail=0")
            .unwrap()
            .draw(&SUBMIT_FAULTS)
            .is_empty());
    }
}
