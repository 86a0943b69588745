//! The breaking-change report on fixture pairs of documents (`tests/fixtures/contract-diff/`:
//! one base and one file per class of change), on the real documents (the Rust names it uses
//! checked against the snapshots of the generated code), and through the `happyhorse contract
//! diff` command, on files and in a git repository's working copy.
#![cfg(feature = "cli")]

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use happyhorse::{
    contract::{
        self,
        diff::{compare, rust_integer_type, Change, Class},
    },
    Provider,
};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/contract-diff")
}

fn fixture(name: &str) -> Value {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn snapshot(provider: Provider) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/snapshots/{}.rs", provider.name()));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Each variant against the base: the one change it makes, its class, where, and what the
/// report says it does to the generated code (each claim was checked on the code progenitor
/// generates from the two files).
#[test]
fn each_fixture_is_classified_at_its_path_with_its_rust_effect() {
    use Class::{Breaking, Compatible};
    let base = fixture("base.yaml");
    let cases: [(&str, Class, &str, &str); 22] = [
        (
            "enum-narrowed.yaml",
            Breaking,
            "/components/schemas/Body/properties/resolution/enum",
            "`types::BodyResolution` loses variant `X1080p`",
        ),
        (
            "enum-widened.yaml",
            Compatible,
            "/components/schemas/Body/properties/resolution/enum",
            "`types::BodyResolution` gains variant `X4k`",
        ),
        (
            "bound-tightened.yaml",
            Breaking,
            "/components/schemas/Body/properties/duration/maximum",
            "no signature change",
        ),
        (
            "bound-loosened.yaml",
            Compatible,
            "/components/schemas/Body/properties/duration/maximum",
            "no signature change",
        ),
        (
            "bound-loosened-retyped.yaml",
            Breaking,
            "/components/schemas/Body/properties/duration/minimum",
            "field `duration` of `types::Body` changes from `i64` to `NonZeroU64`",
        ),
        (
            "field-removed.yaml",
            Breaking,
            "/components/schemas/Body/properties/images",
            "field `images` of `types::Body` is removed",
        ),
        (
            "field-required.yaml",
            Breaking,
            "/components/schemas/Body/required",
            "changes from `Option<i64>` to `i64`",
        ),
        (
            "optional-field-added.yaml",
            Compatible,
            "/components/schemas/Body/properties/seed",
            "field `seed` of `types::Body` added as `Option<u64>`",
        ),
        (
            "response-field-removed.yaml",
            Breaking,
            "/components/schemas/Task/properties/url",
            "field `url` of `types::Task` is removed",
        ),
        (
            "response-field-retyped.yaml",
            Breaking,
            "/components/schemas/Task/properties/progress/type",
            "field `progress` of `types::Task` changes from `f64` to `String`",
        ),
        (
            "response-field-optional.yaml",
            Breaking,
            "/components/schemas/Task/required",
            "changes from `types::TaskStatus` to `Option<types::TaskStatus>`",
        ),
        (
            "response-field-added.yaml",
            Compatible,
            "/components/schemas/Task/properties/created",
            "field `created` of `types::Task` added as `Option<i64>`",
        ),
        (
            "response-enum-widened.yaml",
            Breaking,
            "/components/schemas/Task/properties/status/enum",
            "`types::TaskStatus` gains variant `Failed`",
        ),
        (
            "response-enum-narrowed.yaml",
            Breaking,
            "/components/schemas/Task/properties/status/enum",
            "`types::TaskStatus` loses variant `Running`",
        ),
        (
            "pattern-added.yaml",
            Breaking,
            "/components/schemas/Task/properties/id/pattern",
            "changes from `String` to checked newtype `types::TaskId`",
        ),
        (
            "operation-removed.yaml",
            Breaking,
            "/paths/~1tasks~1{id}/get",
            "method `Client::get_task` and its builder `builder::GetTask` are removed",
        ),
        (
            "status-removed.yaml",
            Breaking,
            "/paths/~1tasks~1{id}/get/responses/404",
            "no longer decodes a 404 answer",
        ),
        (
            "required-parameter-added.yaml",
            Breaking,
            "/paths/~1tasks~1{id}/get/parameters/1",
            "new builder method `fields()` on `Client::get_task`; `send()` fails unless it is set",
        ),
        (
            "component-removed.yaml",
            Breaking,
            "/components/schemas/Webhook",
            "type `types::Webhook` is removed",
        ),
        (
            "unreached-component-edited.yaml",
            Breaking,
            "/components/schemas/Webhook/properties/event/enum",
            "`types::WebhookEvent` loses variant `Failed`",
        ),
        (
            "link-removed.yaml",
            Compatible,
            "/paths/~1tasks/post/responses/200/links/GetTask",
            "progenitor does not read links",
        ),
        (
            "dangling-ref.yaml",
            Breaking,
            "/paths/~1tasks/post/requestBody/content/application~1json/schema",
            "unknown",
        ),
    ];
    for (name, class, path, rust) in cases {
        let variant = fixture(name);
        let report = compare(&base, &variant);
        assert_eq!(report.changes.len(), 1, "{name}:\n{report}");
        let change = &report.changes[0];
        assert_eq!(change.class, class, "{name}:\n{report}");
        assert_eq!(change.path, path, "{name}");
        assert!(change.rust.contains(rust), "{name}: {}", change.rust);
        assert_eq!(report.has_breaking(), class == Class::Breaking, "{name}");
        assert_eq!(
            change.is_uncompared(),
            name == "dangling-ref.yaml",
            "{name}"
        );
        // The path points at the change in the document that has it.
        let document = if change.new.is_none() {
            &base
        } else {
            &variant
        };
        assert!(
            document.pointer(path).is_some(),
            "{name}: {path} points nowhere"
        );
    }
}

#[test]
fn identical_documents_and_prose_only_edits_have_no_changes() {
    let base = fixture("base.yaml");
    assert!(compare(&base, &base).is_empty());
    assert!(compare(&base, &fixture("description-only.yaml")).is_empty());
    for provider in Provider::ALL {
        let document = contract::openapi(provider);
        assert!(compare(document, document).is_empty(), "{provider}");
    }
}

/// Each variant compares with the base both ways, and undoing an edit is a change exactly when
/// making it is.
#[test]
fn each_fixture_compares_with_the_base_both_ways() {
    let names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    assert!(names.len() > 20, "{names:?}");
    let base = fixture("base.yaml");
    for name in &names {
        let variant = fixture(name);
        let there = compare(&base, &variant);
        let back = compare(&variant, &base);
        assert_eq!(
            there.is_empty(),
            back.is_empty(),
            "{name}:\n{there}\n{back}"
        );
    }
}

/// A realistic edit of a real document: HiAPI shortening clips to 10 s.
#[test]
fn shortening_hiapi_clips_is_breaking_where_the_duration_is_defined() {
    let old = contract::openapi(Provider::HiApi).clone();
    let mut new = old.clone();
    new["components"]["schemas"]["Duration"]["maximum"] = 10.into();
    let report = compare(&old, &new);
    assert_eq!(report.changes.len(), 1, "{report}");
    let change = &report.changes[0];
    assert_eq!(change.class, Class::Breaking);
    assert_eq!(change.path, "/components/schemas/Duration/maximum");
    assert_eq!(
        (change.old.clone(), change.new.clone()),
        (Some(15.into()), Some(10.into()))
    );
    assert!(
        change
            .rust
            .contains("no signature change: `types::Duration` keeps its type"),
        "{}",
        change.rust
    );
    assert!(snapshot(Provider::HiApi).contains("pub struct Duration(pub i64);"));
    // Widening it back is compatible.
    let back = compare(&new, &old);
    assert_eq!(back.changes.len(), 1, "{back}");
    assert_eq!(back.changes[0].class, Class::Compatible);
}

/// The generated names a change mentions: types (`types::X`), variants and fields.
fn names_in(change: &Change) -> (Vec<String>, Vec<String>, Vec<String>) {
    let after = |marker: &str| -> Vec<String> {
        change
            .rust
            .split(marker)
            .skip(1)
            .filter_map(|rest| rest.split('`').next())
            .map(str::to_owned)
            .collect()
    };
    (after("`types::"), after("variant `"), after("field `"))
}

/// Edits of the real documents: the report's Rust names are the ones progenitor generated
/// (`tests/snapshots/`), inline types and parameter newtypes included.
#[test]
fn the_rust_names_in_reports_on_real_documents_are_in_the_snapshots() {
    type Edit = fn(&mut Value);
    let cases: [(Provider, Edit, &str, &str); 6] = [
        (
            Provider::Apiframe,
            |d| {
                d["components"]["schemas"]["GenerateVideoRequest"]["properties"]["model"]["enum"] =
                    json!(["happyhorse-2"])
            },
            "/components/schemas/GenerateVideoRequest/properties/model/enum",
            "`types::GenerateVideoRequestModel` loses variant `Happyhorse11`",
        ),
        (
            Provider::HiApi,
            |d| d["components"]["schemas"]["Resolution"]["enum"] = json!(["1080p"]),
            "/components/schemas/Resolution/enum",
            "`types::Resolution` loses variant `X720p`",
        ),
        (
            Provider::HiApi,
            |d| {
                d["components"]["schemas"]["ImageToVideoInput"]["properties"]["image_urls"]
                    ["items"]["pattern"] = json!("^https://")
            },
            "/components/schemas/ImageToVideoInput/properties/image_urls/items/pattern",
            "`types::ImageToVideoInputImageUrlsItem` checks the new pattern",
        ),
        (
            Provider::HiApi,
            |d| d["components"]["parameters"]["IdempotencyKey"]["schema"]["maxLength"] = json!(128),
            "/components/parameters/IdempotencyKey/schema/maxLength",
            "`types::CreateTaskIdempotencyKey` checks the new maxLength",
        ),
        (
            Provider::Reapi,
            |d| d["components"]["schemas"]["RequiredPrompt"]["minLength"] = json!(2),
            "/components/schemas/RequiredPrompt/minLength",
            "`types::RequiredPrompt` checks the new minLength",
        ),
        (
            Provider::Reapi,
            |d| {
                let properties =
                    &mut d["components"]["schemas"]["TextToVideoRequest"]["properties"];
                properties.as_object_mut().unwrap().remove("aspect_ratio");
            },
            "/components/schemas/TextToVideoRequest/properties/aspect_ratio",
            "field `aspect_ratio` of `types::TextToVideoRequest` is removed",
        ),
    ];
    for (provider, edit, path, rust) in cases {
        let old = contract::openapi(provider);
        let mut new = old.clone();
        edit(&mut new);
        let report = compare(old, &new);
        let change = report
            .changes
            .iter()
            .find(|c| c.path == path)
            .unwrap_or_else(|| panic!("{provider}: nothing at {path}:\n{report}"));
        assert_eq!(change.class, Class::Breaking, "{provider}:\n{report}");
        assert!(change.rust.contains(rust), "{provider}: {}", change.rust);
        let generated = snapshot(provider);
        let (types, variants, fields) = names_in(change);
        assert!(!types.is_empty(), "{provider}: {}", change.rust);
        for ty in types {
            assert!(
                generated.contains(&format!("pub struct {ty}"))
                    || generated.contains(&format!("pub enum {ty} ")),
                "{provider}: no type {ty} in the snapshot"
            );
        }
        for variant in variants {
            assert!(
                generated.contains(&format!("        {variant},")),
                "{provider}: no variant {variant}"
            );
        }
        for field in fields {
            assert!(
                generated.contains(&format!("pub {field}: ")),
                "{provider}: no field {field}"
            );
        }
    }
}

/// The report's integer-type claims hold on the code progenitor generated from the real
/// documents (`tests/snapshots/`).
#[test]
fn the_integer_types_named_are_the_ones_generated() {
    let cases = [
        (
            Provider::HiApi,
            "/paths/~1tasks/get/parameters/0/schema",
            "page: Result<Option<::std::num::NonZeroU64>",
        ),
        (
            Provider::HiApi,
            "/paths/~1tasks/get/parameters/1/schema",
            "size: Result<Option<::std::num::NonZeroU64>",
        ),
        (
            Provider::Apiframe,
            "/components/schemas/ApiError/properties/creditsRequired",
            "pub credits_required: ::std::option::Option<u64>",
        ),
        (
            Provider::Apiframe,
            "/components/schemas/Happyhorse11Params/properties/seed",
            "pub seed: ::std::option::Option<i64>",
        ),
        (
            Provider::Reapi,
            "/components/schemas/Duration",
            "pub struct Duration(pub i64)",
        ),
    ];
    for (provider, pointer, generated) in cases {
        let schema = contract::openapi(provider)
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{provider} {pointer}"));
        let predicted = rust_integer_type(schema)
            .unwrap_or_else(|| panic!("{provider} {pointer}: not an integer"));
        assert!(
            generated.contains(predicted),
            "{provider} {pointer}: predicted {predicted}, generated {generated}"
        );
        assert!(
            snapshot(provider).contains(generated),
            "{provider}: the snapshot has no `{generated}`"
        );
    }
}

fn happyhorse() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_happyhorse"));
    command.env_remove("RUST_LOG");
    command
}

