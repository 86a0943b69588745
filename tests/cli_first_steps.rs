//! The dead ends a new user meets first, as the binary answers them: two local servers that
//! would take the same port, and an address already taken.
#![cfg(feature = "cli")]

mod common;

use std::time::Duration;

use common::process::{command, Running};

const PATIENCE: Duration = Duration::from_secs(60);

/// The default of `--addr` in a command's help.
fn default_addr(subcommand: &str) -> String {
    let help = Running::spawn(command(&[subcommand, "--help"], &[])).exit(PATIENCE);
    assert_eq!(help.code, Some(0), "{}", help.stderr);
    let line = help
        .stdout
        .lines()
        .skip_while(|line| !line.contains("--addr"))
        .take(6)
        .find(|line| line.contains("[default: "))
        .unwrap_or_else(|| {
            panic!(
                "no default for --addr in {subcommand} --help:\n{}",
                help.stdout
            )
        })
        .to_owned();
    line.split("[default: ")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn serve_and_the_sandbox_do_not_default_to_the_same_address() {
    let serve = default_addr("serve");
    let sandbox = default_addr("sandbox");
    assert!(!serve.is_empty() && !sandbox.is_empty());
    assert_ne!(serve, sandbox, "both would listen on {serve}");
}

#[test]
fn serve_on_a_taken_address_says_so_and_names_addr() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("happyhorse.db");
    let exit = Running::spawn(command(
        &[
            "serve",
            "--addr",
            &addr,
            "--ledger",
            ledger.to_str().unwrap(),
            "--hiapi-unsigned",
        ],
        &[],
    ))
    .exit(PATIENCE);
    assert_eq!(exit.code, Some(2), "{}", exit.stderr);
    assert!(
        exit.stderr.contains(&format!("cannot listen on {addr}")),
        "{}",
        exit.stderr
    );
    assert!(
        exit.stderr
            .contains("hint: pass another address with --addr"),
        "{}",
        exit.stderr
    );
}
