//! `happyhorse sandbox`: serve the local emulator of the three providers until Ctrl-C.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs},
    path::PathBuf,
    process::ExitCode,
    str::FromStr,
    time::Duration,
};

use happyhorse::{
    sandbox::{FaultRates, Sandbox, SandboxConfig, TaskSeconds, FAULT_NAMES},
    Provider,
};

/// The port `--addr HOST` listens on when it names none.
const DEFAULT_PORT: u16 = 8787;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on: HOST:PORT or HOST (port 8787), the host a name (localhost) or an
    /// IP. The default is loopback because the sandbox accepts any key with a provider's
    /// prefix: anyone who can reach it can use it. A non-loopback address needs
    /// --allow-remote.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "HOST:PORT", value_parser = parse_addr)]
    addr: SocketAddr,
    /// Listen on a non-loopback --addr (e.g. 0.0.0.0:8787). Anyone who can reach it can use
    /// it with any key that has a provider's prefix, unless --api-key pins one. Each key sees
    /// only its own tasks (always, as the providers scope them by account), and output URLs
    /// are signed: a task id alone polls or downloads nothing.
    #[arg(long)]
    allow_remote: bool,
    /// Seconds from submit to a task's terminal status, 0 (at once) to 31536000 (a year),
    /// fractions allowed, in simulated time (see --time-scale): SECONDS for every task alike,
    /// MEAN±SPREAD (or MEAN+-SPREAD) for a duration drawn uniformly per task, e.g. 180±20, or
    /// lognormal:MEDIAN,SIGMA for a log-normal one, e.g. lognormal:180,0.1.
    #[arg(long, default_value = "10", value_name = "SECONDS", value_parser = parse_task_seconds)]
    task_seconds: TaskSeconds,
    /// Simulated seconds per real second, 0.001 to 100000: with 60, a 180 s task completes
    /// after 3 real seconds. Scales the tasks' lives, their timestamps and --output-ttl; the
    /// rate limit, faults and callback retries stay in real time.
    #[arg(long, default_value = "1", value_name = "FACTOR", value_parser = parse_time_scale)]
    time_scale: f64,
    /// Accept at most this many submits per API key and provider, RATE/s, RATE/min or RATE/h
    /// (RATE alone is per second), e.g. 20/s or 1200/min; a burst of one second's worth is
    /// allowed. Beyond it a submit gets the provider's 429 with Retry-After. Polls and
    /// downloads are never limited.
    #[arg(long, value_name = "RATE", value_parser = parse_rate_limit)]
    rate_limit: Option<f64>,
    /// Accept only this key (otherwise any key with the provider's prefix: sk-, rk_, afk_).
    #[arg(long, env = "HAPPYHORSE_SANDBOX_API_KEY", hide_env_values = true)]
    api_key: Option<Secret>,
    /// Sign HiAPI callbacks with this secret (X-HiAPI-Timestamp, X-HiAPI-Signature).
    #[arg(long, env = "HIAPI_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<Secret>,
    /// Inject a fault at random, NAME=RATE with RATE a probability from 0 to 1; repeatable.
    /// Names: rate_limit, unavailable, moderation_unavailable, server_error, reset, slow,
    /// truncate, envelope_error, fail, duplicate_callback, drop_callback. One request can also
    /// ask for faults with the header `X-Sandbox-Fault: NAME[*N][,NAME...]` (*N: only the first
    /// N requests carrying it).
    #[arg(long = "fault", value_name = "NAME=RATE")]
    faults: Vec<String>,
    /// Pad every output MP4 to this size with a trailing `free` box (still playable): a number
    /// of bytes, or with a unit: B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of
    /// 1024), e.g. 200MB or 1.5GiB; at most 8 EiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pad_to: Option<u64>,
    /// Seconds an output URL stays valid after its task completes (at most 100 years).
    #[arg(long, default_value_t = 7 * 24 * 3600, value_name = "SECONDS", value_parser = parse_output_ttl)]
    output_ttl: u64,
    /// Append every callback/webhook delivery attempt to FILE as it is made, one JSON object
    /// per line (created if missing, never truncated): provider, task_id, event (progress or
    /// terminal), task_status, copy (1-3: duplicate_callback sends 2 or 3), attempt (0: none
    /// made), concurrent, started_at (RFC 3339, UTC), started_unix_ms, duration_ms, outcome
    /// (status, timed_out, no_answer, not_deliverable, dropped) and http_status. Never the
    /// callback URL or a header.
    #[arg(long, value_name = "FILE")]
    delivery_log: Option<PathBuf>,
    /// Judge PROVIDER's submit bodies by the OpenAPI document in FILE (YAML or JSON) instead of
    /// the built-in one: try an edited document before the provider changes, or make the
    /// sandbox drift on purpose to test `happyhorse probe`. Repeatable, one per provider.
    #[arg(long = "document", value_name = "PROVIDER=FILE", value_parser = parse_document)]
    documents: Vec<(Provider, PathBuf)>,
}

