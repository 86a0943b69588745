//! The `happyhorse` binary as a child process: a command with nothing from the outer
//! environment that could configure it, a handle that collects its output and kills it
//! (SIGKILL) when dropped, even on a panic, and `serve` started on a free loopback port.

use std::{
    io::Read,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use happyhorse::Provider;

/// The binary with `args`, no provider keys, base URLs, `HAPPYHORSE_*` settings, webhook
/// secret or `RUST_LOG` from the outer environment, and `env`.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_happyhorse"));
    command.args(args);
    for provider in Provider::ALL {
        command.env_remove(provider.api_key_env());
        command.env_remove(provider.base_url_env());
    }
    for name in [
        "HAPPYHORSE_PROVIDER",
        "HAPPYHORSE_LEDGER",
        "HAPPYHORSE_CALLBACK_URL",
        "HIAPI_WEBHOOK_SECRET",
        "RUST_LOG",
    ] {
        command.env_remove(name);
    }
    // `serve`'s limits, which a developer's shell may export.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HAPPYHORSE_SERVE_") {
            command.env_remove(&name);
        }
    }
    command.envs(env.iter().copied());
    command.stdin(Stdio::null());
    command
}

/// Owned pairs as [`command`] takes them.
pub fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// How a child ended.
pub struct Exit {
    /// Its exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    /// All it wrote to stdout.
    pub stdout: String,
    /// All it wrote to stderr.
    pub stderr: String,
}

/// A running child, its stdout and stderr collected as they come.
pub struct Running {
    pub child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

fn collect(mut pipe: impl Read + Send + 'static, sink: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut chunk) {
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    })
}

impl Running {
    pub fn spawn(mut command: Command) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let readers = vec![
            collect(
                child.stdout.take().expect("a stdout pipe"),
                Arc::clone(&stdout),
            ),
            collect(
                child.stderr.take().expect("a stderr pipe"),
                Arc::clone(&stderr),
            ),
        ];
        Running {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Waits for the exit, failing the test after `patience` (never an assertion of speed).
    pub fn exit(mut self, patience: Duration) -> Exit {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                started.elapsed() < patience,
                "still running after {patience:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        // The pipes close with the process: the readers have everything once they end.
        for reader in self.readers.drain(..) {
            reader.join().expect("a pipe reader");
        }
        Exit {
            code: status.code(),
            stdout: String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned(),
            stderr: self.stderr(),
        }
    }

    /// Stops it as Ctrl-C would (SIGINT, to this child only) and waits for it.
    pub fn interrupt(self, patience: Duration) -> Exit {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGINT could not be sent");
        self.exit(patience)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `happyhorse -v serve` on a free loopback port (`--addr 127.0.0.1:0`: the OS picks it) over
/// `ledger`, with `env`; returns it once it says it is receiving, and its base URL.
pub fn serve(ledger: &str, env: &[(&str, &str)], patience: Duration) -> (Running, String) {
    let mut running = Running::spawn(command(
        &["-v", "serve", "--addr", "127.0.0.1:0", "--ledger", ledger],
        env,
    ));
    let started = Instant::now();
    loop {
        let text = running.stderr();
        if let Some(at) = text.find("receiving on http://") {
            let rest = &text[at + "receiving on ".len()..];
            let url = rest.split_whitespace().next().expect("a URL").to_owned();
            return (running, url);
        }
        if let Ok(Some(status)) = running.child.try_wait() {
            // Let the readers drain what it wrote before it ended.
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "serve ended ({status}) before it was receiving: {}",
                running.stderr()
            );
        }
        assert!(
            started.elapsed() < patience,
            "serve did not start within {patience:?}: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A free loopback address for a child to listen on (`127.0.0.1:PORT`).
pub fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    format!("127.0.0.1:{port}")
}

/// Waits until something listens on `addr` (a child just started), at most 20 s.
pub fn wait_listening(addr: &str, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not listen on {addr} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
