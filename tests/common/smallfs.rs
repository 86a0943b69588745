//! A small real file system that a test fills up: a tmpfs mounted on a temporary directory
//! (root only, as CI runs), filled to the last byte by a filler file and emptied again.
//!
//! Without the right to mount, [`SmallFs::mount`] returns `None` and the test says it skipped
//! (on stderr and in its name's output) — unless `HAPPYHORSE_REQUIRE_FAULTS=1` (set by CI), which
//! makes that a failure.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    process::Command,
};

/// A mounted tmpfs, unmounted (and its directory removed) on drop.
pub struct SmallFs {
    dir: tempfile::TempDir,
    filler: PathBuf,
}

impl SmallFs {
    /// A tmpfs of `megabytes` MiB, or `None` where this process cannot mount one.
    pub fn mount(megabytes: u32) -> Option<SmallFs> {
        let required = std::env::var("HAPPYHORSE_REQUIRE_FAULTS").is_ok_and(|v| v == "1");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={megabytes}m,mode=0755"))
            .arg("tmpfs")
            .arg(dir.path())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(SmallFs {
                filler: dir.path().join("filler"),
                dir,
            }),
            other => {
                let why = match other {
                    Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
                    Err(err) => err.to_string(),
                };
                assert!(
                    !required,
                    "HAPPYHORSE_REQUIRE_FAULTS=1 but a tmpfs cannot be mounted: {why}"
                );
                super::say_skipped(&format!(
                    "a full disk needs a tmpfs, and mounting one failed ({}); run the tests as root (or set HAPPYHORSE_REQUIRE_FAULTS=1 to make this a failure)",
                    why.split_whitespace().collect::<Vec<_>>().join(" ")
                ));
                None
            }
        }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills every free byte (a file of whole blocks, then single bytes until the file system
    /// refuses one more).
    pub fn fill(&self) {
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.filler)
            .expect("the filler opens");
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let mut small = vec![0u8; 4096];
        while !small.is_empty() {
            if file.write_all(&small).is_err() {
                small.truncate(small.len() / 2);
            }
        }
        let _ = file.sync_all();
        let probe = fs::write(self.path().join(".probe"), b"x");
        assert!(probe.is_err(), "the file system still takes writes");
    }

    /// Makes the file system read-only (as root is refused writes too: permission bits are
    /// not enough).
    pub fn read_only(&self) {
        let status = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(self.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "remount read-only");
    }

    /// Gives the space back.
    pub fn free(&self) {
        fs::remove_file(&self.filler).expect("the filler is removed");
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
