//! Client configuration: the key (a secret that never prints), the base URL (HTTPS, or plain
//! HTTP to loopback only), timeouts and the retry policy; from the environment or set by hand.

use std::{fmt, time::Duration};

use super::Error;
use crate::{net::is_loopback, retry::RetryPolicy, Provider};

/// An API key. `Debug` and `Display` never show it; the only way to read it is
/// [`ApiKey::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key itself, for building the authentication header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        ApiKey::new(key)
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        ApiKey::new(key)
    }
}

/// How a [`Client`](super::Client) talks to one provider.
///
/// ```
/// use happyhorse::{ClientConfig, Provider};
/// use std::time::Duration;
///
/// let config = ClientConfig::new(Provider::Apiframe)
///     .with_api_key("afk_example")
///     .with_timeout(Duration::from_secs(30));
/// assert!(!format!("{config:?}").contains("afk_example"));
/// ```
///
/// Fields are private so that new settings never break a caller; set them with the `with_*`
/// methods, read them with the accessors. `Debug` shows neither the key nor the values of
/// extra headers.
#[derive(Clone)]
pub struct ClientConfig {
    provider: Provider,
    api_key: Option<ApiKey>,
    base_url: String,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    headers: Vec<(String, String)>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("ClientConfig")
            .field("provider", &self.provider)
            .field("api_key", &self.api_key)
            .field("base_url", &crate::net::redacted(&self.base_url))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("headers", &header_names)
            .finish()
    }
}

impl ClientConfig {
    /// The provider's production base URL, no key, default timeouts and retries.
    pub fn new(provider: Provider) -> Self {
        ClientConfig {
            provider,
            api_key: None,
            base_url: provider.default_base_url().to_owned(),
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            headers: Vec::new(),
        }
    }

    /// [`ClientConfig::new`], then the key from `HIAPI_API_KEY` / `REAPI_API_KEY` /
    /// `APIFRAME_API_KEY` and the base URL from `HIAPI_BASE_URL` / ... when they are set and
    /// not empty.
    pub fn from_env(provider: Provider) -> Self {
        let read = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut config = ClientConfig::new(provider);
        if let Some(key) = read(provider.api_key_env()) {
            config.api_key = Some(ApiKey::new(key.trim()));
        }
        if let Some(url) = read(provider.base_url_env()) {
            config.base_url = url.trim().to_owned();
        }
        config
    }

    /// Sets the key.
    pub fn with_api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the base URL (a sandbox's, say).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Sets the per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Adds a header to every API call (not to downloads), e.g. a tracing id, or
    /// `X-Sandbox-Fault` to inject faults into a sandbox. Its value is marked sensitive and
    /// never shown by `Debug`.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the limit on establishing a connection.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The provider.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The base URL as configured (it is checked when a [`Client`](super::Client) is built).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The limit on one API call, from connect to the last byte of its answer (downloads are
    /// limited per read instead). Default 60 s.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The limit on establishing a connection. Default 10 s.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// How failed calls are retried.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Whether a key is set.
    pub fn has_api_key(&self) -> bool {
        self.api_key.is_some()
    }

    /// Whether the key is set and lacks the provider's prefix (`sk-`, `rk_`, `afk_`): most
    /// likely another provider's key. The provider is the judge; this is a hint.
    pub fn key_looks_foreign(&self) -> bool {
        self.api_key
            .as_ref()
            .is_some_and(|key| !key.expose().starts_with(self.provider.key_prefix()))
    }

    /// The extra headers' names and values.
    pub(crate) fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The base URL without a trailing slash, checked: HTTPS, or plain HTTP to a loopback
    /// host only, since the key travels in a header.
    pub(crate) fn checked_base_url(&self) -> Result<String, Error> {
        let trimmed = self.base_url.trim().trim_end_matches('/');
        let url = reqwest::Url::parse(trimmed).map_err(|err| {
            // Credentials in a malformed URL must not be echoed either.
            let shown = if trimmed.contains('@') {
                "(not shown: it contains '@')".to_owned()
            } else {
                format!("{trimmed:?}")
            };
            Error::Config {
                message: format!(
                    "base URL {shown} is not a URL ({err}); set {} to e.g. {}",
                    self.provider.base_url_env(),
                    self.provider.default_base_url()
                ),
            }
        })?;
        let shown = crate::net::redacted(trimmed);
        match url.scheme() {
            "https" => Ok(trimmed.to_owned()),
            "http" if is_loopback(&url) => Ok(trimmed.to_owned()),
            "http" => Err(Error::Config {
                message: format!(
                    "refusing plain http to {shown}: the API key would travel unencrypted; use https:// (plain http is allowed only to loopback addresses such as a local sandbox)"
                ),
            }),
            scheme => Err(Error::Config {
                message: format!("base URL {shown} has scheme {scheme:?}; use https://"),
            }),
        }
    }

    /// The key, or the error that says which variable to set.
    pub(crate) fn key(&self) -> Result<&ApiKey, Error> {
        self.api_key.as_ref().ok_or(Error::MissingApiKey {
            provider: self.provider,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_be_https_or_loopback_http() {
        let check = |url: &str| {
            ClientConfig::new(Provider::HiApi)
                .with_base_url(url)
                .checked_base_url()
        };
        assert_eq!(
            check("https://api.hiapi.ai/v1/").unwrap(),
            "https://api.hiapi.ai/v1"
        );
        assert!(check("http://127.0.0.1:8787/v1").is_ok());
        assert!(check("http://localhost:8787/v1").is_ok());
        assert!(check("http://[::1]:8787/v1").is_ok());
        let refused = check("http://api.hiapi.ai/v1").unwrap_err().to_string();
        assert!(refused.contains("unencrypted"), "{refused}");
        assert!(check("ftp://api.hiapi.ai").is_err());
        assert!(check("not a url")
            .unwrap_err()
            .to_string()
            .contains("HIAPI_BASE_URL"));
    }

    #[test]
    fn credentials_in_a_base_url_are_never_echoed() {
        for url in [
            "http://user:hunter2@api.example.com/v1",
            "ftp://user:hunter2@api.example.com/v1",
            "https://user:hunter2@exa mple.com/v1",
        ] {
            let err = ClientConfig::new(Provider::HiApi)
                .with_base_url(url)
                .checked_base_url()
                .unwrap_err()
                .to_string();
            assert!(!err.contains("hunter2"), "{err}");
        }
        let config = ClientConfig::new(Provider::HiApi)
            .with_base_url("https://user:hunter2@api.example.com/v1")
            .with_header("X-Trace", "trace-secret");
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("trace-secret"),
            "{debug}"
        );
        assert!(debug.contains("X-Trace"), "{debug}");
    }

    #[test]
    fn keys_never_print() {
        let config = ClientConfig::new(Provider::Reapi).with_api_key("rk_very_secret");
        assert!(!format!("{config:?}").contains("rk_very_secret"));
        assert_eq!(config.key().unwrap().expose(), "rk_very_secret");
    }
}
