//! Address rules shared by the client (plain HTTP only to loopback) and the sandbox (callbacks
//! delivered only to loopback).

use std::net::IpAddr;

/// Whether `url`'s host is `localhost` or a loopback address (127.0.0.0/8, `[::1]`).
pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `url` without its query string and fragment, and without any `user:password@`: what may
/// appear in logs and errors. A signed output URL's query grants access until it expires.
pub(crate) fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            let had_query = parsed.query().is_some();
            parsed.set_query(None);
            parsed.set_fragment(None);
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            let mut text = parsed.to_string();
            if had_query {
                text.push_str("?…");
            }
            text
        }
        Err(_) => "<not a URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        let loopback = |text: &str| is_loopback(&reqwest::Url::parse(text).unwrap());
        assert!(loopback("http://127.0.0.1:8787/v1"));
        assert!(loopback("http://127.9.8.7/"));
        assert!(loopback("http://LOCALHOST/"));
        assert!(loopback("http://[::1]:80/"));
        assert!(!loopback("http://127.0.0.1.example.com/"));
        assert!(!loopback("http://10.0.0.1/"));
        assert!(!loopback("http://[::2]/"));
    }

    #[test]
    fn redaction_drops_queries_and_credentials() {
        assert_eq!(
            redacted("https://cdn.example.com/v/1.mp4?X-Amz-Signature=abc&X-Amz-Expires=60"),
            "https://cdn.example.com/v/1.mp4?…"
        );
        assert_eq!(
            redacted("https://user:secret@host.example/v1"),
            "https://host.example/v1"
        );
        assert_eq!(redacted("no url at all"), "<not a URL>");
    }
}
