//! TLS for every HTTP client the crate builds: rustls with *ring* as its crypto provider.
//!
//! reqwest is built without a crypto provider of its own (its default, aws-lc-rs, is a large C
//! and assembly build), so rustls needs a process-wide default before any reqwest client is
//! built. [`install_crypto_provider`] installs *ring* as that default when the process has
//! none; [`Client::new`](crate::Client::new) and the sandbox call it, so library users need
//! not. An application that installs its own provider first keeps it.

/// Installs *ring* as rustls's process-wide default crypto provider, unless one is installed
/// already. Idempotent and cheap; call it before building a `reqwest::Client` of your own in a
/// process that uses this crate and no other rustls provider.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // A concurrent caller may win the race; either way a provider is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
