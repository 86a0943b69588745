//! Input images, checked before a submit is paid for.
//!
//! The pages list "a reference image URL the worker cannot fetch" and "images below the 400px
//! shortest-side threshold" among the common causes of a failed task: found minutes and one
//! task later. [`Preflight`] finds them first: it fetches the first bytes of every image a
//! submit body names (a ranged GET, following a few redirects, with a time-out), tells the
//! type by its magic number, reads the dimensions from the header and the size from the
//! answer, and checks them against the limits the provider's document states for the mode
//! ([`crate::contract::images`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use happyhorse::media::{Preflight, PreflightOptions};
//! use happyhorse::Provider;
//!
//! let sandbox = happyhorse::sandbox::Sandbox::start(Default::default()).await?;
//! // A 200x200 PNG, too small a reference (at least 400 px).
//! let small = sandbox.sample_image_url(200, 200);
//! let body = serde_json::json!({
//!     "model": "happyhorse-1.1/reference-to-video",
//!     "input": {"prompt": "[Image 1] gallops", "reference_image": [small]},
//! });
//! let preflight = Preflight::new(PreflightOptions::default())?;
//! let problems = preflight.check(Provider::HiApi, &body).await;
//! assert_eq!(problems.len(), 1);
//! assert!(problems[0].message.contains("at least 400 px"), "{}", problems[0]);
//! # Ok(())
//! # }
//! ```

mod fetch;
mod header;
mod local;
mod preflight;

#[cfg(feature = "sandbox")]
pub(crate) use fetch::fetch_head;
pub use header::{sniff, ImageFormat, ImageInfo, SniffError};
pub use local::{is_local, local_placeholder, placeholder_path, read_local, LocalFile, LocalImage};
pub use preflight::{ImageProblem, Preflight, PreflightOptions};
