//! TLS for every HTTP client the crate builds: rustls with *ring* as its crypto provider.
//!
//! reqwest is built without a crypto provider of its own (its default, aws-lc-rs, is a large C
//! and assembly build). The crate's clients share one rustls configuration (*ring*, the
//! platform's certificate verifier), built once per process, so that neither a process-wide
//! default nor a second load of the system's certificates is needed; the sandbox uses it too.
//! The crate sets no process-wide default. A `reqwest::Client` built elsewhere in the process
//! needs one: [`install_crypto_provider`] installs *ring* as that default when the process has
//! none. An application that installs its own provider keeps it.

/// Installs *ring* as rustls's process-wide default crypto provider, unless one is installed
/// already. Idempotent and cheap; call it before building a `reqwest::Client` of your own in a
/// process that uses this crate and no other rustls provider.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // A concurrent caller may win the race; either way a provider is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The TLS configuration every client of the crate uses, built on first use.
pub(crate) fn shared_config() -> Result<rustls::ClientConfig, String> {
    use rustls_platform_verifier::BuilderVerifierExt;
    static CONFIG: std::sync::OnceLock<Result<rustls::ClientConfig, String>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .and_then(|builder| builder.with_platform_verifier())
                .map(|builder| builder.with_no_client_auth())
                .map_err(|err| err.to_string())
        })
        .clone()
}
