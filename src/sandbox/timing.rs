//! How long the sandbox's tasks take: [`TaskSeconds`], a fixed duration or a distribution each
//! task draws its own duration from, and the time scale the tasks' clock runs at.

use std::{fmt, str::FromStr};

/// The longest task, in simulated seconds: a year (as [`super::SandboxConfig::MAX_TASK_SECONDS`]).
const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// How long each task takes from submit to its terminal status, in simulated seconds (see
/// [`super::SandboxConfig::time_scale`]): one fixed duration, or a distribution each task draws
/// its own duration from when it is created.
///
/// Parsed from `180` (fixed), `180±20` or `180+-20` (uniform, mean ± spread) and
/// `lognormal:180,0.1` (log-normal, median and σ of the log); [`fmt::Display`] writes the same
/// forms back. `From<f64>` makes a fixed duration, so `with_task_seconds(3.0)` works.
///
/// Values the sandbox cannot use are brought into range rather than refused once in a
/// [`super::SandboxConfig`]: NaN and negative seconds count as 0, and durations as
/// [`super::SandboxConfig::MAX_TASK_SECONDS`] at most (see [`TaskSeconds::clamped`]). Parsing
/// refuses them, with a message that says what it takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TaskSeconds {
    /// Every task takes this many seconds.
    Fixed(f64),
    /// Each task takes a duration drawn uniformly from `mean - spread ..= mean + spread`.
    Uniform {
        /// The middle of the range, in seconds.
        mean: f64,
        /// How far a duration may lie from the mean, in seconds (at most the mean).
        spread: f64,
    },
    /// Each task takes `median · e^(σ·z)` seconds, `z` a standard normal draw (Box–Muller)
    /// kept within ±[`TaskSeconds::MAX_Z`], so that no draw is unboundedly long: the tails
    /// beyond lose about 1 draw in 15,800.
    LogNormal {
        /// The median duration, in seconds.
        median: f64,
        /// The standard deviation of the duration's natural logarithm (0 to
        /// [`TaskSeconds::MAX_SIGMA`]); 0.1 is about ±10 %.
        sigma: f64,
    },
}

impl Default for TaskSeconds {
    /// Tasks that finish at once: `Fixed(0.0)`.
    fn default() -> Self {
        TaskSeconds::Fixed(0.0)
    }
}

impl From<f64> for TaskSeconds {
    /// A fixed duration.
    fn from(seconds: f64) -> Self {
        TaskSeconds::Fixed(seconds)
    }
}

/// `seconds` within `0..=MAX_SECONDS`; NaN counts as 0.
fn clamp_seconds(seconds: f64) -> f64 {
    if seconds.is_nan() {
        0.0
    } else {
        seconds.clamp(0.0, MAX_SECONDS)
    }
}

impl TaskSeconds {
    /// The largest σ of a [`TaskSeconds::LogNormal`]: 3 (a draw then lies within a factor of
    /// e¹² ≈ 160,000 of the median).
    pub const MAX_SIGMA: f64 = 3.0;

    /// How many standard deviations a log-normal draw may lie from the median's logarithm.
    pub const MAX_Z: f64 = 4.0;

    /// The same durations with every number in range: seconds NaN or negative count as 0 and
    /// at most [`super::SandboxConfig::MAX_TASK_SECONDS`]; a uniform spread at most the mean
    /// (and at most what keeps `mean + spread` within the maximum); σ from 0 (NaN) to
    /// [`TaskSeconds::MAX_SIGMA`].
    pub fn clamped(self) -> Self {
        match self {
            TaskSeconds::Fixed(seconds) => TaskSeconds::Fixed(clamp_seconds(seconds)),
            TaskSeconds::Uniform { mean, spread } => {
                let mean = clamp_seconds(mean);
                let spread = clamp_seconds(spread)
                    .min(mean)
                    .min(MAX_SECONDS - mean)
                    .max(0.0);
                TaskSeconds::Uniform { mean, spread }
            }
            TaskSeconds::LogNormal { median, sigma } => TaskSeconds::LogNormal {
                median: clamp_seconds(median),
                sigma: if sigma.is_nan() {
                    0.0
                } else {
                    sigma.clamp(0.0, Self::MAX_SIGMA)
                },
            },
        }
    }

    /// The longest duration a task can draw, in seconds (at most
    /// [`super::SandboxConfig::MAX_TASK_SECONDS`]).
    pub fn max_seconds(&self) -> f64 {
        match self.clamped() {
            TaskSeconds::Fixed(seconds) => seconds,
            TaskSeconds::Uniform { mean, spread } => clamp_seconds(mean + spread),
            TaskSeconds::LogNormal { median, sigma } => {
                clamp_seconds(median * (sigma * Self::MAX_Z).exp())
            }
        }
    }

