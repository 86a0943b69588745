//! A jobs file: one JSON object per line, with the `generate` command's names, checked in full
//! before anything is sent, and read a line at a time ([`JobsReader`]) so that a file of any
//! size, or a line of any length, is checked in bounded memory.
//!
//! - `fields`: the names a line may use, the limits on it, and the checks of an id and an
//!   output file name.
//! - `field_values`: reading one field's value (a string, a whole number, a URL).
//! - `line_object`: a line's text as a JSON object, refused when a key appears twice.
//! - `request`: the [`VideoRequest`](crate::VideoRequest) a line's fields make.
//! - `line`: one line checked on its own ([`parse_job_line`]), into a [`BatchJob`].
//! - `job`: [`BatchJob`], and its wire body, billing and keys.
//! - `duplicates`: [`DuplicateCheck`], ids and output files shared between lines.
//! - `reader`: [`JobsReader`], the streaming reader, and [`parse_jobs`] over it.

mod duplicates;
mod field_values;
mod fields;
mod job;
mod line;
mod line_object;
mod reader;
mod request;

pub use duplicates::DuplicateCheck;
pub use fields::{LINE_FIELDS, MAX_ID_LEN, MAX_LINE_BYTES};
pub use job::{BatchJob, LocalImageRef};
pub use line::{parse_job_line, LineProblem};
pub use reader::{parse_jobs, JobsReadError, JobsReader};

#[cfg(test)]
mod tests;
