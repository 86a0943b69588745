//! happyhorse: HappyHorse 1.1 video generation on HiAPI, reapi and Apiframe.
#![warn(missing_docs)]

pub mod contract;
pub mod generated;
mod provider;
pub mod request;
pub mod validate;
pub mod values;

pub use provider::{Provider, UnknownProvider};
