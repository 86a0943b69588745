//! Files the library writes beside a user's outputs (partial downloads, their records, the
//! results file), opened without following symbolic links: a link planted at one of those
//! names must not make the library truncate or overwrite the file it points to.

use std::{
    fs::{File, OpenOptions},
    io::{self, Write},
    path::Path,
};

/// `O_NOFOLLOW` where the platform has it: opening a path whose last component is a symbolic
/// link fails (`ELOOP`) instead of opening the link's target.
fn no_follow(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options
}

/// Opens `path` for appending, creating it if missing, never through a symbolic link.
/// Returns the file and whether this call created it.
pub(crate) fn open_append(path: &Path) -> io::Result<(File, bool)> {
    // `create_new` (O_EXCL) never follows a link; the second open refuses one.
    match no_follow(OpenOptions::new().create_new(true).append(true)).open(path) {
        Ok(file) => Ok((file, true)),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            let file = no_follow(OpenOptions::new().append(true)).open(path)?;
            Ok((file, false))
        }
        Err(err) => Err(err),
    }
}

/// Replaces the contents of `path` with `bytes` (creating it), never through a symbolic link.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file =
        no_follow(OpenOptions::new().create(true).write(true).truncate(true)).open(path)?;
    file.write_all(bytes)
}

/// The contents of `path`, never through a symbolic link.
pub(crate) fn read(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = read_only(path)?;
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut file, &mut bytes)?;
    Ok(bytes)
}

/// Opens `path` to read, never through a symbolic link.
pub(crate) fn read_only(path: &Path) -> io::Result<File> {
    no_follow(OpenOptions::new().read(true)).open(path)
}

/// Whether `path` is itself a symbolic link (not followed).
pub(crate) fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink())
}

/// What an error from these functions means, when it is a refused link.
pub(crate) fn explain(path: &Path, err: &io::Error) -> String {
    #[cfg(unix)]
    if err.raw_os_error() == Some(libc::ELOOP) || is_symlink(path) {
        return format!(
            "{} is a symbolic link; refusing to write through it (remove it, or choose another output name)",
            path.display()
        );
    }
    format!("{}: {err}", path.display())
}
