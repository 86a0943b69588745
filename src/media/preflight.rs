//! Every image of a submit body checked before the submit is paid for: reachable, its type by
//! its first bytes, its size, its dimensions from its header, against the limits the
//! provider's document states for the mode (`x-image-inputs`).

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;

use super::fetch::{self, Fetched};
use crate::{contract::images::image_inputs, net, Error, Provider};

/// How [`Preflight`] reaches images.
#[derive(Clone, Debug)]
pub struct PreflightOptions {
    network: bool,
    timeout: Duration,
    max_redirects: usize,
}

impl Default for PreflightOptions {
    fn default() -> Self {
        PreflightOptions {
            network: true,
            timeout: Duration::from_secs(10),
            max_redirects: 5,
        }
    }
}

impl PreflightOptions {
    /// Whether URLs are fetched (default `true`). Without the network, URLs the user vouches
    /// for are taken as they are; only what can be checked offline is.
    pub fn with_network(mut self, network: bool) -> Self {
        self.network = network;
        self
    }

    /// How long one image may take to answer with its first bytes (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many redirects an image URL may take (default 5).
    pub fn with_max_redirects(mut self, max_redirects: usize) -> Self {
        self.max_redirects = max_redirects;
        self
    }
}

/// One problem with one image of a submit body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageProblem {
    /// The body's field (a JSON pointer, `/input/reference_image`).
    pub field: String,
    /// The image's 1-based position in that field.
    pub position: usize,
    /// The image, with any query cut (a presigned URL's query is a credential).
    pub image: String,
    /// What is wrong.
    pub message: String,
    /// The provider does not document the limit: a warning, not a reason to refuse.
    pub advisory: bool,
}

impl fmt::Display for ImageProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.field.trim_start_matches('/').replace('/', ".");
        write!(
            f,
            "{field}[{}] {} {}",
            self.position.saturating_sub(1),
            self.image,
            self.message
        )?;
        if self.advisory {
            f.write_str(" (a limit the provider does not document; sent anyway)")?;
        }
        Ok(())
    }
}

/// Checks the images of submit bodies before they are sent. Each URL is fetched once per
/// `Preflight` (a batch whose 1,000 jobs share an image fetches it once); clones share what
/// was fetched.
#[derive(Clone, Debug)]
pub struct Preflight {
    http: reqwest::Client,
    options: PreflightOptions,
    seen: Arc<Mutex<HashMap<String, Result<Fetched, String>>>>,
}

impl Preflight {
    /// A preflight that fetches as `options` say.
    pub fn new(options: PreflightOptions) -> Result<Self, Error> {
        let max_redirects = options.max_redirects;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::tls::shared_config().map_err(|message| {
                Error::Config {
                    message: format!("cannot set up TLS: {message}"),
                }
            })?)
            .user_agent(concat!("happyhorse/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::limited(max_redirects))
            .build()
            .map_err(|err| Error::Config {
                message: format!("cannot build the HTTP client: {err}"),
            })?;
        Ok(Preflight {
            http,
            options,
            seen: Arc::default(),
        })
    }

    /// Whether `body`, a `provider` submit body, names any image the provider fetches.
    pub fn names_images(&self, provider: Provider, body: &Value) -> bool {
        image_inputs(provider)
            .iter()
            .any(|input| !input.urls(body).is_empty())
    }

    /// The problems with the images of `body`, a `provider` submit body, in the order of its
    /// fields and images; none when it has no image or every image is fine.
    pub async fn check(&self, provider: Provider, body: &Value) -> Vec<ImageProblem> {
        let mut problems = Vec::new();
        for input in image_inputs(provider) {
            for (i, url) in input.urls(body).into_iter().enumerate() {
                // A local file's stand-in: the file is checked where it is read.
                if super::placeholder_path(url).is_some() {
                    continue;
                }
                let problem = |message: String| ImageProblem {
                    field: input.pointer.clone(),
                    position: i.saturating_add(1),
                    image: net::redacted(url),
                    message,
                    advisory: input.advisory,
                };
                if !self.options.network {
                    continue;
                }
                let fetched = self.fetched(url, input.max_bytes).await;
                let found = match fetched {
                    // Unreachable is a failed task whatever the provider documents.
                    Err(message) => vec![(message, false)],
                    Ok(Fetched { info: Err(why), .. }) => {
                        vec![(input.not_an_image(&why), input.advisory)]
                    }
                    Ok(Fetched {
                        info: Ok(info),
                        bytes,
                    }) => input
                        .problems(bytes.unwrap_or(0), &info)
                        .into_iter()
                        .map(|message| (message, input.advisory))
                        .collect(),
                };
                for (message, advisory) in found {
                    problems.push(ImageProblem {
                        advisory,
                        ..problem(message)
                    });
                }
            }
        }
        problems
    }

    /// How many distinct URLs this preflight (and its clones) fetched so far.
    pub fn urls_fetched(&self) -> usize {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// What `url` answered, fetched once.
    async fn fetched(&self, url: &str, max_bytes: u64) -> Result<Fetched, String> {
        let known = self
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(url)
            .cloned();
        if let Some(known) = known {
            return known;
        }
        let fetched =
            fetch::fetch_head(&self.http, url, max_bytes, self.options.timeout.as_secs()).await;
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(url.to_owned(), fetched.clone());
        fetched
    }
}
