//! Callback and webhook signatures, computed and checked the way each provider signs them.
//!
//! - HiAPI (when a signing secret is set in its console): `X-HiAPI-Timestamp` (unix seconds)
//!   and `X-HiAPI-Signature` = hex(HMAC-SHA256(secret, timestamp + "." + raw body)), valid
//!   for [`HIAPI_TOLERANCE`].
//! - Apiframe: `X-Webhook-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body keyed by
//!   the 32 raw bytes of SHA-256(API key). Nothing time-bound is signed, so a receiver must
//!   deduplicate deliveries itself (by job id and status).
//!
//! Verify against the raw bytes you received, before parsing them: re-serialised JSON does not
//! hash the same. Comparisons run in constant time.
//!
//! ```
//! use happyhorse::webhook;
//!
//! let body = br#"{"taskId":"tk-1","status":"success"}"#;
//! let signature = webhook::hiapi_signature(b"whsec", 1_700_000_000, body);
//! let checked = webhook::verify_hiapi(
//!     b"whsec",
//!     Some("1700000000"),
//!     Some(signature.as_str()),
//!     body,
//!     1_700_000_010,
//! );
//! assert_eq!(checked, Ok(()));
//! ```

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// HiAPI's timestamp header.
pub const HIAPI_TIMESTAMP_HEADER: &str = "x-hiapi-timestamp";
/// HiAPI's signature header.
pub const HIAPI_SIGNATURE_HEADER: &str = "x-hiapi-signature";
/// Apiframe's signature header.
pub const APIFRAME_SIGNATURE_HEADER: &str = "x-webhook-signature";
/// How far a HiAPI timestamp may be from the receiver's clock, in seconds (provider facts).
pub const HIAPI_TOLERANCE: u64 = 300;

