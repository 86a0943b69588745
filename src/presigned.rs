//! Presigned URLs in a request: when each stops working, read from its query.
//!
//! A provider fetches a request's images after it creates the task, so an image URL that
//! stops working before then makes a task that fails (and may be billed). A batch holds a
//! job's body until its submit, sometimes for hours: [`expiring`] finds the URLs of a body
//! that will not last, so a submit that cannot succeed is not sent.
//!
//! ```
//! use chrono::{TimeDelta, Utc};
//! use happyhorse::presigned;
//!
//! let signed = (Utc::now() - TimeDelta::minutes(55)).format("%Y%m%dT%H%M%SZ");
//! let body = serde_json::json!({
//!     "model": "happyhorse-1.1-i2v",
//!     "input": {"image": format!(
//!         "https://bucket.s3.amazonaws.com/in/a.png?X-Amz-Date={signed}&X-Amz-Expires=3600&X-Amz-Signature=00"
//!     )}
//! });
//! // Signed 55 minutes ago for an hour: not good for 10 more minutes.
//! let soon = presigned::expiring(&body, Utc::now() + presigned::MIN_LEFT);
//! assert_eq!(soon.len(), 1);
//! // Shown without its query, which is a credential.
//! assert_eq!(soon[0].shown, "https://bucket.s3.amazonaws.com/in/a.png?…");
//! ```

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde_json::Value;

/// How long a presigned image URL must still work when its request is submitted: the
/// provider fetches the image once the task starts, which a queue at the provider can delay.
/// The providers' pages say nothing of when they fetch; a HappyHorse task takes about three
/// minutes, so ten leave room for a queue.
pub const MIN_LEFT: TimeDelta = TimeDelta::minutes(10);

/// When a presigned URL stops working, from its query: S3's and Google's (`X-Amz-Date` or
/// `X-Goog-Date` with `X-Amz-Expires` or `X-Goog-Expires`) and Azure's (`se`). `None` when
/// its query says nothing of the kind (an unsigned URL, or one signed another way).
pub fn expires_at(url: &str) -> Option<DateTime<Utc>> {
    let query = url.split_once('?')?.1;
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    let mut date = None;
    let mut seconds = None;
    for pair in query.split('&') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        match key {
            "X-Amz-Date" | "X-Goog-Date" => date = Some(value),
            "X-Amz-Expires" | "X-Goog-Expires" => seconds = value.parse::<i64>().ok(),
            "se" => {
                let text = value.replace("%3A", ":").replace("%3a", ":");
                return DateTime::parse_from_rfc3339(&text)
                    .ok()
                    .map(|at| at.to_utc());
            }
            _ => {}
        }
    }
    let signed = NaiveDateTime::parse_from_str(date?, "%Y%m%dT%H%M%SZ")
        .ok()?
        .and_utc();
    signed.checked_add_signed(TimeDelta::try_seconds(seconds?)?)
}

/// A presigned URL in a body that stops working too soon.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Expiring {
    /// The URL, whole: a credential until it expires (never in `Debug`).
    pub url: String,
    /// The URL without its query: what messages show.
    pub shown: String,
    /// When it stops working.
    pub at: DateTime<Utc>,
}

impl std::fmt::Debug for Expiring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expiring")
            .field("shown", &self.shown)
            .field("at", &self.at)
            .finish()
    }
}

/// Every presigned URL of `body` (at any depth) that stops working before `before`, in the
/// order they appear.
pub fn expiring(body: &Value, before: DateTime<Utc>) -> Vec<Expiring> {
    let mut found = Vec::new();
    walk(body, before, &mut found);
    found
}

fn walk(value: &Value, before: DateTime<Utc>, found: &mut Vec<Expiring>) {
    match value {
        Value::String(text) if text.contains("://") => {
            if let Some(at) = expires_at(text).filter(|at| *at < before) {
                found.push(Expiring {
                    url: text.clone(),
                    shown: crate::net::redacted(text),
                    at,
                });
            }
        }
        Value::Array(items) => items.iter().for_each(|item| walk(item, before, found)),
        Value::Object(map) => map.values().for_each(|item| walk(item, before, found)),
        _ => {}
    }
}

/// `body` with each string equal to a key of `urls` replaced by its value (a presigned URL
/// signed again); returns how many were replaced.
pub fn replace_urls(body: &mut Value, urls: &std::collections::HashMap<String, String>) -> usize {
    match body {
        Value::String(text) => match urls.get(text.as_str()) {
            Some(new) => {
                *text = new.clone();
                1
            }
            None => 0,
        },
        Value::Array(items) => items.iter_mut().map(|item| replace_urls(item, urls)).sum(),
        Value::Object(map) => map.values_mut().map(|item| replace_urls(item, urls)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_presigned_url_says_when_it_expires() {
        let s3 = "http://127.0.0.1:9000/b/k.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Date=20261203T120000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
        assert_eq!(
            expires_at(s3).map(|at| at.to_rfc3339()),
            Some("2026-12-04T12:00:00+00:00".to_owned())
        );
        let google = "https://storage.googleapis.com/b/k.png?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Date=20261203T120000Z&X-Goog-Expires=60&X-Goog-Signature=00";
        assert_eq!(
            expires_at(google).map(|at| at.to_rfc3339()),
            Some("2026-12-03T12:01:00+00:00".to_owned())
        );
        let azure = "https://a.blob.core.windows.net/c/k.png?sv=2021-08-06&se=2026-12-04T12%3A00%3A00Z&sig=x";
        assert_eq!(
            expires_at(azure).map(|at| at.to_rfc3339()),
            Some("2026-12-04T12:00:00+00:00".to_owned())
        );
        assert_eq!(expires_at("https://cdn.example.com/a.png"), None);
        assert_eq!(expires_at("https://cdn.example.com/a.png?v=2"), None);
        // Nonsense in the query is no date, and no overflow.
        assert_eq!(
            expires_at(
                "https://x/a.png?X-Amz-Date=20261203T120000Z&X-Amz-Expires=99999999999999999"
            ),
            None
        );
        assert_eq!(
            expires_at("https://x/a.png?X-Amz-Date=yesterday&X-Amz-Expires=60"),
            None
        );
    }

    #[test]
    fn a_body_names_the_urls_that_will_not_last() {
        let late = "https://s3.example/b/a.png?X-Amz-Date=20261203T120000Z&X-Amz-Expires=600&X-Amz-Signature=00";
        let fine = "https://s3.example/b/c.png?X-Amz-Date=20261203T120000Z&X-Amz-Expires=86400&X-Amz-Signature=00";
        let mut body = serde_json::json!({"input": {"prompt": "see https://x/y?z", "reference_image": [late, fine, "https://cdn/d.png"]}});
        let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        let found = expiring(&body, at("2026-12-03T13:00:00Z"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].url, late);
        assert_eq!(found[0].shown, "https://s3.example/b/a.png?…");
        assert_eq!(found[0].at, at("2026-12-03T12:10:00Z"));
        assert!(!format!("{found:?}").contains("Signature"));
        assert!(expiring(&body, at("2026-12-03T12:05:00Z")).is_empty());

        let urls = [(late.to_owned(), "https://s3.example/b/a.png?new".to_owned())].into();
        assert_eq!(replace_urls(&mut body, &urls), 1);
        assert_eq!(
            body["input"]["reference_image"][0],
            "https://s3.example/b/a.png?new"
        );
        assert_eq!(body["input"]["reference_image"][1], fine);
    }
}
