//! `happyhorse contract diff`: what an edit of a document does to callers.

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

use happyhorse::{
    contract::diff::{compare, Change, Report},
    Provider,
};
use serde_json::{json, Value};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: ContractCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ContractCommand {
    /// Compare two versions of a provider's OpenAPI document and classify each change for a
    /// caller: breaking or compatible, with its JSON path and its effect on the generated Rust
    /// API.
    ///
    /// Without files: for each provider (or --provider), the document committed at --base
    /// (default HEAD) against the working copy `openapi/<provider>.yaml`, read with git in the
    /// repository the current directory is in. With OLD and NEW: those two files (YAML or
    /// JSON).
    ///
    /// Exit status: 0 when no change is breaking; 1 when at least one is (a part of a document
    /// that cannot be compared, such as a `$ref` that does not resolve, counts as breaking);
    /// 2 when a document cannot be read or parsed (no git repository, a missing file, invalid
    /// YAML, not an OpenAPI document).
    Diff(DiffArgs),
}

#[derive(Debug, clap::Args)]
struct DiffArgs {
    /// Only this provider's document: hiapi, reapi or apiframe.
    #[arg(long, short, conflicts_with = "old")]
    provider: Option<Provider>,
    /// The git revision holding the old documents.
    #[arg(long, default_value = "HEAD", conflicts_with = "old")]
    base: String,
    /// Print the changes as JSON.
    #[arg(long)]
    json: bool,
    /// The old document (then NEW is required).
    #[arg(requires = "new")]
    old: Option<PathBuf>,
    /// The new document.
    new: Option<PathBuf>,
}

/// Exit status when a change is breaking.
const BREAKING: u8 = 1;
/// Exit status when a document cannot be read.
const UNUSABLE: u8 = 2;

pub fn run(args: Args) -> ExitCode {
    match args.command {
        ContractCommand::Diff(args) => diff(args),
    }
}

fn diff(args: DiffArgs) -> ExitCode {
    let pairs = match (&args.old, &args.new) {
        (Some(old), Some(new)) => files(old, new).map(|pair| vec![pair]),
        _ => committed_vs_working(args.provider, &args.base),
    };
    let pairs = match pairs {
        Ok(pairs) => pairs,
        Err(message) => {
            eprintln!("error: {message}");
            eprintln!("hint: `happyhorse contract diff OLD.yaml NEW.yaml` compares two files; without them, run it inside the repository whose openapi/ you edited");
            return ExitCode::from(UNUSABLE);
        }
    };
    let mut breaking = false;
    let mut out = Vec::new();
    for (label, old, new) in pairs {
        let report = compare(&old, &new);
        breaking |= report.has_breaking();
        if args.json {
            out.push(json!({
                "document": label,
                "breaking": report.breaking().count(),
                "compatible": report.compatible().count(),
                "changes": report.changes.iter().map(change_json).collect::<Vec<_>>(),
            }));
        } else {
            print_text(&label, &report);
        }
    }
    if args.json {
        println!("{:#}", Value::from(out));
    }
    if breaking {
        eprintln!(
            "hint: breaking changes reach every caller of the regenerated client; review them with the snapshot diff (`EXPECTORATE=overwrite cargo test --test generated_code`, then `git diff tests/snapshots/`)"
        );
        ExitCode::from(BREAKING)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_text(label: &str, report: &Report) {
    if report.changes.is_empty() {
        println!("{label}: no changes");
    } else {
        println!("{label}:\n{report}\n");
    }
}

fn change_json(change: &Change) -> Value {
    json!({
        "class": change.class.to_string(),
        "path": change.path,
        "what": change.what,
        "rust": change.rust,
        "old": change.old,
        "new": change.new,
        "uncompared": change.is_uncompared(),
    })
}

/// Two files given on the command line.
fn files(old: &Path, new: &Path) -> Result<(String, Value, Value), String> {
    let read = |path: &Path| {
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("{}: cannot read it: {err}", path.display()))?;
        parse(&text).map_err(|err| format!("{}: {err}", path.display()))
    };
    Ok((
        format!("{} → {}", old.display(), new.display()),
        read(old)?,
        read(new)?,
    ))
}

/// Each provider's document at `base` and in the working copy.
fn committed_vs_working(
    provider: Option<Provider>,
    base: &str,
) -> Result<Vec<(String, Value, Value)>, String> {
    let provider_given = provider;
    let root = git(&["rev-parse", "--show-toplevel"], None).map_err(|err| {
        format!("not in a git repository ({err}); pass OLD and NEW files instead")
    })?;
    let root = PathBuf::from(root.trim());
    let providers = match provider {
        Some(provider) => vec![provider],
        None => Provider::ALL.to_vec(),
    };
    let mut pairs = Vec::new();
    for provider in providers {
        let relative = format!("openapi/{}.yaml", provider.name());
        // Without --provider, a provider whose document this repository has neither committed
        // nor in its working copy is not one it keeps.
        let kept = root.join(&relative).exists()
            || git(
                &["cat-file", "-e", &format!("{base}:{relative}")],
                Some(&root),
            )
            .is_ok();
        if provider_given.is_none() && !kept {
            continue;
        }
        let committed = git(&["show", &format!("{base}:{relative}")], Some(&root))
            .map_err(|err| format!("{relative} at {base}: {err}"))?;
        let working = std::fs::read_to_string(root.join(&relative))
            .map_err(|err| format!("{relative}: cannot read it: {err}"))?;
        let old = parse(&committed).map_err(|err| format!("{relative} at {base}: {err}"))?;
        let new = parse(&working).map_err(|err| format!("{relative}: {err}"))?;
        pairs.push((format!("{relative} ({base} → working copy)"), old, new));
    }
    if pairs.is_empty() {
        return Err(format!(
            "no openapi/<provider>.yaml here or at {base}; pass OLD and NEW files instead"
        ));
    }
    Ok(pairs)
}

/// A document's text as JSON (YAML contains JSON, so one parser reads both); shared with
/// `sandbox --document`.
pub(super) fn parse(text: &str) -> Result<Value, String> {
    let document: Value =
        serde_norway::from_str(text).map_err(|err| format!("not YAML or JSON: {err}"))?;
    if !document.get("openapi").is_some_and(Value::is_string) {
        return Err("not an OpenAPI document (no `openapi` version)".to_owned());
    }
    Ok(document)
}

/// `git ARGS` in `dir` (or the current directory): its stdout, or what went wrong.
fn git(args: &[&str], dir: Option<&Path>) -> Result<String, String> {
    let mut command = Command::new("git");
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output = command
        .output()
        .map_err(|err| format!("cannot run git: {err}"))?;
    if output.status.success() {
        String::from_utf8(output.stdout).map_err(|_| "git printed something not UTF-8".to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}
