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
    /// `slow` or `slow=MS`: the answer waits (default [`super::SandboxConfig::slow_delay`];
    /// at most [`MAX_SLOW`]). A sandbox that shuts down stops waiting.
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
    /// `duplicate_callback`: the terminal callback is delivered 2–3 times, some concurrently:
    /// drawn per task at even odds, either three copies (two sent at the same moment, the
    /// third once both are done) or two (at even odds at the same moment or one after the
    /// other). Each copy is a full delivery with its own retries, signed afresh as usual.
    DuplicateCallback,
    /// `drop_callback`: the task's terminal callback is never delivered (Apiframe progress
    /// events still are); the delivery log ([`super::Sandbox::deliveries`]) records it once,
    /// as dropped.
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

/// The longest wait a `slow=MS` fault may ask for: ten minutes.
pub const MAX_SLOW: Duration = Duration::from_secs(600);

/// A fault name, argument, count or rate the sandbox cannot use. An unknown name's message
/// lists the known ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFault {
    message: String,
    list_names: bool,
}

impl UnknownFault {
    /// An unknown fault name: the message goes on with the known names.
    fn name(message: String) -> Self {
        UnknownFault {
            message,
            list_names: true,
        }
    }

    /// A known fault with an argument, count or rate it cannot take.
    fn value(message: String) -> Self {
        UnknownFault {
            message,
            list_names: false,
        }
    }
}

impl fmt::Display for UnknownFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if self.list_names {
            write!(f, "; known faults: {}", FAULT_NAMES.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownFault {}

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (name, argument) = match text.split_once('=') {
            Some((name, argument)) => (name.trim(), Some(argument.trim())),
            None => (text, None),
        };
        match (name, argument) {
            ("slow", Some(ms)) => {
                let max = MAX_SLOW.as_millis();
                let refused = || {
                    UnknownFault::value(format!(
                        "slow={ms}: want whole milliseconds from 0 to {max} (10 min), e.g. slow=1500"
                    ))
                };
                let wait = ms
                    .trim_end_matches("ms")
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| refused())?;
                if u128::from(wait) > max {
                    return Err(refused());
                }
                Ok(Fault::Slow(Some(Duration::from_millis(wait))))
            }
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
            (name, None) => Fault::plain(name)
                .ok_or_else(|| UnknownFault::name(format!("unknown fault {name:?}"))),
            (name, Some(_)) if Fault::plain(name).is_none() => {
                Err(UnknownFault::name(format!("unknown fault {name:?}")))
            }
            (name, Some(_)) => Err(UnknownFault::value(format!(
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
    pub limit: Option<(u64, String)>,
}

/// Parses a header value, keeping each item's `*N` limit.
pub(crate) fn parse_counted(text: &str) -> Result<Vec<Item>, UnknownFault> {
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let part = part.trim();
            match part.rsplit_once('*') {
                Some((fault, times)) => {
                    let times = times.trim().parse::<u64>().map_err(|_| {
                        UnknownFault::value(format!(
                            "{part}: want NAME*N with N a whole number from 0 to {}, e.g. rate_limit*2",
                            u64::MAX
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

    /// Sets the rate of the fault called `name` (see [`FAULT_NAMES`]): a probability from 0
    /// to 1. An unknown name, or a rate outside 0..=1 (NaN included), is refused.
    pub fn with(mut self, name: &str, rate: f64) -> Result<Self, UnknownFault> {
        let name = FAULT_NAMES
            .iter()
            .find(|known| **known == name)
            .ok_or_else(|| UnknownFault::name(format!("unknown fault {name:?}")))?;
        if !(0.0..=1.0).contains(&rate) {
            return Err(UnknownFault::value(format!(
                "{name}={rate}: the rate is a probability, a number from 0 to 1 (e.g. {name}=0.05)"
            )));
        }
        self.0.insert(name, rate);
        Ok(self)
    }

    /// Parses `NAME=RATE`, as `happyhorse sandbox --fault` takes it: RATE a number from 0 to 1.
    pub fn with_spec(self, spec: &str) -> Result<Self, UnknownFault> {
        let (name, rate) = spec.split_once('=').ok_or_else(|| {
            UnknownFault::value(format!("{spec:?}: want NAME=RATE, e.g. rate_limit=0.05"))
        })?;
        let (name, rate) = (name.trim(), rate.trim());
        let rate: f64 = rate.parse().map_err(|_| {
            UnknownFault::value(format!(
                "{spec:?}: the rate is a probability, a number from 0 to 1 (e.g. {name}=0.05)"
            ))
        })?;
        self.with(name, rate)
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
    fn rates_are_probabilities_and_draw() {
        let rates = FaultRates::none().with_spec("rate_limit=1").unwrap();
        assert_eq!(rates.draw(&REQUEST_FAULTS), vec![Fault::RateLimit]);
        assert_eq!(rates.draw(&DOWNLOAD_FAULTS), vec![]);
        assert!(FaultRates::none().with_spec("nope=0.1").is_err());
        assert!(FaultRates::none().with_spec("fail").is_err());
        assert!(FaultRates::none()
            .with_spec("fail=0")
            .unwrap()
            .draw(&SUBMIT_FAULTS)
            .is_empty());
        for spec in [
            "rate_limit=2",
            "rate_limit=-0.1",
            "rate_limit=NaN",
            "rate_limit=inf",
            "rate_limit=1e400",
            "rate_limit=",
            "rate_limit=half",
        ] {
            let err = FaultRates::none().with_spec(spec).unwrap_err().to_string();
            assert!(err.contains("a number from 0 to 1"), "{spec}: {err}");
            assert!(!err.contains("known faults"), "{spec}: {err}");
        }
        for rate in [f64::NAN, f64::INFINITY, -1.0, 1.000_001] {
            assert!(FaultRates::none().with("slow", rate).is_err(), "{rate}");
        }
        assert!(FaultRates::none().with("slow", 0.5).is_ok());
    }

    #[test]
    fn counts_take_any_u64_and_slow_waits_are_bounded() {
        let max = format!("rate_limit*{}", u64::MAX);
        assert_eq!(parse_counted(&max).unwrap()[0].limit, Some((u64::MAX, max)));
        let err = parse_counted("rate_limit*18446744073709551616")
            .err()
            .map(|err| err.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("a whole number from 0 to 18446744073709551615"),
            "{err}"
        );
        assert!(parse_counted("rate_limit*-1").is_err());
        assert_eq!(
            parse_list("slow=600000"),
            Ok(vec![Fault::Slow(Some(MAX_SLOW))])
        );
        for text in ["slow=600001", "slow=18446744073709551615", "slow=-5"] {
            let err = parse_list(text).unwrap_err().to_string();
            assert!(err.contains("from 0 to 600000"), "{text}: {err}");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_header_value_or_spec_panics(text in ".*", ascii in "[ -~]{0,40}") {
            for text in [&text, &ascii] {
                let _ = parse_counted(text);
                let _ = text.parse::<Fault>();
                let _ = FaultRates::none().with_spec(text);
            }
        }

        #[test]
        fn fault_grammar_pieces_never_panic(
            name in proptest::sample::select(FAULT_NAMES.to_vec()),
            argument in "[0-9a-z:.*=, -]{0,30}",
            count in proptest::num::u64::ANY,
        ) {
            let _ = parse_counted(&format!("{name}={argument}*{count}, {name}*{argument}"));
            let _ = FaultRates::none().with_spec(&format!("{name}={argument}"));
        }
    }
}
