//! What the sandbox mints with a secret of its own: task ids unique across sandboxes (and
//! processes, and restarts), signed output URLs, and the owner a key's tasks belong to.
//!
//! Each sandbox draws a 256-bit secret from the operating system's random source when it
//! starts (through *ring*, the crate's crypto provider). From it:
//!
//! - **Task ids** are an HMAC of the task's sequence number: random-looking, different in every
//!   sandbox (two sandboxes, or one restarted on the same port, never hand out the same id
//!   except with the odds of a random 80-bit or 122-bit collision), and still in each
//!   provider's shape: HiAPI `tk-sandbox-` and a ULID (48 bits of Unix milliseconds, then 80
//!   bits, 26 Crockford base-32 digits, as HiAPI's own `tk-hiapi-01KW3…`), reapi
//!   `task_sandbox_` and 32 lower-case hex digits, Apiframe a version-4 UUID.
//! - **Output URLs** carry `expires` (the simulated Unix second the output expires) and
//!   `signature`, hex HMAC-SHA256 of the task id and `expires`, in their query, as object
//!   stores' signed URLs do: knowing a task id is not enough to download its output, and a URL
//!   from another sandbox (or from before a restart) never downloads this one's. The query is
//!   never logged (see `routes::log`), and the crate's redaction of URLs drops it.
//! - **Owners**: the SHA-256 of the API key a task was submitted with. A task is visible only
//!   to its owner (see the module docs of [`crate::sandbox`]).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::Provider;

type HmacSha256 = Hmac<Sha256>;

/// How the sandbox's HiAPI task ids begin.
pub(crate) const HIAPI_ID_PREFIX: &str = "tk-sandbox-";
/// How the sandbox's reapi task ids begin.
pub(crate) const REAPI_ID_PREFIX: &str = "task_sandbox_";

/// The API key a task was submitted with, as its SHA-256: only requests with the same key see
/// the task. The key itself is not kept. The default, all zeros, is no key's hash: the owner
/// of tasks made without a request (the unit tests').
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct Owner([u8; 32]);

impl Owner {
    /// The owner of the tasks submitted with `key`.
    pub fn of(key: &str) -> Self {
        Owner(Sha256::digest(key.as_bytes()).into())
    }
}

impl std::fmt::Debug for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Owner(<key hash>)")
    }
}

/// The sandbox's secret, and what it mints with it. `Debug` never shows the secret.
pub(crate) struct Mint {
    secret: [u8; 32],
}

impl std::fmt::Debug for Mint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mint(<secret>)")
    }
}

/// The Crockford base-32 digits ULIDs are written in.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl Mint {
    /// A mint with a fresh secret from the operating system's random source; an error when
    /// that source fails.
    pub fn new() -> std::io::Result<Self> {
        let mut secret = [0u8; 32];
        rustls::crypto::ring::default_provider()
            .secure_random
            .fill(&mut secret)
            .map_err(|_| std::io::Error::other("the system's random source failed"))?;
        Ok(Mint { secret })
    }

    /// A mint with this secret (tests).
    #[cfg(test)]
    pub fn with_secret(secret: [u8; 32]) -> Self {
        Mint { secret }
    }

    /// HMAC-SHA256 of `parts` under the secret, each part prefixed with its length so that no
    /// two different lists of parts hash alike.
    fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
        let mut mac = match <HmacSha256 as KeyInit>::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        };
        for part in parts {
            let len = u64::try_from(part.len()).unwrap_or(u64::MAX);
            mac.update(&len.to_be_bytes());
            mac.update(part);
        }
        mac
    }

    /// 128 pseudo-random bits for the task numbered `seq` of `provider`.
    fn bits(&self, provider: Provider, seq: u64) -> u128 {
        let digest = self
            .mac(&[b"task id", provider.name().as_bytes(), &seq.to_be_bytes()])
            .finalize()
            .into_bytes();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        u128::from_be_bytes(first)
    }

    /// The id of the task numbered `seq` (unique within the sandbox) of `provider`, created at
    /// `unix_ms` (wall-clock milliseconds; HiAPI's ids begin with them, as ULIDs do).
    pub fn task_id(&self, provider: Provider, seq: u64, unix_ms: u64) -> String {
        let bits = self.bits(provider, seq);
        match provider {
            Provider::HiApi => {
                const LOW: u32 = 80;
                let time = u128::from(unix_ms & ((1 << 48) - 1)) << LOW;
                let ulid = time | (bits & ((1u128 << LOW) - 1));
                let digits: String = (0..26u32)
                    .rev()
                    .map(|i| char::from(CROCKFORD[((ulid >> (i * 5)) & 31) as usize]))
                    .collect();
                format!("{HIAPI_ID_PREFIX}{digits}")
            }
            Provider::Reapi => format!("{REAPI_ID_PREFIX}{bits:032x}"),
            Provider::Apiframe => uuid::Builder::from_random_bytes(bits.to_be_bytes())
                .into_uuid()
                .to_string(),
        }
    }

    /// The signature of the output URL of task `id` expiring at `expires`: 64 hex digits.
    pub fn sign(&self, id: &str, expires: u64) -> String {
        self.signed(id, expires)
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn signed(&self, id: &str, expires: u64) -> HmacSha256 {
        self.mac(&[b"output url", id.as_bytes(), expires.to_string().as_bytes()])
    }

    /// Whether `signature` is the one [`Mint::sign`] gives for `id` and `expires`, compared in
    /// constant time. Anything but 64 hex digits is not.
    pub fn verify(&self, id: &str, expires: u64, signature: &str) -> bool {
        let Some(bytes) = unhex(signature) else {
            return false;
        };
        self.signed(id, expires).verify_slice(&bytes).is_ok()
    }
}

