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
    /// A header is not in the provider's format: a timestamp that is not unix seconds in
    /// decimal digits (or lies beyond `u64`), a signature that is not 64 hex digits (after
    /// `sha256=` for Apiframe).
    #[error("{}", malformed(.0))]
    Malformed(&'static str),
    /// The HiAPI timestamp is further from now than [`HIAPI_TOLERANCE`]: a replay, or a clock
    /// that is off.
    #[error("{}, beyond the {HIAPI_TOLERANCE} s tolerance; check the receiver's clock or treat it as a replay", signed_when(*age_seconds))]
    Stale {
        /// Now minus the signed timestamp (negative when it is in the future), saturated at
        /// `i64::MIN` and `i64::MAX` for timestamps that far off.
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

/// [`SignatureError::Malformed`] in words: the header and what a well-formed value looks like.
fn malformed(header: &str) -> String {
    let want = match header {
        HIAPI_TIMESTAMP_HEADER => "want unix seconds in decimal digits, such as 1700000000",
        HIAPI_SIGNATURE_HEADER => "want 64 hex digits (an HMAC-SHA256)",
        APIFRAME_SIGNATURE_HEADER => "want sha256= and 64 hex digits (an HMAC-SHA256)",
        _ => "see the provider's signing documentation",
    };
    format!("the {header} header is malformed; {want}")
}

/// `age_seconds` in words, for [`SignatureError::Stale`]; never overflows.
fn signed_when(age_seconds: i64) -> String {
    let distance = age_seconds.unsigned_abs();
    if age_seconds < 0 {
        format!("the delivery is signed {distance} s in the future")
    } else {
        format!("the delivery was signed {distance} s ago")
    }
}

/// The length of an HMAC-SHA256, in bytes.
const MAC_LEN: usize = 32;

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Exactly 64 hex digits (either case) as the 32 bytes of an HMAC-SHA256; anything else
/// (another length, a sign, a non-ASCII byte) is `None`. Looks at no more than the length of
/// an over-long value.
fn unhex_mac(text: &str) -> Option<[u8; MAC_LEN]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * MAC_LEN {
        return None;
    }
    let mut mac = [0u8; MAC_LEN];
    for (byte, pair) in mac.iter_mut().zip(digits.chunks_exact(2)) {
        let [high, low] = pair else { return None };
        *byte = (nibble(*high)? << 4) | nibble(*low)?;
    }
    Some(mac)
}

/// A HiAPI timestamp: decimal digits only (no sign, no fraction, no exponent), within `u64`.
fn parse_timestamp(text: &str) -> Result<u64, SignatureError> {
    let malformed = SignatureError::Malformed(HIAPI_TIMESTAMP_HEADER);
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed);
    }
    text.parse().map_err(|_| malformed)
}

