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

/// `text` (a message, a provider's error) with the query and fragment of every `http://` or
/// `https://` URL in it cut off: what the ledger stores and pages show of an error, since a
/// provider may quote a presigned URL it could not fetch.
#[cfg(feature = "ledger")]
pub(crate) fn redacted_text(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("://") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_url(rest) {
        let (before, url) = rest.split_at(at);
        out.push_str(before);
        let end = url
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(url.len());
        // Punctuation that ends a sentence is the message's, not the URL's.
        let end = url[..end]
            .trim_end_matches(['.', ',', ';', ':', ')', ']'])
            .len();
        let (url, after) = url.split_at(end);
        match url.find(['?', '#']) {
            Some(cut) => {
                out.push_str(&url[..cut]);
                out.push_str("?…");
            }
            None => out.push_str(url),
        }
        rest = after;
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Where the first `http://` or `https://` (any case) in `text` begins.
#[cfg(feature = "ledger")]
fn find_url(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    [lower.find("https://"), lower.find("http://")]
        .into_iter()
        .flatten()
        .min()
}

/// `body` with every URL in it [`redacted`] (a callback's token, a presigned image URL): what a
/// wire body may show in `Debug`, pages and messages. Strings that are not a URL as a whole
/// (a prompt that mentions one) are kept.
pub(crate) fn redacted_json(body: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match body {
        Value::String(text) if text.contains("://") && reqwest::Url::parse(text).is_ok() => {
            Value::String(redacted(text))
        }
        Value::Array(items) => items.iter().map(redacted_json).collect(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), redacted_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        other => other.clone(),
    }
}

/// Shows a wire body in `Debug` as [`redacted_json`] does.
pub(crate) struct RedactedJson<'a>(pub &'a serde_json::Value);

impl std::fmt::Debug for RedactedJson<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", redacted_json(self.0))
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
    fn bodies_show_their_urls_without_queries_and_keep_prompts() {
        let body = serde_json::json!({
            "prompt": "a horse, see https://example.com/ref?x=1 for the look",
            "images": ["https://bucket.example/in/a.png?X-Amz-Signature=s3cr3t"],
            "callback_url": "https://hooks.example/hh?token=t0k3n",
            "duration": 5
        });
        let shown = redacted_json(&body);
        assert_eq!(shown["prompt"], body["prompt"]);
        assert_eq!(shown["images"][0], "https://bucket.example/in/a.png?…");
        assert_eq!(shown["callback_url"], "https://hooks.example/hh?…");
        assert_eq!(shown["duration"], 5);
        let debug = format!("{:?}", RedactedJson(&body));
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("t0k3n"),
            "{debug}"
        );
    }

    #[cfg(feature = "ledger")]
    #[test]
    fn messages_show_their_urls_without_queries() {
        assert_eq!(
            redacted_text("cannot fetch HTTPS://s3.example/b/a.png?X-Amz-Signature=s3cr3t: 403"),
            "cannot fetch HTTPS://s3.example/b/a.png?…: 403"
        );
        assert_eq!(
            redacted_text(
                "images \"http://a/x.png?sig=1\" and http://b/y.png#t=2 and https://c/z.png"
            ),
            "images \"http://a/x.png?…\" and http://b/y.png?… and https://c/z.png"
        );
        assert_eq!(
            redacted_text("no URL here: 50% off?"),
            "no URL here: 50% off?"
        );
        assert_eq!(redacted_text("ends with http://"), "ends with http://");
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
