//! A real S3-compatible server for the tests: `s3s-fs` (crates.io; `.ci/run` installs it),
//! which checks every request's SigV4 signature against one key pair, on a loopback port, over
//! a temporary directory. Missing, the tests that need it say SKIPPED, unless
//! `HAPPYHORSE_REQUIRE_S3=1` (set by CI), which makes that a failure.

use std::{
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The key pair the server takes.
pub const ACCESS_KEY: &str = "hh-test-access";
/// Its secret.
pub const SECRET_KEY: &str = "hh-test-secret-never-shown";
/// The bucket made at start.
pub const BUCKET: &str = "videos";

fn find_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HAPPYHORSE_S3S_FS") {
        return Some(PathBuf::from(path));
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join("s3s-fs"))
        .find(|p| p.is_file())
}

/// A running server; stopped (killed) and its directory removed when dropped.
pub struct S3Server {
    child: Child,
    root: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl S3Server {
    /// Starts one, or says SKIPPED and returns `None` where `s3s-fs` is not installed.
    pub fn start() -> Option<S3Server> {
        let Some(bin) = find_bin() else {
            let why = "s3s-fs not found: `cargo install s3s-fs@0.14.1 --features binary --locked` (or set HAPPYHORSE_REQUIRE_S3=1 to make this a failure)";
            assert!(std::env::var_os("HAPPYHORSE_REQUIRE_S3").is_none(), "{why}");
            super::say_skipped(why);
            return None;
        };
        let root = tempfile::tempdir().expect("a directory for the store");
        std::fs::create_dir(root.path().join(BUCKET)).expect("the bucket");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs starts");
        let server = S3Server {
            child,
            root,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "s3s-fs did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    /// The store's directory (objects are files under `ROOT/BUCKET/`).
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The settings of a client of this server, with `secret` as its secret key.
    pub fn options<'a>(&'a self, secret: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("aws_endpoint", self.endpoint.as_str()),
            ("aws_access_key_id", ACCESS_KEY),
            ("aws_secret_access_key", secret),
            ("aws_region", "us-east-1"),
            ("aws_allow_http", "true"),
        ]
    }

    /// Multipart uploads the server still holds (begun, neither completed nor aborted).
    pub fn open_uploads(&self) -> Vec<String> {
        std::fs::read_dir(self.root.path())
            .expect("the store's directory")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.starts_with(".upload"))
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A second S3-compatible server, moto's (PyPI `moto[server]`; `.ci/run` installs it), for
/// what s3s-fs does not implement: ListMultipartUploads (how a run finds the uploads a crash
/// left before their ids were recorded) and versioned buckets. moto does not check
/// signatures: the signing tests use s3s-fs. Missing, the tests that need it say SKIPPED,
/// unless `HAPPYHORSE_REQUIRE_S3=1`.
pub struct MotoServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    port: u16,
}

impl MotoServer {
    /// Starts one with the bucket [`BUCKET`] (versioned when `versioned`), or says SKIPPED.
    pub fn start(versioned: bool) -> Option<MotoServer> {
        let python = std::env::var("HAPPYHORSE_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let has_moto = Command::new(&python)
            .args(["-c", "import moto.server, flask"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !has_moto {
            let why = "moto's server not found: `pip install 'moto[server]'` (or set HAPPYHORSE_REQUIRE_S3=1 to make this a failure)";
            assert!(std::env::var_os("HAPPYHORSE_REQUIRE_S3").is_none(), "{why}");
            super::say_skipped(why);
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto starts");
        let server = MotoServer {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not listen within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        server.request("PUT", &format!("/{BUCKET}"), "");
        if versioned {
            server.request(
                "PUT",
                &format!("/{BUCKET}?versioning"),
                "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>",
            );
        }
        Some(server)
    }

    /// An unsigned request (moto takes any), answered 200, its body returned.
    fn request(&self, method: &str, target: &str, body: &str) -> String {
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("moto answers");
        write!(
            stream,
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .expect("a request to moto");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("moto's answer");
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "{method} {target}: {answer}"
        );
        answer
    }

    /// The keys of the multipart uploads the server holds open, one per upload.
    pub fn open_uploads(&self) -> Vec<String> {
        let listing = self.request("GET", &format!("/{BUCKET}?uploads"), "");
        listing
            .split("<Upload>")
            .skip(1)
            .filter_map(|upload| {
                let (_, rest) = upload.split_once("<Key>")?;
                Some(rest.split_once("</Key>")?.0.to_owned())
            })
            .collect()
    }

    /// How many versions of objects under `prefix` the (versioned) bucket holds.
    pub fn versions(&self, prefix: &str) -> usize {
        self.request("GET", &format!("/{BUCKET}?versions&prefix={prefix}"), "")
            .matches("<Version>")
            .count()
    }

    /// The settings of a client of this server.
    pub fn options(&self) -> Vec<(&str, &str)> {
        vec![
            ("aws_endpoint", self.endpoint.as_str()),
            ("aws_access_key_id", ACCESS_KEY),
            ("aws_secret_access_key", SECRET_KEY),
            ("aws_region", "us-east-1"),
            ("aws_allow_http", "true"),
        ]
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