fn parse_document(text: &str) -> Result<(Provider, PathBuf), String> {
    let (provider, file) = text.split_once('=').ok_or_else(|| {
        format!("want PROVIDER=FILE (e.g. hiapi=openapi/hiapi.yaml), got {text:?}")
    })?;
    let provider = provider
        .parse::<Provider>()
        .map_err(|err| err.to_string())?;
    if file.is_empty() {
        return Err("the file is missing after '='".to_owned());
    }
    Ok((provider, PathBuf::from(file)))
}

/// An OpenAPI document read from `path`, as JSON (YAML is read too: it contains JSON).
fn read_document(path: &std::path::Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("cannot read it: {err}"))?;
    super::contract::parse(&text)
}

/// A key or secret from the command line: `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Secret(text.to_owned()))
    }
}

/// `--addr`: `HOST:PORT` or `HOST`, the host an IP or a name to resolve (`localhost`).
fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    // An IP without a port (`::1` has colons of its own).
    if let Ok(ip) = text
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, DEFAULT_PORT));
    }
    let with_port = match text.rsplit_once(':') {
        Some((host, port)) => {
            let port = port
                .parse::<u16>()
                .map_err(|_| format!("the port must be a number from 0 to 65535, got {port:?}"))?;
            (host.to_owned(), port)
        }
        None => (text.to_owned(), DEFAULT_PORT),
    };
    if with_port.0.is_empty() {
        return Err("want HOST:PORT, e.g. 127.0.0.1:8787 or localhost:8787".into());
    }
    let found: Vec<SocketAddr> = with_port
        .to_socket_addrs()
        .map_err(|err| format!("cannot resolve {:?}: {err}", with_port.0))?
        .collect();
    // IPv4 first, as the default address is: `localhost` is 127.0.0.1 rather than [::1].
    found
        .iter()
        .find(|addr| addr.is_ipv4())
        .or_else(|| found.first())
        .copied()
        .ok_or_else(|| format!("{:?} resolves to no address", with_port.0))
}

/// `--task-seconds`: `SECONDS`, `MEAN±SPREAD` or `lognormal:MEDIAN,SIGMA`, the seconds finite
/// and from 0 to a year.
fn parse_task_seconds(text: &str) -> Result<TaskSeconds, String> {
    text.parse()
        .map_err(|err: happyhorse::sandbox::InvalidTaskSeconds| err.to_string())
}

/// `--time-scale`: a factor from 0.001 to 100000, optionally followed by `x`.
fn parse_time_scale(text: &str) -> Result<f64, String> {
    let (min, max) = (SandboxConfig::MIN_TIME_SCALE, SandboxConfig::MAX_TIME_SCALE);
    let refused = || {
        format!(
            "want simulated seconds per real second, a number from {min} to {max} (e.g. 60), \
             got {text:?}"
        )
    };
    let number = text.trim();
    let number = number
        .strip_suffix(['x', 'X', '×'])
        .unwrap_or(number)
        .trim();
    let scale: f64 = number.parse().map_err(|_| refused())?;
    if !(min..=max).contains(&scale) {
        return Err(refused());
    }
    Ok(scale)
}

