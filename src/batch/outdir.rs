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

/// Whether this process may create files in the directory `dir` (`access(2)`, W_OK and X_OK).
fn writable(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        match std::ffi::CString::new(dir.as_os_str().as_bytes()) {
            // SAFETY: `path` is a valid NUL-terminated string that outlives the call; access
            // reads it and touches no other memory.
            Ok(path) => unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) == 0 },
            Err(_) => false,
        }
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(dir).is_ok_and(|meta| !meta.permissions().readonly())
    }
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

/// An output directory proven to take files, ready to judge job file names.
pub(super) struct OutDir {
    dir: PathBuf,
    name_max: usize,
    reserved: Vec<String>,
}

impl OutDir {
    /// Probes `dir` (see [`probe`]) and reads its file system's name limit.
    pub(super) fn open(dir: &Path, ledger_files: &[PathBuf]) -> Result<OutDir, Error> {
        probe(dir)?;
        Ok(OutDir {
            dir: dir.to_path_buf(),
            name_max: name_max(dir),
            reserved: reserved(dir, ledger_files),
        })
    }

    /// Looks at `dir` without writing anything: it (or, when missing, the nearest folder
    /// above it, where it would be created) must be a writable directory, and names are
    /// judged by that file system's limit. Weaker than [`OutDir::open`]'s probe (a full or
    /// read-only-mounted file system passes), which a real run makes before its first submit.
    pub(super) fn inspect(dir: &Path, ledger_files: &[PathBuf]) -> Result<OutDir, Error> {
        let unusable = |reason: String| Error::UnusableTarget {
            path: dir.to_path_buf(),
            reason,
        };
        let mut existing = dir;
        let dir_abs;
        if existing.as_os_str().is_empty() {
            existing = Path::new(".");
        }
        if !existing.exists() {
            dir_abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
            existing = dir_abs
                .ancestors()
                .skip(1)
                .find(|p| p.exists())
                .unwrap_or(Path::new("/"));
        }
        if !existing.is_dir() {
            return Err(unusable(format!(
                "{} is not a directory",
                existing.display()
            )));
        }
        if !writable(existing) {
            return Err(unusable(format!(
                "{} is not writable by this user; videos could not be saved there",
                existing.display()
            )));
        }
        Ok(OutDir {
            dir: dir.to_path_buf(),
            name_max: name_max(existing),
            reserved: reserved(dir, ledger_files),
        })
    }

    /// Why a video named `name` cannot be saved here, if it cannot.
    pub(super) fn problem(&self, name: &str) -> Option<String> {
        unsavable(name, self.name_max, &self.reserved).or_else(|| linked(&self.dir, name))
    }

    /// The error naming `problems` (`label: why`), of which `total` were found.
    pub(super) fn refusal(&self, problems: &[String], total: usize) -> Error {
        let more = total.saturating_sub(problems.len());
        Error::Config {
            message: format!(
                "{total} job{} cannot be saved in {}, and nothing was submitted:\n  {}{}",
                if total == 1 { "" } else { "s" },
                self.dir.display(),
                problems.join("\n  "),
                if more > 0 {
                    format!("\n  ... and {more} more")
                } else {
                    String::new()
                }
            ),
        }
    }
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