    /// One task's duration, in seconds, within `0..=`[`TaskSeconds::max_seconds`].
    pub fn draw(&self) -> f64 {
        let seconds = match self.clamped() {
            TaskSeconds::Fixed(seconds) => seconds,
            TaskSeconds::Uniform { mean, spread } => {
                mean + spread * fastrand::f64().mul_add(2.0, -1.0)
            }
            TaskSeconds::LogNormal { median, sigma } => {
                median * (sigma * standard_normal().clamp(-Self::MAX_Z, Self::MAX_Z)).exp()
            }
        };
        clamp_seconds(seconds).min(self.max_seconds())
    }
}

/// A standard normal draw (Box–Muller).
fn standard_normal() -> f64 {
    // `1 - f64()` lies in (0, 1]: its logarithm is finite.
    let u1 = 1.0 - fastrand::f64();
    let u2 = fastrand::f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

impl fmt::Display for TaskSeconds {
    /// `180`, `180±20` or `lognormal:180,0.1`: what [`TaskSeconds::from_str`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskSeconds::Fixed(seconds) => write!(f, "{seconds}"),
            TaskSeconds::Uniform { mean, spread } => write!(f, "{mean}±{spread}"),
            TaskSeconds::LogNormal { median, sigma } => write!(f, "lognormal:{median},{sigma}"),
        }
    }
}

/// Text that is not a task duration [`TaskSeconds`] can parse; the message says what it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidTaskSeconds(String);

impl fmt::Display for InvalidTaskSeconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidTaskSeconds {}

/// The forms [`TaskSeconds`] takes, for error messages.
const FORMS: &str = "SECONDS from 0 to 31536000 (a year; e.g. 180), MEAN±SPREAD or \
                     MEAN+-SPREAD (e.g. 180±20), or lognormal:MEDIAN,SIGMA (e.g. \
                     lognormal:180,0.1)";

/// The longest text quoted back in an error message, in characters.
const MAX_SHOWN: usize = 60;

fn shown(text: &str) -> String {
    let cut: String = text.chars().take(MAX_SHOWN).collect();
    if cut.len() < text.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

/// A number of seconds from 0 to a year, or the message that names `what` it should be.
fn seconds(text: &str, what: &str, whole: &str) -> Result<f64, InvalidTaskSeconds> {
    let number = text.trim();
    let value = number
        .parse::<f64>()
        .ok()
        .filter(|value| (0.0..=MAX_SECONDS).contains(value));
    value.ok_or_else(|| {
        InvalidTaskSeconds(format!(
            "{what} in {}: want a number of seconds from 0 to {MAX_SECONDS} (a year), got {}",
            shown(whole),
            shown(number)
        ))
    })
}

impl FromStr for TaskSeconds {
    type Err = InvalidTaskSeconds;

    /// Reads `180`, `180±20` (or `180+-20`) and `lognormal:180,0.1` (the prefix in any case),
    /// with spaces allowed around the numbers. Refused, with a message naming the forms:
    /// anything else, numbers that are not finite, negative seconds, seconds above a year, a
    /// spread larger than the mean or reaching past a year, and a σ outside
    /// 0..=[`TaskSeconds::MAX_SIGMA`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let prefix = "lognormal:";
        let lognormal = trimmed
            .get(..prefix.len())
            .filter(|head| head.eq_ignore_ascii_case(prefix))
            .map(|_| &trimmed[prefix.len()..]);
        if let Some(rest) = lognormal {
            let (median, sigma) = rest.split_once(',').ok_or_else(|| {
                InvalidTaskSeconds(format!(
                    "{}: want lognormal:MEDIAN,SIGMA, e.g. lognormal:180,0.1",
                    shown(trimmed)
                ))
            })?;
            let median = seconds(median, "the median", trimmed)?;
            let sigma_text = sigma.trim();
            let sigma = sigma_text
                .parse::<f64>()
                .ok()
                .filter(|sigma| (0.0..=Self::MAX_SIGMA).contains(sigma))
                .ok_or_else(|| {
                    InvalidTaskSeconds(format!(
                        "sigma in {}: want a number from 0 to {} (0.1 is about ±10 %), got {}",
                        shown(trimmed),
                        Self::MAX_SIGMA,
                        shown(sigma_text)
                    ))
                })?;
            return Ok(TaskSeconds::LogNormal { median, sigma });
        }
        let split = trimmed.split_once('±').or_else(|| trimmed.split_once("+-"));
        if let Some((mean, spread)) = split {
            let mean = seconds(mean, "the mean", trimmed)?;
            let spread = seconds(spread, "the spread", trimmed)?;
            if spread > mean {
                return Err(InvalidTaskSeconds(format!(
                    "{}: the spread must not exceed the mean (a duration is never negative)",
                    shown(trimmed)
                )));
            }
            if mean + spread > MAX_SECONDS {
                return Err(InvalidTaskSeconds(format!(
                    "{}: mean + spread must be at most {MAX_SECONDS} seconds (a year)",
                    shown(trimmed)
                )));
            }
            return Ok(TaskSeconds::Uniform { mean, spread });
        }
        let looks_numeric = trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || ".eE+-".contains(c))
            || trimmed.eq_ignore_ascii_case("inf")
            || trimmed.eq_ignore_ascii_case("-inf")
            || trimmed.eq_ignore_ascii_case("infinity")
            || trimmed.eq_ignore_ascii_case("nan");
        if !trimmed.is_empty() && looks_numeric {
            return trimmed
                .parse::<f64>()
                .ok()
                .filter(|value| (0.0..=MAX_SECONDS).contains(value))
                .map(TaskSeconds::Fixed)
                .ok_or_else(|| {
                    InvalidTaskSeconds(format!(
                        "want a number of seconds from 0 to {MAX_SECONDS} (a year), or \
                         MEAN±SPREAD, or lognormal:MEDIAN,SIGMA; got {}",
                        shown(trimmed)
                    ))
                });
        }
        Err(InvalidTaskSeconds(format!(
            "want {FORMS}, got {}",
            shown(trimmed)
        )))
    }
}

