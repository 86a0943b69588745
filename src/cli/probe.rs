//! `happyhorse probe`: check a live endpoint for drift from its document, sending only bodies
//! the document says must be refused.

use std::process::ExitCode;

use happyhorse::{
    conformance::probe::{cases, Drift, KeyUse, Probe, ProbeReport},
    ClientConfig, Provider,
};
use serde_json::{json, Value};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The provider to probe: hiapi, reapi or apiframe. Its key and base URL come from
    /// HIAPI_API_KEY / REAPI_API_KEY / APIFRAME_API_KEY and the matching *_BASE_URL.
    #[arg(long, short)]
    provider: Provider,
    /// Print the cases (what each sends and the status the document prescribes) and send
    /// nothing; needs no key.
    #[arg(long)]
    list: bool,
    /// Go on after a case is accepted. By default the probe stops there: an accepted case may
    /// be a task the provider bills.
    #[arg(long)]
    keep_going: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Exit status when the endpoint departs from its document.
const DRIFT: u8 = 1;
/// Exit status when the probe cannot run.
const UNUSABLE: u8 = 2;

pub fn run(args: Args) -> ExitCode {
    let provider = args.provider;
    if args.list {
        return list(provider, args.json);
    }
    let config = ClientConfig::from_env(provider);
    if !config.has_api_key() {
        eprintln!(
            "error: no {provider} key: set {} (the probe sends it with every case but two)",
            provider.api_key_env()
        );
        return ExitCode::from(UNUSABLE);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(UNUSABLE);
        }
    };
    let probe = Probe::new(config).keep_going(args.keep_going);
    let report = match runtime.block_on(probe.run()) {
        Ok(report) => report,
        Err(err) => {
            eprintln!("error: {err}");
            eprintln!(
                "hint: check {} and {}, then rerun `happyhorse probe --provider {provider}`",
                provider.api_key_env(),
                provider.base_url_env()
            );
            return ExitCode::from(UNUSABLE);
        }
    };
    if args.json {
        println!("{:#}", to_json(&report));
    } else {
        println!("{report}");
    }
    if report.accepted() > 0 {
        eprintln!(
            "warning: {} accepted a body its document refuses; each accepted case may be a billed task (named above): cancel or account for it",
            provider
        );
    }
    if report.drifted() {
        eprintln!(
            "hint: {provider} differs from openapi/{}.yaml; if the provider changed on purpose, edit the document (README: \"When a provider's docs change\"), check it with `happyhorse contract diff`, and rerun the probe",
            provider.name()
        );
        ExitCode::from(DRIFT)
    } else {
        ExitCode::SUCCESS
    }
}

fn list(provider: Provider, as_json: bool) -> ExitCode {
    let cases = match cases(provider) {
        Ok(cases) => cases,
        Err(err) => {
            eprintln!("error: {provider}'s document: {err}");
            return ExitCode::from(UNUSABLE);
        }
    };
    if as_json {
        let listed: Vec<Value> = cases
            .iter()
            .map(|case| {
                json!({
                    "case": case.name,
                    "key": key_name(case.key),
                    "expected_status": case.expected,
                    "names_field": case.field,
                    "body": case.body,
                })
            })
            .collect();
        println!("{:#}", Value::from(listed));
    } else {
        for case in &cases {
            println!("{} → {}", case.name, case.expected);
        }
        println!("{provider}: {} cases", cases.len());
    }
    ExitCode::SUCCESS
}

fn key_name(key: KeyUse) -> &'static str {
    match key {
        KeyUse::Configured => "configured",
        KeyUse::Missing => "missing",
        KeyUse::MadeUp => "made_up",
    }
}

fn to_json(report: &ProbeReport) -> Value {
    let outcomes: Vec<Value> = report
        .outcomes
        .iter()
        .map(|outcome| {
            let drift: Vec<Value> = outcome
                .drift
                .iter()
                .map(|drift| {
                    let kind = match drift {
                        Drift::Accepted { .. } => "accepted",
                        Drift::Status { .. } => "status",
                        Drift::Answer(_) => "answer",
                        Drift::Wording { .. } => "wording",
                    };
                    let task = match drift {
                        Drift::Accepted { task } => task.clone(),
                        _ => None,
                    };
                    json!({"kind": kind, "detail": drift.to_string(), "task": task})
                })
                .collect();
            json!({
                "case": outcome.case.name,
                "key": key_name(outcome.case.key),
                "expected_status": outcome.case.expected,
                "status": outcome.status,
                "message": outcome.excerpt,
                "drift": drift,
            })
        })
        .collect();
    json!({
        "provider": report.provider.name(),
        "drifted": report.drifted(),
        "accepted": report.accepted(),
        "not_sent": report.not_sent,
        "outcomes": outcomes,
    })
}