/// The periods `--rate-limit` takes after its `/`, with their lengths in seconds.
const RATE_PERIODS: [(&str, f64); 7] = [
    ("s", 1.0),
    ("sec", 1.0),
    ("second", 1.0),
    ("min", 60.0),
    ("minute", 60.0),
    ("h", 3600.0),
    ("hour", 3600.0),
];

/// `--rate-limit`: `RATE`, `RATE/s`, `RATE/min` or `RATE/h`, RATE a positive number; the rate
/// per second, at least [`SandboxConfig::MIN_RATE_LIMIT`].
fn parse_rate_limit(text: &str) -> Result<f64, String> {
    let forms = "RATE/s, RATE/min or RATE/h (RATE alone is per second), e.g. 20/s or 1200/min";
    let trimmed = text.trim();
    let (number, period) = match trimmed.split_once('/') {
        Some((number, period)) => {
            let period = period.trim().to_ascii_lowercase();
            let seconds = RATE_PERIODS
                .iter()
                .find(|(name, _)| *name == period)
                .map(|(_, seconds)| *seconds)
                .ok_or_else(|| format!("unknown period in {text:?}: want {forms}"))?;
            (number.trim(), seconds)
        }
        None => (trimmed, 1.0),
    };
    let count: f64 = number
        .parse()
        .ok()
        .filter(|count: &f64| count.is_finite() && *count > 0.0)
        .ok_or_else(|| format!("want a rate above 0, {forms}; got {text:?}"))?;
    let per_second = count / period;
    let min = SandboxConfig::MIN_RATE_LIMIT;
    if per_second < min {
        return Err(format!(
            "{text:?} is slower than the slowest rate the sandbox takes, {min}/s (3.6/h)"
        ));
    }
    Ok(per_second)
}

/// `--output-ttl`: whole seconds, at most a hundred years.
fn parse_output_ttl(text: &str) -> Result<u64, String> {
    let max = SandboxConfig::MAX_RETENTION.as_secs();
    let refused = || format!("want whole seconds from 0 to {max} (100 years), got {text:?}");
    let seconds: u64 = text.trim().parse().map_err(|_| refused())?;
    if seconds > max {
        return Err(refused());
    }
    Ok(seconds)
}

/// The units `--pad-to` takes, lower-cased, with their sizes in bytes.
const SIZE_UNITS: [(&str, u64); 7] = [
    ("b", 1),
    ("kb", 1_000),
    ("mb", 1_000_000),
    ("gb", 1_000_000_000),
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
];

/// `--pad-to`: bytes, or a decimal number with a unit (case ignored): `200MB`, `1.5 GiB`.
fn parse_size(text: &str) -> Result<u64, String> {
    let units = "B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024)";
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let scale = match unit.as_str() {
        "" => 1,
        unit => SIZE_UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, scale)| *scale)
            .ok_or_else(|| format!("unknown unit in {text:?}: use {units}, e.g. 200MB"))?,
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
        return Err(format!(
            "want a size such as 30000000, 200MB or 1.5GiB (units: {units}), got {text:?}"
        ));
    }
    let max = SandboxConfig::MAX_PAD_TO;
    if !fraction.is_empty() && scale == 1 {
        return Err(format!(
            "a number of bytes is whole, got {text:?}; a fraction needs a unit: {units}, e.g. 1.5GiB"
        ));
    }
    let too_large = || {
        format!(
            "{text:?} is larger than {max} bytes (8 EiB), the largest Content-Length HTTP \
             clients take"
        )
    };
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_large())?
    };
    let mut bytes = whole.checked_mul(u128::from(scale)).ok_or_else(too_large)?;
    // The fraction's digits beyond the unit's own (at most 10 for GiB) change nothing.
    let fraction = &fraction[..fraction.len().min(12)];
    if !fraction.is_empty() {
        let numerator: u128 = fraction.parse().map_err(|_| too_large())?;
        let denominator = 10u128.pow(u32::try_from(fraction.len()).unwrap_or(12));
        bytes = bytes.saturating_add(numerator * u128::from(scale) / denominator);
    }
    u64::try_from(bytes)
        .ok()
        .filter(|bytes| *bytes <= max)
        .ok_or_else(too_large)
}

