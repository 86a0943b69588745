//! Generates the HTTP transport for each provider from its hand-maintained OpenAPI document.
//!
//! For every `openapi/<provider>.yaml` this writes `$OUT_DIR/<provider>.rs`, a progenitor
//! client (builder style) pretty-printed with prettyplease, which `src/generated.rs`
//! `include!`s, and `$OUT_DIR/<provider>.openapi.json`, the same document as JSON, which
//! `src/contract/mod.rs` embeds so that the crate can validate against the contract at run time
//! without a YAML parser; `openapi/storage.yaml` (the output files) is only converted. A document that does not parse, or that progenitor cannot turn into code, stops
//! the build with one line naming the file and the reason.
//!
//! The same text is kept in `tests/snapshots/<provider>.rs`; `tests/snapshots.rs` fails when
//! the two differ, and `EXPECTORATE=overwrite cargo test --test snapshots` refreshes them, so a
//! change to a document shows up as a reviewable diff of the generated code.

use std::{
    env, fs,
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
    process,
};

/// The providers, in the order their modules appear in `src/generated.rs`.
const PROVIDERS: [&str; 3] = ["hiapi", "reapi", "apiframe"];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let out_dir = match env::var_os("OUT_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => fail("OUT_DIR is not set; run this build script through cargo"),
    };
    for provider in PROVIDERS {
        let document = format!("openapi/{provider}.yaml");
        println!("cargo::rerun-if-changed={document}");
        let (code, json) = generate(Path::new(&document)).unwrap_or_else(|reason| fail(&reason));
        write(&out_dir.join(format!("{provider}.rs")), &code);
        write(&out_dir.join(format!("{provider}.openapi.json")), &json);
    }
    // The output files' document describes storage, not a provider's API: embedded for the
    // conformance checks, never generated.
    let storage = Path::new("openapi/storage.yaml");
    println!("cargo::rerun-if-changed={}", storage.display());
    let (_, json) = read(storage).unwrap_or_else(|reason| fail(&reason));
    write(&out_dir.join("storage.openapi.json"), &json);
}

/// Reads one OpenAPI 3.0 document: parsed, and as JSON text.
fn read(document: &Path) -> Result<(openapiv3::OpenAPI, String), String> {
    let name = document.display();
    let text = fs::read_to_string(document).map_err(|err| format!("{name}: cannot read: {err}"))?;
    let spec = serde_norway::from_str::<openapiv3::OpenAPI>(&text)
        .map_err(|err| format!("{name}: not a valid OpenAPI 3.0 document: {err}"))?;
    let json: serde_json::Value =
        serde_norway::from_str(&text).map_err(|err| format!("{name}: not valid YAML: {err}"))?;
    let json = serde_json::to_string(&json)
        .map_err(|err| format!("{name}: cannot be written as JSON: {err}"))?;
    Ok((spec, json))
}

fn write(target: &Path, contents: &str) {
    if let Err(err) = fs::write(target, contents) {
        fail(&format!("cannot write {}: {err}", target.display()));
    }
}

/// Reads, parses and generates one document, returning pretty-printed Rust source and the
/// document as JSON.
fn generate(document: &Path) -> Result<(String, String), String> {
    let name = document.display();
    let (spec, json) = read(document)?;

    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_derive("PartialEq");

    // progenitor reports some unsupported shapes (e.g. two different success schemas on one
    // operation) by panicking. Catch that and report it like any other error, without the
    // default hook's backtrace noise.
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let generated = panic::catch_unwind(AssertUnwindSafe(|| {
        progenitor::Generator::new(&settings).generate_tokens(&spec)
    }));
    panic::set_hook(default_hook);

    let tokens = match generated {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(err)) => {
            return Err(format!(
                "{name}: progenitor cannot generate a client: {err}"
            ))
        }
        Err(payload) => {
            let reason = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("unknown reason");
            return Err(format!(
                "{name}: progenitor cannot generate a client: {reason}"
            ));
        }
    };
    let file: syn::File = syn::parse2(tokens)
        .map_err(|err| format!("{name}: progenitor produced code that does not parse: {err}"))?;
    Ok((prettyplease::unparse(&file), json))
}

/// Stops the build with a one-line reason, and no backtrace.
fn fail(reason: &str) -> ! {
    println!("cargo::error={reason}");
    eprintln!("error: {reason}");
    process::exit(1)
}