/// Why a delivery's signature was not accepted. Answer such a delivery with a 4xx; do not act
/// on its body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// A signature header is absent: the sender did not sign, or signing is off at the
    /// provider (HiAPI signs only once a secret is set in its console).
    #[error("the delivery has no {0} header; check that signing is enabled at the provider")]
    MissingHeader(&'static str),
    /// A header is not in the provider's format.
    #[error("the {0} header is malformed")]
    Malformed(&'static str),
    /// The HiAPI timestamp is further from now than [`HIAPI_TOLERANCE`]: a replay, or a clock
    /// that is off.
    #[error("the delivery is {age_seconds} s from now, beyond the {HIAPI_TOLERANCE} s tolerance; check the receiver's clock or treat it as a replay")]
    Stale {
        /// Now minus the signed timestamp (negative when it is in the future).
        age_seconds: i64,
    },
    /// The signature does not match the body: the wrong secret or key, or a body that was
    /// altered (or re-serialised) on the way.
    #[error("the signature does not match the body; check the secret (or API key) and verify the raw bytes as received")]
    Mismatch,
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    match <HmacSha256 as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

fn hiapi_mac(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = mac(secret);
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-HiAPI-Signature` value for `body` sent at `timestamp` (unix seconds).
pub fn hiapi_signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    hex(&hiapi_mac(secret, &timestamp.to_string(), body)
        .finalize()
        .into_bytes())
}

/// Checks a HiAPI delivery: both headers present, the timestamp within [`HIAPI_TOLERANCE`] of
/// `now` (unix seconds), and the signature matching.
pub fn verify_hiapi(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: u64,
) -> Result<(), SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::MissingHeader(HIAPI_TIMESTAMP_HEADER))?;
    let signature = signature.ok_or(SignatureError::MissingHeader(HIAPI_SIGNATURE_HEADER))?;
    let sent: u64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed(HIAPI_TIMESTAMP_HEADER))?;
    let age_seconds = now as i64 - sent as i64;
    if age_seconds.unsigned_abs() > HIAPI_TOLERANCE {
        return Err(SignatureError::Stale { age_seconds });
    }
    let expected =
        unhex(signature.trim()).ok_or(SignatureError::Malformed(HIAPI_SIGNATURE_HEADER))?;
    hiapi_mac(secret, timestamp.trim(), body)
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// The raw SHA-256 of an Apiframe API key: the key Apiframe signs webhooks with.
pub(crate) fn apiframe_key_hash(api_key: &str) -> [u8; 32] {
    Sha256::digest(api_key.as_bytes()).into()
}

fn apiframe_mac(key_hash: &[u8; 32], body: &[u8]) -> HmacSha256 {
    let mut mac = mac(key_hash);
    mac.update(body);
    mac
}

/// The `X-Webhook-Signature` value from the SHA-256 of the API key (so a sender need not keep
/// the key itself).
pub(crate) fn apiframe_signature_keyed(key_hash: &[u8; 32], body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex(&apiframe_mac(key_hash, body).finalize().into_bytes())
    )
}

/// The `X-Webhook-Signature` value (`sha256=<hex>`) Apiframe sends with `body` for jobs
/// submitted with `api_key`.
pub fn apiframe_signature(api_key: &str, body: &[u8]) -> String {
    apiframe_signature_keyed(&apiframe_key_hash(api_key), body)
}

/// Checks an Apiframe delivery's `X-Webhook-Signature` against the API key the job was
/// submitted with.
pub fn verify_apiframe(
    api_key: &str,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::MissingHeader(APIFRAME_SIGNATURE_HEADER))?;
    let expected = signature
        .trim()
        .strip_prefix("sha256=")
        .and_then(unhex)
        .ok_or(SignatureError::Malformed(APIFRAME_SIGNATURE_HEADER))?;
    apiframe_mac(&apiframe_key_hash(api_key), body)
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    // HMAC-SHA256 test case 2 of RFC 4231: key "Jefe", data "what do ya want for nothing?".
    #[test]
    fn hmac_matches_rfc_4231() {
        let mut mac = mac(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hiapi_signs_timestamp_dot_body() {
        let mut mac = mac(b"s3cret");
        mac.update(b"1700000000.{}");
        let expected = hex(&mac.finalize().into_bytes());
        assert_eq!(hiapi_signature(b"s3cret", 1_700_000_000, b"{}"), expected);
    }

    #[test]
    fn hiapi_verification_refuses_what_it_should() {
        let body = b"{\"taskId\":\"tk-1\"}";
        let sig = hiapi_signature(b"k", 1000, body);
        let verify = |ts: Option<&str>, sig: Option<&str>, body: &[u8], now| {
            verify_hiapi(b"k", ts, sig, body, now)
        };
        assert_eq!(verify(Some("1000"), Some(&sig), body, 1300), Ok(()));
        assert_eq!(
            verify(Some("1000"), Some(&sig), body, 1301),
            Err(SignatureError::Stale { age_seconds: 301 })
        );
        assert_eq!(
            verify(Some("1000"), Some(&sig), b"{}", 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some("1001"), Some(&sig), body, 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(None, Some(&sig), body, 1000),
            Err(SignatureError::MissingHeader(HIAPI_TIMESTAMP_HEADER))
        );
        assert_eq!(
            verify(Some("soon"), Some(&sig), body, 1000),
            Err(SignatureError::Malformed(HIAPI_TIMESTAMP_HEADER))
        );
        assert_eq!(
            verify(Some("1000"), Some("zz"), body, 1000),
            Err(SignatureError::Malformed(HIAPI_SIGNATURE_HEADER))
        );
    }

    #[test]
    fn apiframe_keys_the_mac_with_the_sha256_of_the_api_key() {
        let body = b"{\"id\":\"j\"}";
        let mut mac = mac(&Sha256::digest(b"afk_test"));
        mac.update(body);
        let expected = format!("sha256={}", hex(&mac.finalize().into_bytes()));
        assert_eq!(apiframe_signature("afk_test", body), expected);
        assert_eq!(verify_apiframe("afk_test", Some(&expected), body), Ok(()));
        assert_eq!(
            verify_apiframe("afk_other", Some(&expected), body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_apiframe(
                "afk_test",
                Some(expected.trim_start_matches("sha256=")),
                body
            ),
            Err(SignatureError::Malformed(APIFRAME_SIGNATURE_HEADER))
        );
    }
}