fn contract_diff(args: &[&str], dir: Option<&Path>) -> Output {
    let mut command = happyhorse();
    command.args(["contract", "diff"]).args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_command_exits_0_1_and_2_and_prints_json() {
    let file = |name: &str| fixtures().join(name).display().to_string();
    let run = |args: &[&str]| contract_diff(args, None);
    let base = file("base.yaml");

    let compatible = run(&[&base, &file("enum-widened.yaml")]);
    assert_eq!(
        compatible.status.code(),
        Some(0),
        "{}",
        text(&compatible.stderr)
    );
    let stdout = text(&compatible.stdout);
    assert!(stdout.contains("Compatible (1):"), "{stdout}");
    assert!(
        stdout.contains("  /components/schemas/Body/properties/resolution/enum: [\"4k\"] added"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Rust: `types::BodyResolution` gains variant `X4k`"),
        "{stdout}"
    );
    assert!(stdout.contains("0 breaking, 1 compatible"), "{stdout}");

    let same = run(&[&base, &file("description-only.yaml")]);
    assert_eq!(same.status.code(), Some(0));
    assert!(
        text(&same.stdout).ends_with("description-only.yaml: no changes\n"),
        "{}",
        text(&same.stdout)
    );

    let breaking = run(&["--json", &base, &file("bound-tightened.yaml")]);
    assert_eq!(breaking.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&breaking.stdout).unwrap();
    assert_eq!(
        (json[0]["breaking"].clone(), json[0]["compatible"].clone()),
        (1.into(), 0.into())
    );
    let change = &json[0]["changes"][0];
    assert_eq!(change["class"], "breaking");
    assert_eq!(
        change["path"],
        "/components/schemas/Body/properties/duration/maximum"
    );
    assert_eq!(
        (change["old"].clone(), change["new"].clone()),
        (15.into(), 10.into())
    );
    assert_eq!(change["uncompared"], false);
    assert!(change["rust"]
        .as_str()
        .unwrap()
        .contains("no signature change"));
    assert!(text(&breaking.stderr).contains("git diff tests/snapshots/"));

    // Text: breaking changes first.
    let both = run(&[&file("enum-narrowed.yaml"), &file("bound-tightened.yaml")]);
    assert_eq!(both.status.code(), Some(1));
    let stdout = text(&both.stdout);
    let (breaking_at, compatible_at) = (
        stdout.find("Breaking (").unwrap(),
        stdout.find("Compatible (").unwrap(),
    );
    assert!(breaking_at < compatible_at, "{stdout}");

    let dangling = run(&["--json", &base, &file("dangling-ref.yaml")]);
    assert_eq!(dangling.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&dangling.stdout).unwrap();
    assert_eq!(json[0]["changes"][0]["uncompared"], true);

    let missing = run(&[&base, &file("no-such-file.yaml")]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("no-such-file.yaml: cannot read it"));
    assert!(text(&missing.stderr).contains("hint: "));
    let scratch = tempfile::tempdir().unwrap();
    let write = |name: &str, content: &str| {
        let path = scratch.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    };
    let not_openapi = run(&[&base, &write("plain.yaml", "just: a mapping\n")]);
    assert_eq!(not_openapi.status.code(), Some(2));
    assert!(text(&not_openapi.stderr).contains("plain.yaml: not an OpenAPI document"));
    let invalid = run(&[
        &write("broken.yaml", "openapi: 3.0.3\npaths: {\n  /x: [\n"),
        &base,
    ]);
    assert_eq!(invalid.status.code(), Some(2));
    assert!(
        text(&invalid.stderr).contains("broken.yaml: not YAML or JSON"),
        "{}",
        text(&invalid.stderr)
    );
    assert!(invalid.stdout.is_empty(), "{}", text(&invalid.stdout));
    // JSON documents are read too.
    let as_json = write(
        "base.json",
        &serde_json::to_string(&fixture("base.yaml")).unwrap(),
    );
    let from_json = run(&[&as_json, &file("enum-narrowed.yaml")]);
    assert_eq!(
        from_json.status.code(),
        Some(1),
        "{}",
        text(&from_json.stderr)
    );

    let help = text(&run(&["--help"]).stdout);
    assert!(
        help.contains("Exit status: 0 when no change is breaking; 1 when"),
        "{help}"
    );
}

/// By default: the committed document against the working copy, in the repository the
/// command runs in.
#[test]
fn the_command_compares_the_committed_document_with_the_working_copy() {
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .args(args)
            .current_dir(repo.path())
            .env("GIT_AUTHOR_NAME", "test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", repo.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            text(&output.stderr)
        );
    };
    git(&["init", "-q"]);
    let document = repo.path().join("openapi/hiapi.yaml");
    std::fs::create_dir_all(document.parent().unwrap()).unwrap();
    let original = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi/hiapi.yaml"),
    )
    .unwrap();
    std::fs::write(&document, &original).unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "the documents"]);

    // From a subdirectory: the repository's root is found with git.
    let inside = repo.path().join("openapi");
    let unchanged = contract_diff(&["--provider", "hiapi"], Some(&inside));
    assert_eq!(
        unchanged.status.code(),
        Some(0),
        "{}",
        text(&unchanged.stderr)
    );
    assert!(
        text(&unchanged.stdout).contains("openapi/hiapi.yaml (HEAD → working copy): no changes")
    );
    // Without --provider: only the documents this repository keeps.
    let all = contract_diff(&[], Some(repo.path()));
    assert_eq!(all.status.code(), Some(0), "{}", text(&all.stderr));
    assert_eq!(
        text(&all.stdout).lines().count(),
        1,
        "{}",
        text(&all.stdout)
    );

    let edited = original.replacen("maximum: 15", "maximum: 10", 1);
    assert_ne!(edited, original, "the document has a `maximum: 15`");
    std::fs::write(&document, edited).unwrap();
    let changed = contract_diff(&["--provider", "hiapi"], Some(&inside));
    let stdout = text(&changed.stdout);
    assert_eq!(changed.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Breaking (1):"), "{stdout}");
    assert!(
        stdout.contains("/components/schemas/Duration/maximum: 15 → 10"),
        "{stdout}"
    );

    let json = contract_diff(&["--provider", "hiapi", "--json"], Some(repo.path()));
    assert_eq!(json.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        json[0]["changes"][0]["path"],
        "/components/schemas/Duration/maximum"
    );

    // An unknown revision, or an invalid working copy: the input cannot be read.
    let unknown = contract_diff(
        &["--provider", "hiapi", "--base", "no-such-rev"],
        Some(repo.path()),
    );
    assert_eq!(unknown.status.code(), Some(2));
    std::fs::write(&document, "openapi: [\n").unwrap();
    let broken = contract_diff(&["--provider", "hiapi"], Some(repo.path()));
    assert_eq!(broken.status.code(), Some(2));
    assert!(
        text(&broken.stderr).contains("openapi/hiapi.yaml: not YAML or JSON"),
        "{}",
        text(&broken.stderr)
    );

    // Outside a repository, it says what to do instead.
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = happyhorse()
        .args(["contract", "diff"])
        .current_dir(elsewhere.path())
        .env(
            "GIT_CEILING_DIRECTORIES",
            elsewhere.path().parent().unwrap(),
        )
        .output()
        .unwrap();
    assert_eq!(outside.status.code(), Some(2));
    assert!(text(&outside.stderr).contains("pass OLD and NEW files instead"));
}