/// `now - sent` in seconds, saturated into `i64` (negative when `sent` is in the future).
fn age(now: u64, sent: u64) -> i64 {
    if now >= sent {
        i64::try_from(now - sent).unwrap_or(i64::MAX)
    } else {
        i64::try_from(sent - now).map_or(i64::MIN, |ahead| -ahead)
    }
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
/// `now` (unix seconds; either side of it), and the signature matching.
///
/// Any header values and any clocks give an answer, never a panic or a wrapped-around age: a
/// timestamp that is not decimal digits within `u64` (a sign, a fraction, garbage) and a
/// signature that is not 64 hex digits are [`SignatureError::Malformed`]; a timestamp beyond
/// the tolerance (up to `u64::MAX`, on either side of `now`) is [`SignatureError::Stale`].
pub fn verify_hiapi(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: u64,
) -> Result<(), SignatureError> {
    let timestamp = timestamp
        .ok_or(SignatureError::MissingHeader(HIAPI_TIMESTAMP_HEADER))?
        .trim();
    let signature = signature
        .ok_or(SignatureError::MissingHeader(HIAPI_SIGNATURE_HEADER))?
        .trim();
    let sent = parse_timestamp(timestamp)?;
    if now.abs_diff(sent) > HIAPI_TOLERANCE {
        return Err(SignatureError::Stale {
            age_seconds: age(now, sent),
        });
    }
    let expected = unhex_mac(signature).ok_or(SignatureError::Malformed(HIAPI_SIGNATURE_HEADER))?;
    hiapi_mac(secret, timestamp, body)
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
/// submitted with. A value that is not `sha256=` (any case) and 64 hex digits is
/// [`SignatureError::Malformed`].
pub fn verify_apiframe(
    api_key: &str,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    const PREFIX: &str = "sha256=";
    let signature = signature
        .ok_or(SignatureError::MissingHeader(APIFRAME_SIGNATURE_HEADER))?
        .trim();
    let expected = signature
        .get(..PREFIX.len())
        .filter(|prefix| prefix.eq_ignore_ascii_case(PREFIX))
        .and_then(|_| signature.get(PREFIX.len()..))
        .and_then(unhex_mac)
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

    const SECRET: &[u8] = b"whsec";
    const BODY: &[u8] = b"{\"taskId\":\"tk-1\",\"status\":\"success\"}";

    fn hiapi(timestamp: &str, signature: &str, now: u64) -> Result<(), SignatureError> {
        verify_hiapi(SECRET, Some(timestamp), Some(signature), BODY, now)
    }

    #[test]
    fn hiapi_timestamps_near_u64_max_are_stale_not_an_overflow() {
        let now = 1_700_000_000;
        let sig = hiapi_signature(SECRET, now, BODY);
        // 2^63 made `now as i64 - sent as i64` overflow (a panic in debug builds).
        for (sent, age_seconds) in [
            (1u64 << 63, -(((1u64 << 63) - now) as i64)),
            ((1u64 << 63) + now - 1, -i64::MAX),
            ((1u64 << 63) + now, i64::MIN),
            (u64::MAX - 1, i64::MIN),
            (u64::MAX, i64::MIN),
            (i64::MAX as u64, -((i64::MAX as u64 - now) as i64)),
        ] {
            assert_eq!(
                hiapi(&sent.to_string(), &sig, now),
                Err(SignatureError::Stale { age_seconds }),
                "{sent}"
            );
        }
        // A clock at u64::MAX against a timestamp at 0, and the other way round.
        assert_eq!(
            hiapi("0", &sig, u64::MAX),
            Err(SignatureError::Stale {
                age_seconds: i64::MAX
            })
        );
        assert_eq!(
            hiapi(&u64::MAX.to_string(), &sig, 0),
            Err(SignatureError::Stale {
                age_seconds: i64::MIN
            })
        );
        // At the very end of u64 a correct delivery still verifies.
        let at_max = hiapi_signature(SECRET, u64::MAX, BODY);
        assert_eq!(hiapi(&u64::MAX.to_string(), &at_max, u64::MAX), Ok(()));
        assert_eq!(
            hiapi(&u64::MAX.to_string(), &at_max, u64::MAX - HIAPI_TOLERANCE),
            Ok(())
        );
        assert_eq!(
            hiapi(
                &u64::MAX.to_string(),
                &at_max,
                u64::MAX - HIAPI_TOLERANCE - 1
            ),
            Err(SignatureError::Stale {
                age_seconds: -(HIAPI_TOLERANCE as i64) - 1
            })
        );
    }

    #[test]
    fn hiapi_timestamps_that_are_not_unix_seconds_are_malformed() {
        let now = 1_700_000_000;
        let sig = hiapi_signature(SECRET, now, BODY);
        for timestamp in [
            "",
            "   ",
            "-1",
            "-1700000000",
            "-9223372036854775808",
            "+1700000000",
            "1700000000.0",
            "1.7e9",
            "0x6553f100",
            "1700000000s",
            "1 700 000 000",
            "18446744073709551616",
            "99999999999999999999999999999999999999",
            "１７００００００００",
            "\u{0}",
            "NaN",
        ] {
            assert_eq!(
                hiapi(timestamp, &sig, now),
                Err(SignatureError::Malformed(HIAPI_TIMESTAMP_HEADER)),
                "{timestamp:?}"
            );
        }
        // Surrounding whitespace is not part of the value; leading zeros are digits.
        assert_eq!(hiapi(" 1700000000 ", &sig, now), Ok(()));
        assert_eq!(
            hiapi("01700000000", &sig, now),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn hiapi_accepts_a_clock_behind_the_sender_within_the_tolerance_only() {
        let sent = 1_700_000_000;
        let sig = hiapi_signature(SECRET, sent, BODY);
        let ts = sent.to_string();
        assert_eq!(hiapi(&ts, &sig, sent - HIAPI_TOLERANCE), Ok(()));
        assert_eq!(
            hiapi(&ts, &sig, sent - HIAPI_TOLERANCE - 1),
            Err(SignatureError::Stale { age_seconds: -301 })
        );
        assert_eq!(
            hiapi(&ts, &sig, 0),
            Err(SignatureError::Stale {
                age_seconds: -1_700_000_000
            })
        );
        assert_eq!(hiapi(&ts, &sig, sent + HIAPI_TOLERANCE), Ok(()));
    }

    #[test]
    fn signatures_of_any_length_or_encoding_are_malformed_or_mismatched() {
        let now = 1_700_000_000;
        let ts = now.to_string();
        let sig = hiapi_signature(SECRET, now, BODY);
        let malformed = Err(SignatureError::Malformed(HIAPI_SIGNATURE_HEADER));
        let long = "a".repeat(1 << 20);
        let plus_pairs = "+f".repeat(32);
        let non_ascii = "é".repeat(32); // 64 bytes, not hex
        let prefixed = format!("sha256={sig}");
        for signature in [
            "",
            " ",
            "zz",
            &sig[..63],
            &format!("{sig}0"),
            &format!("{sig}{sig}"),
            &long,
            &plus_pairs,
            &non_ascii,
            &prefixed,
            &format!("g{}", &sig[1..]),
        ] {
            let shown: String = signature.chars().take(80).collect();
            assert_eq!(hiapi(&ts, signature, now), malformed, "{shown:?}");
        }
        // The right MAC in upper case, or with whitespace around it, is the right MAC.
        assert_eq!(hiapi(&ts, &sig.to_uppercase(), now), Ok(()));
        assert_eq!(hiapi(&ts, &format!("\t{sig} "), now), Ok(()));
        // Well-formed but wrong: a mismatch.
        assert_eq!(
            hiapi(&ts, &"0".repeat(64), now),
            Err(SignatureError::Mismatch)
        );

        let af = apiframe_signature("afk_test", BODY);
        let verify = |sig: &str| verify_apiframe("afk_test", Some(sig), BODY);
        assert_eq!(verify(&af), Ok(()));
        assert_eq!(verify(&af.replacen("sha256", "SHA256", 1)), Ok(()));
        let malformed = Err(SignatureError::Malformed(APIFRAME_SIGNATURE_HEADER));
        for signature in [
            "",
            "sha256=",
            "sha256",
            "sha256:",
            "é",
            "shä256=00",
            &af[..af.len() - 1],
            &format!("{af}0"),
            &format!("sha1={}", &af[7..]),
            &format!("sha256={long}"),
            &format!("sha256={plus_pairs}"),
            &format!("sha256={non_ascii}"),
        ] {
            let shown: String = signature.chars().take(80).collect();
            assert_eq!(verify(signature), malformed, "{shown:?}");
        }
        assert_eq!(
            verify(&format!("sha256={}", "f".repeat(64))),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn signature_errors_read_clearly_at_the_extremes() {
        let future = SignatureError::Stale {
            age_seconds: i64::MIN,
        }
        .to_string();
        assert!(
            future.contains("9223372036854775808 s in the future"),
            "{future}"
        );
        let past = SignatureError::Stale {
            age_seconds: i64::MAX,
        }
        .to_string();
        assert!(past.contains("9223372036854775807 s ago"), "{past}");
        assert!(past.contains("300 s tolerance"), "{past}");
        let malformed = SignatureError::Malformed(HIAPI_TIMESTAMP_HEADER).to_string();
        assert!(malformed.contains("unix seconds"), "{malformed}");
        let malformed = SignatureError::Malformed(APIFRAME_SIGNATURE_HEADER).to_string();
        assert!(malformed.contains("sha256="), "{malformed}");
    }
}