pub fn run(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> ExitCode {
    if !args.addr.ip().is_loopback() && !args.allow_remote {
        eprintln!(
            "error: --addr {} is not a loopback address: the sandbox accepts any key with a \
             provider's prefix (sk-, rk_, afk_), so anyone who can reach it could use it. \
             Listen on loopback (e.g. --addr 127.0.0.1:8787), or pass --allow-remote (and \
             consider --api-key)",
            args.addr
        );
        return ExitCode::from(2);
    }
    let mut config = SandboxConfig::default()
        .with_task_seconds(args.task_seconds)
        .with_time_scale(args.time_scale)
        .with_output_ttl(Duration::from_secs(args.output_ttl));
    if let Some(rate) = args.rate_limit {
        config = config.with_rate_limit(rate);
    }
    if let Some(key) = &args.api_key {
        config = config.with_api_key(key.expose());
    }
    if let Some(secret) = &args.webhook_secret {
        config = config.with_webhook_secret(secret.expose());
    }
    if let Some(bytes) = args.pad_to {
        config = config.with_pad_to(bytes);
    }
    let mut rates = FaultRates::none();
    for spec in &args.faults {
        rates = match rates.with_spec(spec) {
            Ok(rates) => rates,
            Err(err) => {
                eprintln!("error: --fault {err}");
                return ExitCode::from(2);
            }
        };
    }
    config = config.with_faults(rates);
    if let Some(path) = &args.delivery_log {
        // Opened here first, so that a path that cannot be written is reported as such.
        if let Err(err) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            eprintln!(
                "error: --delivery-log {}: cannot open it to append: {err}",
                path.display()
            );
            return ExitCode::from(2);
        }
        config = config.with_delivery_log(path);
    }
    for (provider, path) in &args.documents {
        match read_document(path) {
            Ok(document) => config = config.with_document(*provider, document),
            Err(err) => {
                eprintln!("error: --document {provider}={}: {err}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let sandbox = match Sandbox::bind(args.addr, config).await {
        Ok(sandbox) => sandbox,
        Err(err) if !args.documents.is_empty() && err.kind() == std::io::ErrorKind::Other => {
            eprintln!("error: --document: {err}; check the document's request schema");
            return ExitCode::from(2);
        }
        Err(err) => {
            eprintln!(
                "error: cannot listen on {}: {err}; pick another port with --addr 127.0.0.1:PORT",
                args.addr
            );
            return ExitCode::FAILURE;
        }
    };
    print!("{}", banner(&sandbox, args.api_key.as_ref()));
    if let Err(err) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot wait for Ctrl-C: {err}");
    }
    sandbox.shutdown().await;
    println!("stopped");
    ExitCode::SUCCESS
}

/// What the sandbox prints once it listens: its base URLs, then a line per provider to paste
/// into a shell so that `happyhorse` (or `Client::from_env`) talks to it.
fn banner(sandbox: &Sandbox, pinned: Option<&Secret>) -> String {
    let mut out = format!("happyhorse sandbox listening on {}\n", sandbox.addr());
    for provider in Provider::ALL {
        out += &format!("  {:<8} {}\n", provider.name(), sandbox.base_url(provider));
    }
    out += &timing_lines(sandbox.config());
    let keys = match pinned {
        Some(_) => "the key given with --api-key",
        None => "any key with the provider's prefix",
    };
    out += &format!("To point happyhorse or a client at it ({keys} works):\n");
    // Clients refuse plain HTTP except to loopback: an unspecified address (0.0.0.0) is
    // reached locally through loopback.
    let local = match sandbox.addr().ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), sandbox.addr().port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), sandbox.addr().port())
        }
        _ => sandbox.addr(),
    };
    let root = format!("http://{local}");
    for provider in Provider::ALL {
        let base =
            sandbox
                .base_url(provider)
                .replacen(&format!("http://{}", sandbox.addr()), &root, 1);
        let key = match pinned {
            Some(key) => key.expose().to_owned(),
            None => format!("{}sandbox", provider.key_prefix()),
        };
        out += &format!(
            "  export {}={} {}={}\n",
            provider.base_url_env(),
            shell_quoted(&base),
            provider.api_key_env(),
            shell_quoted(&key)
        );
    }
    out += &format!(
        "Faults per request: header X-Sandbox-Fault: one of {}.\n",
        FAULT_NAMES.join(", ")
    );
    if let Some(path) = &sandbox.config().delivery_log {
        out += &format!(
            "Callback deliveries are appended to {} (one JSON line per attempt).\n",
            path.display()
        );
    }
    out += "Ctrl-C to stop.\n";
    out
}

