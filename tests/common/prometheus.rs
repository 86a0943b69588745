//! Prometheus text checked by a real parser: the official Python client's
//! (`prometheus_client`; `.ci/run` installs it).

use std::{
    io::Write,
    process::{Command, Stdio},
};

use super::say_skipped;

/// The text parsed by `prometheus_client`'s parser: the families it found, or the test fails
/// on a parse error. `None` (a SKIPPED line) when Python or the package is missing, unless
/// `HAPPYHORSE_REQUIRE_PROMETHEUS_PARSER=1`.
pub fn parsed_by_prometheus_client(text: &str) -> Option<Vec<String>> {
    const SCRIPT: &str = r#"
import sys
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit(3)
for family in text_string_to_metric_families(sys.stdin.read()):
    print(family.name, family.type, len(family.samples))
"#;
    let required = std::env::var("HAPPYHORSE_REQUIRE_PROMETHEUS_PARSER").as_deref() == Ok("1");
    let child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(err) => {
            assert!(!required, "python3 cannot start: {err}");
            say_skipped(&format!(
                "python3 cannot start ({err}): the scrape is not parsed by prometheus_client"
            ));
            return None;
        }
    };
    child
        .stdin
        .take()
        .expect("a stdin pipe")
        .write_all(text.as_bytes())
        .expect("the text goes to python");
    let out = child.wait_with_output().expect("python ends");
    if out.status.code() == Some(3) {
        assert!(
            !required,
            "prometheus_client is not installed (python3 -m pip install prometheus-client)"
        );
        say_skipped("Python's prometheus_client is not installed (python3 -m pip install prometheus-client): the scrape is not parsed by it");
        return None;
    }
    assert!(
        out.status.success(),
        "prometheus_client refused the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}
