//! `happyhorse validate`: check a provider-native body offline.

use std::{
    io::{self, IsTerminal, Read},
    path::PathBuf,
    process::ExitCode,
};

use happyhorse::{validate::validate_body, Provider};
use serde_json::{json, Value};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The provider whose body this is: hiapi, reapi or apiframe.
    #[arg(long, short)]
    provider: Provider,
    /// The JSON body to check; `-` or nothing reads standard input.
    file: Option<PathBuf>,
    /// Print `{"valid", "errors", "warnings"}` as JSON instead of lines.
    #[arg(long)]
    json: bool,
}

/// Exit status for an invalid body.
const INVALID: u8 = 1;
/// Exit status for input that cannot be read or parsed.
const UNUSABLE: u8 = 2;

pub fn run(args: Args) -> ExitCode {
    let (name, text) = match read_input(args.file.as_ref()) {
        Ok(input) => input,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(UNUSABLE);
        }
    };
    let body: Value = match serde_json::from_str(&text) {
        Ok(body) => body,
        Err(err) => {
            eprintln!(
                "error: {name} is not valid JSON: line {}, column {}: {}",
                err.line(),
                err.column(),
                describe_json_error(&err)
            );
            return ExitCode::from(UNUSABLE);
        }
    };
    let report = validate_body(args.provider, &body);
    if args.json {
        let out = json!({
            "valid": report.is_valid(),
            "errors": report.errors,
            "warnings": report.warnings,
        });
        println!("{out:#}");
    } else {
        for warning in &report.warnings {
            eprintln!("warning: {warning}");
        }
        if report.is_valid() {
            println!("ok");
        } else {
            println!("{report}");
        }
    }
    if report.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(INVALID)
    }
}

/// The input's display name and text.
fn read_input(file: Option<&PathBuf>) -> Result<(String, String), String> {
    match file.filter(|path| path.as_os_str() != "-") {
        Some(path) => {
            let name = path.display().to_string();
            std::fs::read_to_string(path)
                .map(|text| (name.clone(), text))
                .map_err(|err| format!("cannot read {name}: {err}"))
        }
        None => {
            if io::stdin().is_terminal() {
                eprintln!(
                    "reading the body from standard input (end it with Ctrl-D); or pass a file: happyhorse validate -p PROVIDER body.json"
                );
            }
            let mut text = String::new();
            io::stdin()
                .read_to_string(&mut text)
                .map_err(|err| format!("cannot read standard input: {err}"))?;
            Ok(("standard input".to_owned(), text))
        }
    }
}

/// serde_json's message without its trailing " at line L column C", which we print ourselves.
fn describe_json_error(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}
