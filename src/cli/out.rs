//! `-o/--output` of `generate`, `wait` and `download`: a local file, or an object in a store
//! (`s3://BUCKET/KEY.mp4`, `gs://...`, `az://...`; a URL that ends in `/` takes the default
//! file name under that prefix; `file://PATH` is a local file).

use std::path::{Path, PathBuf};

use happyhorse::{
    client::Output,
    store::{Destination, Stored},
    Error,
};
use serde_json::{json, Value};

use super::session::Session;

/// Where a video goes.
pub(crate) enum Target {
    /// A local file.
    File(PathBuf),
    /// An object: `name` under `destination`.
    Object {
        destination: Destination,
        name: String,
    },
}

impl Target {
    /// The target `given` names (`None`: `default`, a local file).
    pub(crate) fn of(
        given: Option<&Path>,
        default: impl FnOnce() -> PathBuf,
    ) -> Result<Target, Error> {
        let Some(given) = given else {
            return Ok(Target::File(default()));
        };
        let Some(text) = given.to_str().filter(|t| t.contains("://")) else {
            return Ok(Target::File(given.to_path_buf()));
        };
        if let Some(path) = text.strip_prefix("file://") {
            return Ok(Target::File(PathBuf::from(path)));
        }
        let (prefix, name) = text.rsplit_once('/').unwrap_or((text, ""));
        let name = if name.is_empty() {
            default()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "happyhorse.mp4".to_owned())
        } else {
            name.to_owned()
        };
        if prefix.ends_with(':') || prefix.ends_with(":/") {
            return Err(Error::Config {
                message: format!("'{text}' names no bucket: write s3://BUCKET/NAME.mp4 (or s3://BUCKET/PREFIX/ for the default name)"),
            });
        }
        Ok(Target::Object {
            destination: Destination::from_url(prefix)?,
            name,
        })
    }

    /// How the target is named in messages and in the advice after an error (`-o ...`).
    pub(crate) fn shown(&self) -> PathBuf {
        match self {
            Target::File(path) => path.clone(),
            Target::Object { destination, name } => PathBuf::from(destination.shown(name)),
        }
    }

    /// Refuses, before anything is paid for, an object that exists (unless `overwrite`) or a
    /// store that cannot be reached with the environment's credentials. (A local file is
    /// checked by the download itself, which refuses before submitting.)
    pub(crate) async fn check(&self, overwrite: bool) -> Result<(), Error> {
        let Target::Object { destination, name } = self else {
            return Ok(());
        };
        if destination.stat(name).await?.is_some() && !overwrite {
            return Err(Error::Config {
                message: format!(
                    "{} exists; pass --force to replace it",
                    destination.shown(name)
                ),
            });
        }
        Ok(())
    }
}

/// Streams `output` into the object store (a spinner meanwhile).
pub(crate) async fn upload(
    session: &Session,
    output: &Output,
    destination: &Destination,
    name: &str,
) -> Result<Stored, Error> {
    let spinner = session.spinner(format!("uploading to {}", destination.shown(name)));
    let stored = session
        .client
        .upload_output(output, destination, name)
        .await;
    spinner.finish_and_clear();
    stored
}

/// Prints what was stored: its URL on stdout, a line on stderr (or one JSON object with
/// `fields` added).
pub(crate) fn print_stored(stored: &Stored, id: &str, json: bool, fields: Value) {
    if json {
        let mut object = json!({
            "ok": true, "id": id, "path": stored.url, "bytes": stored.bytes,
            "sha256": stored.sha256, "e_tag": stored.e_tag, "object_version": stored.version,
        });
        if let (Some(object), Value::Object(more)) = (object.as_object_mut(), fields) {
            object.extend(more);
        }
        println!("{object}");
    } else {
        println!("{}", stored.url);
        eprintln!(
            "stored {} ({}, sha256 {}) from task {id}",
            stored.url,
            super::units::bytes(stored.bytes),
            stored.sha256
        );
    }
}