/// What the banner says of the tasks' durations, the time scale and the rate limit.
fn timing_lines(config: &SandboxConfig) -> String {
    let durations = match config.task_seconds {
        TaskSeconds::Fixed(seconds) => format!("{seconds} s"),
        TaskSeconds::Uniform { mean, spread } => {
            format!("{mean}±{spread} s (uniform, drawn per task)")
        }
        TaskSeconds::LogNormal { median, sigma } => {
            format!("a median of {median} s (log-normal, σ {sigma}, drawn per task)")
        }
    };
    let scale = config.time_scale;
    let mut out = if scale == 1.0 {
        format!("Tasks take {durations}.\n")
    } else {
        format!(
            "Tasks take {durations} of simulated time, which runs {} times as fast as real \
             time (--time-scale).\n",
            short(scale)
        )
    };
    out += &match config.rate_limit {
        Some(rate) => format!(
            "Submits are limited to {}/s per API key and provider (429 with Retry-After \
             beyond; polls and downloads are not limited).\n",
            short(rate)
        ),
        None => "Submits are not rate-limited (--rate-limit sets a limit per key).\n".to_owned(),
    };
    out
}

/// `number` with at most three decimals, without trailing zeros.
fn short(number: f64) -> String {
    let text = format!("{number:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `text` as one shell word: as is when it holds only safe characters, else single-quoted.
fn shell_quoted(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn keys_and_secrets_never_show_in_debug() {
        let cli = Cli::try_parse_from([
            "sandbox",
            "--api-key",
            "sk-do-not-print",
            "--webhook-secret",
            "whsec-do-not-print",
        ])
        .unwrap();
        let shown = format!("{cli:?} {:#?}", cli.args);
        assert!(!shown.contains("do-not-print"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert_eq!(cli.args.api_key.unwrap().expose(), "sk-do-not-print");
    }

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        for (text, bytes) in [
            ("0", 0),
            ("30000000", 30_000_000),
            ("200MB", 200_000_000),
            ("200 mb", 200_000_000),
            ("1.5GiB", 3 << 29),
            ("1.5KB", 1500),
            ("2KiB", 2048),
            ("7B", 7),
            (".5MiB", 1 << 19),
            ("9223372036854775807", i64::MAX as u64),
            ("9223372036854775807B", i64::MAX as u64),
            ("1.0000000000000000000001KB", 1000),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        for text in [
            "200XB", "200M", "1TB", "MB", "", ".", "1.2.3MB", "-5", "+5", "1e9", "1.5", "1.5B",
        ] {
            let err = parse_size(text).unwrap_err();
            assert!(err.contains("KiB, MiB, GiB"), "{text}: {err}");
        }
        for text in [
            "9223372036854775808",
            "18446744073709551616",
            "18446744073709551615KB",
            "99999999999GiB",
        ] {
            let err = parse_size(text).unwrap_err();
            assert!(err.contains("larger than"), "{text}: {err}");
        }
    }

    #[test]
    fn durations_out_of_range_are_refused() {
        assert_eq!(parse_task_seconds("0"), Ok(TaskSeconds::Fixed(0.0)));
        assert_eq!(parse_task_seconds("2.5"), Ok(TaskSeconds::Fixed(2.5)));
        assert_eq!(
            parse_task_seconds("180±20"),
            Ok(TaskSeconds::Uniform {
                mean: 180.0,
                spread: 20.0
            })
        );
        assert_eq!(
            parse_task_seconds("lognormal:180,0.1"),
            Ok(TaskSeconds::LogNormal {
                median: 180.0,
                sigma: 0.1
            })
        );
        for text in ["inf", "-inf", "NaN", "-1", "1e400", "31536001", "soon"] {
            let err = parse_task_seconds(text).unwrap_err();
            assert!(err.contains("from 0 to 31536000"), "{text}: {err}");
        }
        assert_eq!(parse_output_ttl("0"), Ok(0));
        for text in ["18446744073709551615", "3153600001", "-1", "1.5"] {
            let err = parse_output_ttl(text).unwrap_err();
            assert!(err.contains("100 years"), "{text}: {err}");
        }
    }

    #[test]
    fn time_scales_and_rate_limits_parse_or_say_what_they_take() {
        assert_eq!(parse_time_scale("60"), Ok(60.0));
        assert_eq!(parse_time_scale(" 60x "), Ok(60.0));
        assert_eq!(parse_time_scale("0.001"), Ok(0.001));
        for text in ["0", "-1", "NaN", "inf", "100001", "fast", ""] {
            let err = parse_time_scale(text).unwrap_err();
            assert!(err.contains("from 0.001 to 100000"), "{text}: {err}");
        }
        for (text, want) in [
            ("20", 20.0),
            ("20/s", 20.0),
            ("20 / sec", 20.0),
            ("1200/min", 20.0),
            ("1200/MIN", 20.0),
            ("36/h", 0.01),
            ("0.5", 0.5),
        ] {
            assert_eq!(parse_rate_limit(text), Ok(want), "{text}");
        }
        for (text, wanted) in [
            ("0", "above 0"),
            ("-5/s", "above 0"),
            ("NaN", "above 0"),
            ("inf", "above 0"),
            ("fast", "above 0"),
            ("", "above 0"),
            ("20/day", "unknown period"),
            ("20/", "unknown period"),
            ("1/h", "slowest rate"),
        ] {
            let err = parse_rate_limit(text).unwrap_err();
            assert!(err.contains(wanted), "{text}: {err}");
        }
    }

    #[test]
    fn the_banner_says_how_long_tasks_take_and_the_rate_limit() {
        let plain = timing_lines(&SandboxConfig::default().with_task_seconds(10.0));
        assert_eq!(
            plain,
            "Tasks take 10 s.\nSubmits are not rate-limited (--rate-limit sets a limit per key).\n"
        );
        let config = SandboxConfig::default()
            .with_task_seconds("180±20".parse::<TaskSeconds>().unwrap())
            .with_time_scale(60.0)
            .with_rate_limit(20.0);
        let lines = timing_lines(&config);
        assert!(lines.contains("180±20 s (uniform"), "{lines}");
        assert!(lines.contains("runs 60 times as fast"), "{lines}");
        assert!(lines.contains("limited to 20/s per API key"), "{lines}");
        let lognormal = SandboxConfig::default().with_task_seconds(TaskSeconds::LogNormal {
            median: 180.0,
            sigma: 0.1,
        });
        assert!(timing_lines(&lognormal).contains("median of 180 s"));
        assert_eq!(short(1.0 / 60.0), "0.017");
        assert_eq!(short(20.0), "20");
    }

    #[test]
    fn addresses_resolve_names_and_default_the_port() {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 8787));
        assert_eq!(parse_addr("127.0.0.1:8787"), Ok(loopback));
        assert_eq!(parse_addr("localhost:8787"), Ok(loopback));
        assert_eq!(parse_addr("localhost"), Ok(loopback));
        assert_eq!(parse_addr("127.0.0.1"), Ok(loopback));
        assert_eq!(parse_addr("::1"), Ok("[::1]:8787".parse().unwrap()));
        assert_eq!(parse_addr("[::1]:9"), Ok("[::1]:9".parse().unwrap()));
        assert!(parse_addr("localhost:99999")
            .unwrap_err()
            .contains("0 to 65535"));
        assert!(parse_addr(":8787").is_err());
        assert!(parse_addr("no-such-host.invalid:8787").is_err());
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quoted("sk-sandbox"), "sk-sandbox");
        assert_eq!(
            shell_quoted("http://127.0.0.1:8787/v1"),
            "http://127.0.0.1:8787/v1"
        );
        assert_eq!(shell_quoted("a b"), "'a b'");
        assert_eq!(shell_quoted("it's $x"), r"'it'\''s $x'");
        assert_eq!(shell_quoted(""), "''");
    }
}
