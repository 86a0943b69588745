//! The output directory, checked before anything is paid for: that it takes new files, that
//! every job's file name (and the names written beside it while it downloads) fits the file
//! system, and that no job's file is one of the batch's own (the results file, the ledger).

use std::path::{Path, PathBuf};

use super::RESULTS_FILE;
use crate::Error;

/// What a download writes beside `NAME` besides the video: `.NAME.part` and its record
/// `.NAME.part.json` (see `client::download`): the longest is 11 bytes longer than the name.
const PARTIAL_EXTRA: usize = ".".len() + ".part".len() + ".json".len();

/// The longest file name `dir`'s file system takes, in bytes (255 where it cannot say).
fn name_max(dir: &Path) -> usize {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        if let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) {
            // SAFETY: `path` is a valid NUL-terminated string that outlives the call;
            // pathconf reads it and touches no other memory.
            let max = unsafe { libc::pathconf(path.as_ptr(), libc::_PC_NAME_MAX) };
            if let Ok(max) = usize::try_from(max) {
                if max > 0 {
                    return max;
                }
            }
        }
    }
    255
}

/// Creates `dir` if missing and proves it takes new files: one file created (never through a
/// link), written, made durable and removed.
pub(super) fn probe(dir: &Path) -> Result<(), Error> {
    let unusable = |reason: String| Error::UnusableTarget {
        path: dir.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|err| unusable(format!("cannot create it: {err}")))?;
    let probe = dir.join(format!(".happyhorse-probe-{}", std::process::id()));
    let _ = std::fs::remove_file(&probe);
    let written = crate::files::open_append(&probe).and_then(|(mut file, _)| {
        std::io::Write::write_all(&mut file, b"probe")?;
        file.sync_all()
    });
    let _ = std::fs::remove_file(&probe);
    written.map_err(|err| {
        unusable(format!(
            "cannot create files in it ({err}); videos could not be saved there"
        ))
    })
}

/// The batch's own files in `out_dir`: the results file, and the ledger's files where the
/// ledger is a file there.
pub(super) fn reserved(out_dir: &Path, ledger_files: &[PathBuf]) -> Vec<String> {
    let mut names = vec![RESULTS_FILE.to_owned()];
    let dir = canonical(out_dir);
    for file in ledger_files {
        let parent = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if canonical(parent) == dir {
            if let Some(name) = file.file_name() {
                names.push(name.to_string_lossy().into_owned());
            }
        }
    }
    names
}

fn canonical(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// A symbolic link at `NAME`, `.NAME.part` or `.NAME.part.json` in `dir`: the download would
/// refuse to write through it.
fn linked(dir: &Path, name: &str) -> Option<String> {
    [
        name.to_owned(),
        format!(".{name}.part"),
        format!(".{name}.part.json"),
    ]
    .into_iter()
    .find(|file| crate::files::is_symlink(&dir.join(file)))
    .map(|file| {
        format!(
            "{} is a symbolic link; videos are never written through one: remove it",
            dir.join(file).display()
        )
    })
}

/// Why a job's file `name` cannot be saved in a directory whose names may be `name_max`
/// bytes long and whose own files are `reserved`.
fn unsavable(name: &str, name_max: usize, reserved: &[String]) -> Option<String> {
    if reserved.iter().any(|own| own == name) {
        return Some(format!(
            "output \"{}\": the batch's own file of that name is in the output directory; choose another name",
            crate::client::clean(name, 80)
        ));
    }
    let longest = name.len().saturating_add(PARTIAL_EXTRA);
    (longest > name_max).then(|| {
        format!(
            "output name of {} bytes: while downloading, `.NAME.part.json` is written beside it, {longest} bytes, and this file system takes at most {name_max}; use a name of at most {} bytes",
            name.len(),
            name_max.saturating_sub(PARTIAL_EXTRA)
        )
    })
}

/// Checks every `(label, name)` of jobs to be saved in `out_dir` (a label such as
/// `line 4: job-1`): the directory takes files, and each name fits and is free of the batch's
/// own. Every problem at once.
pub(super) fn check<'a>(
    out_dir: &Path,
    ledger_files: &[PathBuf],
    names: impl IntoIterator<Item = (String, &'a str)>,
) -> Result<(), Error> {
    probe(out_dir)?;
    let max = name_max(out_dir);
    let reserved = reserved(out_dir, ledger_files);
    let problems: Vec<String> = names
        .into_iter()
        .filter_map(|(label, name)| {
            unsavable(name, max, &reserved)
                .or_else(|| linked(out_dir, name))
                .map(|why| format!("{label}: {why}"))
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Config {
        message: format!(
            "{} job{} cannot be saved in {}, and nothing was submitted:\n  {}",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            out_dir.display(),
            problems.join("\n  ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_with_what_is_written_beside_them() {
        let reserved = vec!["results.jsonl".to_owned(), "happyhorse.db-wal".to_owned()];
        assert!(unsavable("a.mp4", 255, &reserved).is_none());
        assert!(unsavable(&"x".repeat(244), 255, &reserved).is_none());
        let long = unsavable(&"x".repeat(245), 255, &reserved).unwrap();
        assert!(long.contains("at most 244 bytes"), "{long}");
        assert!(unsavable("results.jsonl", 255, &reserved).is_some());
        assert!(unsavable("happyhorse.db-wal", 255, &reserved).is_some());
    }
}