/// Exactly 64 hex digits (either case) as 32 bytes.
fn unhex(text: &str) -> Option<[u8; 32]> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let nibble = |d: u8| {
        char::from(d)
            .to_digit(16)
            .and_then(|n| u8::try_from(n).ok())
    };
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(bytes)
}

/// The provider of a task id the sandbox minted, by its shape; `None` for any other id.
pub(crate) fn provider_of_task_id(id: &str) -> Option<Provider> {
    if id.starts_with(HIAPI_ID_PREFIX) {
        Some(Provider::HiApi)
    } else if id.starts_with(REAPI_ID_PREFIX) {
        Some(Provider::Reapi)
    } else if uuid::Uuid::parse_str(id).is_ok() {
        Some(Provider::Apiframe)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_have_each_providers_shape_and_differ_between_sandboxes() {
        let (one, two) = (Mint::new().unwrap(), Mint::new().unwrap());
        let mut seen = HashSet::new();
        for mint in [&one, &two] {
            for seq in 1..=200 {
                for provider in Provider::ALL {
                    let id = mint.task_id(provider, seq, 1_767_225_600_000);
                    assert_eq!(provider_of_task_id(&id), Some(provider), "{id}");
                    assert!(seen.insert(id.clone()), "{id} handed out twice");
                    match provider {
                        Provider::HiApi => {
                            let ulid = &id[HIAPI_ID_PREFIX.len()..];
                            assert_eq!(ulid.len(), 26, "{id}");
                            assert!(ulid.bytes().all(|b| CROCKFORD.contains(&b)), "{id}");
                            // 2026-01-01 in ULID time, as HiAPI's `01KW3…` are.
                            assert!(ulid.starts_with("01KDVDNA00"), "{id}");
                        }
                        Provider::Reapi => {
                            let hex = &id[REAPI_ID_PREFIX.len()..];
                            assert_eq!(hex.len(), 32, "{id}");
                            assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
                        }
                        Provider::Apiframe => {
                            let uuid = uuid::Uuid::parse_str(&id).unwrap();
                            assert_eq!(uuid.get_version_num(), 4, "{id}");
                            assert_eq!(uuid.to_string(), id);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_signature_holds_for_its_id_and_expiry_only() {
        let mint = Mint::with_secret([7; 32]);
        let signature = mint.sign("tk-sandbox-1", 100);
        assert_eq!(signature.len(), 64);
        assert!(mint.verify("tk-sandbox-1", 100, &signature));
        assert!(mint.verify("tk-sandbox-1", 100, &signature.to_uppercase()));
        assert!(!mint.verify("tk-sandbox-1", 101, &signature));
        assert!(!mint.verify("tk-sandbox-2", 100, &signature));
        assert!(!mint.verify("tk-sandbox-1", 100, &signature[..62]));
        assert!(!mint.verify("tk-sandbox-1", 100, &format!("{}zz", &signature[..62])));
        assert!(!mint.verify("tk-sandbox-1", 100, ""));
        // Another sandbox's secret signs differently.
        assert!(!Mint::with_secret([8; 32]).verify("tk-sandbox-1", 100, &signature));
        // Length prefixes: moving a digit between the id and the expiry changes the signature.
        assert_ne!(mint.sign("tk-1", 23), mint.sign("tk-12", 3));
        assert!(format!("{mint:?}").contains("<secret>"));
    }

    #[test]
    fn owners_are_the_keys_hashes() {
        assert_eq!(Owner::of("sk-a"), Owner::of("sk-a"));
        assert_ne!(Owner::of("sk-a"), Owner::of("sk-b"));
        assert!(!format!("{:?}", Owner::of("sk-secret")).contains("secret"));
    }
}
