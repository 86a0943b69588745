//! The drift probe against the emulator: on a sandbox that keeps to the documents it finds no
//! drift and creates nothing; on a sandbox made to drift (its document edited to accept 16 s
//! clips, or unknown fields) it names the case, the task the drift created, and stops there
//! unless told to go on; the binary exits 0, 1 and 2 as documented.
#![cfg(all(feature = "sandbox", feature = "conformance"))]

mod common;

use common::{
    process::{command, pairs},
    runtime, sandbox_client_config, sandbox_env,
};
use happyhorse::{
    conformance::probe::{cases, Drift, Probe},
    contract,
    sandbox::{Sandbox, SandboxConfig},
    Provider,
};
use serde_json::Value;

/// `provider`'s document with `edit` applied, for a sandbox that drifts from the contract.
fn drifted(provider: Provider, edit: impl FnOnce(&mut Value)) -> Value {
    let mut document = contract::openapi(provider).clone();
    edit(&mut document);
    document
}

/// HiAPI's document, allowing 16-second clips.
fn sixteen_seconds() -> Value {
    drifted(Provider::HiApi, |doc| {
        doc["components"]["schemas"]["Duration"]["maximum"] = 16.into();
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_true_to_its_documents_shows_no_drift_and_creates_nothing() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    for provider in Provider::ALL {
        let report = Probe::new(sandbox_client_config(&sandbox, provider))
            .run()
            .await
            .unwrap();
        assert!(!report.drifted(), "{report}");
        assert_eq!(report.outcomes.len(), cases(provider).unwrap().len());
        assert!(report.outcomes.len() >= 20, "{provider}: {report}");
        assert_eq!(report.not_sent, 0);
        for outcome in &report.outcomes {
            // HiAPI refuses an unknown or missing model with HTTP 200 and `code: 400`, as its
            // T2V page warns (documented on its 200).
            let envelope = provider == Provider::HiApi && outcome.status == 200;
            assert!(
                outcome.status == outcome.case.expected || envelope,
                "{provider} {}: {}",
                outcome.case.name,
                outcome.status
            );
        }
    }
    let stats = sandbox.stats();
    assert_eq!(stats.tasks_created.total(), 0, "the probe created a task");
    assert!(stats.submits.total() >= 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_that_accepts_16_seconds_is_caught_and_the_probe_stops_at_the_task() {
    let sandbox =
        Sandbox::start(SandboxConfig::default().with_document(Provider::HiApi, sixteen_seconds()))
            .await
            .unwrap();
    let report = Probe::new(sandbox_client_config(&sandbox, Provider::HiApi))
        .run()
        .await
        .unwrap();
    assert!(report.drifted());
    assert_eq!(report.accepted(), 1, "{report}");
    let last = report.outcomes.last().unwrap();
    assert_eq!(last.case.name, "above_maximum /input/duration = 16");
    let Some(Drift::Accepted { task: Some(task) }) = last.drift.first() else {
        panic!("the accepted case names its task: {report}");
    };
    assert!(task.starts_with("tk-"), "{task}");
    // Every case before it was refused as documented, and none after it was sent.
    for outcome in &report.outcomes[..report.outcomes.len() - 1] {
        assert!(outcome.drift.is_empty(), "{report}");
    }
    assert!(report.not_sent > 0);
    assert_eq!(
        report.outcomes.len() + report.not_sent,
        cases(Provider::HiApi).unwrap().len()
    );
    assert_eq!(sandbox.stats().tasks_created.get(Provider::HiApi), 1);
    assert!(report
        .to_string()
        .contains("DRIFT above_maximum /input/duration = 16 → 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_going_reports_every_drifted_case() {
    // An Apiframe that lets unknown fields through at the top level and in its parameters.
    let document = drifted(Provider::Apiframe, |doc| {
        let schemas = &mut doc["components"]["schemas"];
        for name in ["GenerateVideoRequest", "Happyhorse11Params"] {
            if let Some(schema) = schemas.get_mut(name) {
                schema["additionalProperties"] = true.into();
            }
        }
    });
    let sandbox =
        Sandbox::start(SandboxConfig::default().with_document(Provider::Apiframe, document))
            .await
            .unwrap();
    let report = Probe::new(sandbox_client_config(&sandbox, Provider::Apiframe))
        .keep_going(true)
        .run()
        .await
        .unwrap();
    let accepted: Vec<&str> = report
        .outcomes
        .iter()
        .filter(|o| o.drift.iter().any(|d| matches!(d, Drift::Accepted { .. })))
        .map(|o| o.case.name.as_str())
        .collect();
    assert!(accepted.len() >= 2, "{report}");
    assert!(
        accepted
            .iter()
            .all(|name| name.starts_with("unknown_field")),
        "{accepted:?}"
    );
    assert_eq!(report.not_sent, 0);
    assert_eq!(
        sandbox.stats().tasks_created.get(Provider::Apiframe),
        accepted.len() as u64
    );
}

#[test]
fn the_binary_exits_0_on_a_true_sandbox_1_on_drift_and_2_without_a_key() {
    let rt = runtime();
    let (true_sandbox, drifting) = rt.block_on(async {
        (
            Sandbox::start(SandboxConfig::default()).await.unwrap(),
            Sandbox::start(
                SandboxConfig::default().with_document(Provider::HiApi, sixteen_seconds()),
            )
            .await
            .unwrap(),
        )
    });

    let env = sandbox_env(&true_sandbox);
    let out = command(&["probe", "--provider", "hiapi"], &pairs(&env))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("0 drifted"), "{stdout}");

    let env = sandbox_env(&drifting);
    let out = command(&["probe", "--provider", "hiapi", "--json"], &pairs(&env))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["drifted"], true);
    assert_eq!(report["accepted"], 1);
    let last = report["outcomes"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["case"], "above_maximum /input/duration = 16");
    assert_eq!(last["drift"][0]["kind"], "accepted");
    assert!(stderr.contains("billed"), "{stderr}");
    assert!(stderr.contains("happyhorse contract diff"), "{stderr}");
    // The key never shows.
    assert!(
        !stderr.contains("sk-test") && !String::from_utf8_lossy(&out.stdout).contains("sk-test")
    );

    let out = command(&["probe", "--provider", "reapi"], &[])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("REAPI_API_KEY"));

    // Listing sends nothing and needs no key.
    let before = drifting.stats().submits.total();
    let out = command(&["probe", "--provider", "apiframe", "--list"], &[])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("above_maximum /happyhorse11Params/duration = 16 → 400"));
    assert_eq!(drifting.stats().submits.total(), before);
    drop(rt);
}
