//! Subcommands of the `happyhorse` binary.

#[cfg(feature = "sandbox")]
mod sandbox;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// HappyHorse 1.1 video generation on HiAPI, reapi and Apiframe.
#[derive(Debug, Parser)]
#[command(name = "happyhorse", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a provider-native request body against the documented rules, offline.
    ///
    /// Exits 0 and prints `ok` when the body is valid (warnings go to stderr), 1 with one
    /// `PATH: MESSAGE` line per error when it is not, and 2 when the input cannot be read or is
    /// not JSON.
    Validate(validate::Args),
    /// Serve a local emulator of HiAPI, reapi and Apiframe on loopback, until Ctrl-C.
    #[cfg(feature = "sandbox")]
    Sandbox(sandbox::Args),
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Validate(args) => validate::run(args),
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => sandbox::run(args),
    }
}
