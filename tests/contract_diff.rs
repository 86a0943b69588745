//! The breaking-change report on fixture pairs of documents (`tests/fixtures/contract-diff/`:
//! one base and one file per class of change), on the real documents, and through the
//! `happyhorse contract diff` command, on files and in a git repository's working copy.
#![cfg(feature = "cli")]

use std::{path::PathBuf, process::Command};

use happyhorse::{
    contract::{
        self,
        diff::{compare, rust_integer_type, Class},
    },
    Provider,
};
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/contract-diff")
}

fn fixture(name: &str) -> Value {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Each variant against the base: the one change it makes, its class, where, and what the
/// report says it does to the generated code.
#[test]
fn each_fixture_is_classified_at_its_path_with_its_rust_effect() {
    let base = fixture("base.yaml");
    let cases: [(&str, Class, &str, &str); 15] = [
        (
            "enum-narrowed.yaml",
            Class::Breaking,
            "/components/schemas/Body/properties/resolution/enum",
            "loses the variants for \"1080p\"",
        ),
        (
            "enum-widened.yaml",
            Class::Compatible,
            "/components/schemas/Body/properties/resolution/enum",
            "gains variants for \"4k\"",
        ),
        (
            "bound-tightened.yaml",
            Class::Breaking,
            "/components/schemas/Body/properties/duration/maximum",
            "no signature change",
        ),
        (
            "bound-loosened.yaml",
            Class::Compatible,
            "/components/schemas/Body/properties/duration/maximum",
            "no signature change",
        ),
        (
            "field-removed.yaml",
            Class::Breaking,
            "/components/schemas/Body/properties/images",
            "field `images` of `types::Body` is removed",
        ),
        (
            "field-required.yaml",
            Class::Breaking,
            "/components/schemas/Body/required",
            "from `Option<T>` to `T`",
        ),
        (
            "optional-field-added.yaml",
            Class::Compatible,
            "/components/schemas/Body/properties/seed",
            "field `seed` of `types::Body` added (`Option<T>`)",
        ),
        (
            "response-field-removed.yaml",
            Class::Breaking,
            "/components/schemas/Task/properties/url",
            "field `url` of `types::Task` is removed",
        ),
        (
            "response-field-retyped.yaml",
            Class::Breaking,
            "/components/schemas/Task/properties/progress/type",
            "field `progress` of `types::Task` changes type",
        ),
        (
            "response-field-optional.yaml",
            Class::Breaking,
            "/components/schemas/Task/required",
            "from `T` to `Option<T>`",
        ),
        (
            "response-field-added.yaml",
            Class::Compatible,
            "/components/schemas/Task/properties/created",
            "field `created` of `types::Task` added",
        ),
        (
            "response-enum-widened.yaml",
            Class::Breaking,
            "/components/schemas/Task/properties/status/enum",
            "gains variants for \"failed\"",
        ),
        (
            "operation-removed.yaml",
            Class::Breaking,
            "/paths/~1tasks~1{id}/get",
            "method `Client::get_task` and its builder are removed",
        ),
        (
            "status-removed.yaml",
            Class::Breaking,
            "/paths/~1tasks~1{id}/get/responses/404",
            "no longer decodes a 404 answer",
        ),
        (
            "required-parameter-added.yaml",
            Class::Breaking,
            "/paths/~1tasks~1{id}/get/parameters/1",
            "new builder method `fields()` on `Client::get_task`",
        ),
    ];
    for (name, class, path, rust) in cases {
        let report = compare(&base, &fixture(name));
        assert_eq!(report.changes.len(), 1, "{name}:\n{report}");
        let change = &report.changes[0];
        assert_eq!(change.class, class, "{name}:\n{report}");
        assert_eq!(change.path, path, "{name}");
        assert!(change.rust.contains(rust), "{name}: {}", change.rust);
        assert_eq!(report.has_breaking(), class == Class::Breaking, "{name}");
        // The path points at the change in the document that has it.
        let document = if change.new.is_none() && change.old.is_some() {
            base.clone()
        } else {
            fixture(name)
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
    assert!(compare(&base, &base).changes.is_empty());
    assert!(compare(&base, &fixture("description-only.yaml"))
        .changes
        .is_empty());
    for provider in Provider::ALL {
        let document = contract::openapi(provider);
        assert!(compare(document, document).changes.is_empty(), "{provider}");
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
    // Widening it back is compatible.
    let back = compare(&new, &old);
    assert_eq!(back.changes[0].class, Class::Compatible);
}

/// The report's integer-type claims hold on the code progenitor generated from the real
/// documents (`tests/snapshots/`).
#[test]
fn the_integer_types_named_are_the_ones_generated() {
    let snapshot = |provider: Provider| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/snapshots/{}.rs", provider.name()));
        std::fs::read_to_string(path).unwrap()
    };
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

#[test]
fn the_command_exits_0_1_and_2_and_prints_json() {
    let file = |name: &str| fixtures().join(name).display().to_string();
    let run = |args: &[String]| {
        happyhorse()
            .args(["contract", "diff"])
            .args(args)
            .output()
            .unwrap()
    };

    let compatible = run(&[file("base.yaml"), file("enum-widened.yaml")]);
    assert_eq!(compatible.status.code(), Some(0));
    let text = String::from_utf8_lossy(&compatible.stdout);
    assert!(
        text.contains("compatible /components/schemas/Body/properties/resolution/enum"),
        "{text}"
    );
    assert!(text.contains("0 breaking, 1 compatible"), "{text}");

    let breaking = run(&[
        "--json".into(),
        file("base.yaml"),
        file("bound-tightened.yaml"),
    ]);
    assert_eq!(breaking.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&breaking.stdout).unwrap();
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
    assert!(String::from_utf8_lossy(&breaking.stderr).contains("git diff tests/snapshots/"));

    let missing = run(&[file("base.yaml"), file("no-such-file.yaml")]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-file.yaml: cannot read it"));
    let not_openapi = run(&[file("base.yaml"), file("README.md")]);
    assert_eq!(not_openapi.status.code(), Some(2));
}

/// By default: the committed document against the working copy, in the repository the
/// command runs in.
#[test]
fn the_command_compares_the_committed_document_with_the_working_copy() {
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let status = Command::new("git")
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
            status.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&status.stderr)
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

    let diff = || {
        happyhorse()
            .args(["contract", "diff", "--provider", "hiapi"])
            .current_dir(repo.path().join("openapi"))
            .output()
            .unwrap()
    };
    let unchanged = diff();
    assert_eq!(
        unchanged.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&unchanged.stderr)
    );
    assert!(String::from_utf8_lossy(&unchanged.stdout)
        .contains("openapi/hiapi.yaml (HEAD → working copy): no changes"));

    let edited = original.replacen("maximum: 15", "maximum: 10", 1);
    assert_ne!(edited, original, "the document has a `maximum: 15`");
    std::fs::write(&document, edited).unwrap();
    let changed = diff();
    let stdout = String::from_utf8_lossy(&changed.stdout);
    assert_eq!(changed.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("BREAKING"), "{stdout}");
    assert!(stdout.contains("maximum: 15 → 10"), "{stdout}");

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
    assert!(String::from_utf8_lossy(&outside.stderr).contains("pass OLD and NEW files instead"));
}