/// The sandbox's default time scale: simulated seconds pass as fast as real ones.
pub(crate) const DEFAULT_TIME_SCALE: f64 = 1.0;

/// `scale` within `MIN_TIME_SCALE..=MAX_TIME_SCALE`; NaN, zero and negative count as 1.
pub(crate) fn clamp_time_scale(scale: f64, min: f64, max: f64) -> f64 {
    if scale.is_nan() || scale <= 0.0 {
        DEFAULT_TIME_SCALE
    } else {
        scale.clamp(min, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_parse_and_display_round_trips() {
        for (text, want) in [
            ("180", TaskSeconds::Fixed(180.0)),
            (" 2.5 ", TaskSeconds::Fixed(2.5)),
            ("0", TaskSeconds::Fixed(0.0)),
            (
                "180±20",
                TaskSeconds::Uniform {
                    mean: 180.0,
                    spread: 20.0,
                },
            ),
            (
                "180 +- 20",
                TaskSeconds::Uniform {
                    mean: 180.0,
                    spread: 20.0,
                },
            ),
            (
                "lognormal:180,0.1",
                TaskSeconds::LogNormal {
                    median: 180.0,
                    sigma: 0.1,
                },
            ),
            (
                "LogNormal: 3.5 , 0",
                TaskSeconds::LogNormal {
                    median: 3.5,
                    sigma: 0.0,
                },
            ),
        ] {
            let parsed: TaskSeconds = text.parse().unwrap();
            assert_eq!(parsed, want, "{text}");
            assert_eq!(
                parsed.to_string().parse::<TaskSeconds>(),
                Ok(want),
                "{text}"
            );
        }
        assert_eq!(TaskSeconds::Fixed(0.1).to_string(), "0.1");
        assert_eq!(
            TaskSeconds::Uniform {
                mean: 180.0,
                spread: 20.5
            }
            .to_string(),
            "180±20.5"
        );
        assert_eq!(
            TaskSeconds::LogNormal {
                median: 180.0,
                sigma: 0.1
            }
            .to_string(),
            "lognormal:180,0.1"
        );
    }

    #[test]
    fn bad_text_gets_a_message_that_says_what_it_takes() {
        for (text, wanted) in [
            ("", "MEAN±SPREAD"),
            ("soon", "lognormal:MEDIAN,SIGMA"),
            ("later", "SECONDS from 0 to 31536000"),
            ("180s", "MEAN±SPREAD"),
            ("inf", "from 0 to 31536000"),
            ("NaN", "from 0 to 31536000"),
            ("-1", "from 0 to 31536000"),
            ("31536001", "from 0 to 31536000"),
            ("1e400", "from 0 to 31536000"),
            ("20±180", "must not exceed the mean"),
            ("180±-20", "the spread in"),
            ("180±", "the spread in"),
            ("±20", "the mean in"),
            ("31536000±1", "at most 31536000"),
            ("lognormal:180", "want lognormal:MEDIAN,SIGMA"),
            ("lognormal:180,-0.1", "from 0 to 3"),
            ("lognormal:180,NaN", "from 0 to 3"),
            ("lognormal:180,4", "from 0 to 3"),
            ("lognormal:-5,0.1", "the median in"),
            ("lognormal:x,0.1", "the median in"),
            ("uniform:180,20", "MEAN±SPREAD"),
        ] {
            let err = text.parse::<TaskSeconds>().unwrap_err().to_string();
            assert!(err.contains(wanted), "{text:?}: {err}");
        }
        let long = "9".repeat(500);
        let err = long.parse::<TaskSeconds>().unwrap_err().to_string();
        assert!(err.len() < 300, "{err}");
    }

    #[test]
    fn clamping_brings_every_number_into_range() {
        assert_eq!(
            TaskSeconds::Fixed(f64::NAN).clamped(),
            TaskSeconds::Fixed(0.0)
        );
        assert_eq!(
            TaskSeconds::Fixed(f64::INFINITY).clamped(),
            TaskSeconds::Fixed(MAX_SECONDS)
        );
        assert_eq!(
            TaskSeconds::Uniform {
                mean: 10.0,
                spread: 50.0
            }
            .clamped(),
            TaskSeconds::Uniform {
                mean: 10.0,
                spread: 10.0
            }
        );
        assert_eq!(
            TaskSeconds::Uniform {
                mean: f64::INFINITY,
                spread: f64::INFINITY
            }
            .clamped(),
            TaskSeconds::Uniform {
                mean: MAX_SECONDS,
                spread: 0.0
            }
        );
        assert_eq!(
            TaskSeconds::LogNormal {
                median: -1.0,
                sigma: f64::NAN
            }
            .clamped(),
            TaskSeconds::LogNormal {
                median: 0.0,
                sigma: 0.0
            }
        );
        let huge = TaskSeconds::LogNormal {
            median: MAX_SECONDS,
            sigma: f64::INFINITY,
        };
        assert_eq!(huge.max_seconds(), MAX_SECONDS);
        for _ in 0..100 {
            let drawn = huge.draw();
            assert!((0.0..=MAX_SECONDS).contains(&drawn), "{drawn}");
        }
    }

    #[test]
    fn draws_lie_within_their_bounds() {
        let uniform = TaskSeconds::Uniform {
            mean: 180.0,
            spread: 20.0,
        };
        assert_eq!(uniform.max_seconds(), 200.0);
        let draws: Vec<f64> = (0..1000).map(|_| uniform.draw()).collect();
        assert!(draws.iter().all(|d| (160.0..=200.0).contains(d)));
        assert!(draws.iter().any(|d| *d < 175.0) && draws.iter().any(|d| *d > 185.0));

        let lognormal = TaskSeconds::LogNormal {
            median: 180.0,
            sigma: 0.1,
        };
        let max = lognormal.max_seconds();
        assert!((max - 180.0 * 0.4f64.exp()).abs() < 1e-9, "{max}");
        let mut draws: Vec<f64> = (0..2001).map(|_| lognormal.draw()).collect();
        assert!(draws.iter().all(|d| *d > 0.0 && *d <= max));
        draws.sort_by(f64::total_cmp);
        // The median of 2001 draws lies near 180 (σ of the sample median ≈ 0.5 s).
        assert!((draws[1000] - 180.0).abs() < 5.0, "{}", draws[1000]);
        assert_eq!(TaskSeconds::Fixed(3.0).draw(), 3.0);
    }

    #[test]
    fn time_scales_out_of_range_are_brought_in() {
        for (scale, want) in [
            (f64::NAN, 1.0),
            (0.0, 1.0),
            (-3.0, 1.0),
            (f64::NEG_INFINITY, 1.0),
            (f64::INFINITY, 100_000.0),
            (1e-9, 0.001),
            (60.0, 60.0),
        ] {
            assert_eq!(clamp_time_scale(scale, 0.001, 100_000.0), want, "{scale}");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_text_panics_and_what_parses_round_trips(text in ".{0,40}", ascii in "[0-9a-z.:,±+ -]{0,24}") {
            for text in [&text, &ascii] {
                if let Ok(parsed) = text.parse::<TaskSeconds>() {
                    proptest::prop_assert_eq!(parsed.to_string().parse::<TaskSeconds>(), Ok(parsed));
                    let drawn = parsed.draw();
                    proptest::prop_assert!((0.0..=MAX_SECONDS).contains(&drawn));
                }
            }
        }
    }
}
