//! A throwaway PostgreSQL cluster for the tests that need a real one: initdb in a temporary
//! directory, a Unix socket only (no TCP port), as `nobody` when run as root; stopped and
//! removed on drop. Without PostgreSQL's programs, [`Cluster::start`] says why and returns
//! `None`, unless `HAPPYHORSE_REQUIRE_POSTGRES=1` (set by CI), which makes that a failure.

use std::{path::PathBuf, process::Command};

/// A PostgreSQL cluster in a temporary directory, stopped and removed on drop.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    as_nobody: bool,
    port: u16,
}

fn find_bin() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("/usr/local/bin")];
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev());
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
}

impl Cluster {
    pub fn start() -> Option<Cluster> {
        Cluster::start_with(None)
    }

    /// A cluster that also listens on TCP at IPv6 loopback (`[::1]`), on a free port.
    pub fn start_on_ipv6_loopback() -> Option<Cluster> {
        Cluster::start_with(Some("::1"))
    }

    fn start_with(listen: Option<&str>) -> Option<Cluster> {
        let Some(bin) = find_bin() else {
            if std::env::var("HAPPYHORSE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("PostgreSQL's initdb and pg_ctl were not found, and HAPPYHORSE_REQUIRE_POSTGRES=1");
            }
            // Straight to stderr, past the test runner's capture, so the skip shows beside
            // the test's `ok` (this file is also a bench's module: no shared helper).
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"SKIPPED (the test passes without it): PostgreSQL's initdb/pg_ctl not found: install Debian's `postgresql` (or set HAPPYHORSE_REQUIRE_POSTGRES=1 to make this a failure)\n",
            );
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("hh-pg-")
            .tempdir()
            .expect("tempdir")
            .keep();
        let as_nobody = is_root();
        if as_nobody {
            let ok = Command::new("chown")
                .arg("nobody")
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown the cluster directory to nobody");
        }
        let port = match listen {
            // A port the kernel says is free now (the cluster takes it a moment later).
            Some(addr) => std::net::TcpListener::bind((addr, 0))
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free port"),
            None => 20000 + (std::process::id() % 20000) as u16,
        };
        let cluster = Cluster {
            dir,
            bin,
            as_nobody,
            port,
        };
        let data = cluster.dir.join("data");
        cluster.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "hh",
                "--no-sync",
            ],
        );
        let options = format!(
            "-k {} -c listen_addresses='{}' -p {} -c fsync=off",
            cluster.dir.display(),
            listen.unwrap_or_default(),
            port
        );
        let log = cluster.dir.join("log");
        cluster.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        Some(cluster)
    }

    /// One of PostgreSQL's programs, run as `nobody` when this process is root.
    fn program(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_nobody {
            let mut command = Command::new("runuser");
            command.args(["-u", "nobody", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .program(program)
            .args(args)
            .output()
            .expect("run a PostgreSQL program");
        assert!(
            output.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// A URL for a fresh database named `name`.
    pub async fn database(&self, name: &str) -> String {
        self.sql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(name)
    }

    /// Runs `statement` in database `db` as the cluster's superuser.
    pub fn sql(&self, db: &str, statement: &str) {
        let output = Command::new("psql")
            .arg(format!(
                "host={} port={} user=hh dbname={db}",
                self.dir.display(),
                self.port
            ))
            .args(["-v", "ON_ERROR_STOP=1", "-c", statement])
            .output()
            .expect("psql");
        assert!(
            output.status.success(),
            "{statement}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Runs the SQL file at `path` (a `pg_dump`) in database `db`.
    pub fn load(&self, db: &str, path: &std::path::Path) {
        let output = Command::new("psql")
            .arg(format!(
                "host={} port={} user=hh dbname={db}",
                self.dir.display(),
                self.port
            ))
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-f"])
            .arg(path)
            .output()
            .expect("psql");
        assert!(
            output.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Makes database `db` refuse every write: new sessions start read-only, and the open ones
    /// (a pool's) are ended, so the next statement of each reconnects into a read-only one.
    pub fn refuse_writes(&self, db: &str) {
        self.sql(
            "postgres",
            &format!("ALTER DATABASE {db} SET default_transaction_read_only = on"),
        );
        self.end_sessions(db);
    }

    /// Lets database `db` take writes again (ending the read-only sessions).
    pub fn allow_writes(&self, db: &str) {
        self.sql(
            "postgres",
            &format!("ALTER DATABASE {db} SET default_transaction_read_only = off"),
        );
        self.end_sessions(db);
    }

    fn end_sessions(&self, db: &str) {
        self.sql(
            "postgres",
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{db}' AND pid <> pg_backend_pid()"
            ),
        );
    }

    /// A URL reaching database `db` over TCP at `[::1]` (a cluster from
    /// [`Cluster::start_on_ipv6_loopback`]).
    pub fn ipv6_url(&self, db: &str) -> String {
        format!("postgres://hh@[::1]:{}/{db}", self.port)
    }

    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://hh@localhost/{db}?host={}&port={}",
            self.dir.display(),
            self.port
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self
            .program("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
