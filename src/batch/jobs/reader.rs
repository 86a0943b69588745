//! [`JobsReader`]: a jobs file read and checked a line at a time in bounded memory, and
//! [`parse_jobs`], every line of a file in memory checked the same way.

use super::{
    duplicates::DuplicateCheck,
    fields::{too_long, MAX_LINE_BYTES},
    job::BatchJob,
    line::{parse_line_in, LineProblem},
};
use crate::Provider;

/// Why a [`JobsReader`] gave no job for a line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobsReadError {
    /// The line cannot become a job: every problem with it, each with its number. Reading
    /// goes on with the next line.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Line(Vec<LineProblem>),
    /// The file could not be read, at this line; the reader gives nothing after it.
    #[error("cannot read line {line}: {source}")]
    Read {
        /// The 1-based number of the line being read.
        line: u64,
        /// The error.
        source: std::io::Error,
    },
}

/// A jobs file read and checked a line at a time, in bounded memory: the job of each valid
/// line, or every problem of each line that is not, in the file's order.
///
/// It holds one line at a time (at most [`MAX_LINE_BYTES`]; a longer line is reported by
/// number and skipped without being held) and, to refuse a second line with an id or output
/// file already taken, a [`DuplicateCheck`] of the jobs so far. Blank lines are skipped, and
/// counted; a line may end with `\n` or `\r\n`. A UTF-8 byte order mark starting the file is
/// taken off; one elsewhere is a problem of its line, as is a line that is not UTF-8. A file
/// that starts with a UTF-16 byte order mark is reported as such on line 1, and read no
/// further.
///
/// ```
/// use happyhorse::{batch::{JobsReadError, JobsReader}, Provider};
///
/// let file = "\u{feff}{\"prompt\": \"A horse\"}\n\n{\"prompt\": \"A cat\", \"duration\": 99}\n";
/// let mut jobs = Vec::new();
/// let mut problems = Vec::new();
/// for item in JobsReader::new(file.as_bytes(), Provider::HiApi) {
///     match item {
///         Ok(job) => jobs.push(job),
///         Err(JobsReadError::Line(found)) => problems.extend(found),
///         Err(err) => return Err(err.to_string()),
///     }
/// }
/// assert_eq!(jobs.len(), 1);
/// assert_eq!(problems[0].to_string(), "line 3: duration: maximum: got 99, want 15");
/// # Ok::<(), String>(())
/// ```
#[derive(Debug)]
pub struct JobsReader<R> {
    input: R,
    default_provider: Provider,
    /// The number of the last line read (0 before the first).
    line: u64,
    /// The current line's bytes, at most `MAX_LINE_BYTES + 1` (room for a `\r`).
    buffer: Vec<u8>,
    duplicates: DuplicateCheck,
    done: bool,
    /// Where relative local image paths are taken from, when local images are taken.
    local: Option<std::path::PathBuf>,
}

/// A line as read: its bytes are in the buffer, or it was too long to keep.
enum LineRead {
    /// In the buffer, its line ending taken off.
    Kept,
    /// Longer than [`MAX_LINE_BYTES`]: this many bytes, none kept.
    TooLong(u64),
}

impl<R: std::io::BufRead> JobsReader<R> {
    /// A reader of the jobs in `input`; lines that name no provider are for
    /// `default_provider`.
    pub fn new(input: R, default_provider: Provider) -> Self {
        JobsReader {
            input,
            default_provider,
            line: 0,
            buffer: Vec::new(),
            duplicates: DuplicateCheck::new(),
            done: false,
            local: None,
        }
    }

    /// Takes local files as `image` and `references[i]` (a path, relative to `dir` unless
    /// absolute, or a `file://` URL): each becomes a
    /// [`local_placeholder`](crate::media::local_placeholder) in the job's body, for the
    /// caller to check, stage and replace with the staged image's URL
    /// ([`BatchJob::local_images`](super::BatchJob::local_images),
    /// [`BatchJob::with_images`](super::BatchJob::with_images)); the job's derived id is
    /// the line's as written, whatever URL the image gets. Without this, a local path is
    /// refused as a URL would be.
    pub fn with_local_images(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.local = Some(dir.into());
        self
    }

    /// The number of the last line read (0 before the first), blank lines included.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The ids and output files taken so far.
    pub fn duplicates(&self) -> &DuplicateCheck {
        &self.duplicates
    }

    /// Reads the next line into the buffer, keeping at most `MAX_LINE_BYTES + 1` bytes of it;
    /// `None` at the end of the input.
    fn read_line(&mut self) -> std::io::Result<Option<LineRead>> {
        self.buffer.clear();
        let mut bytes = 0u64;
        let mut any = false;
        let keep = MAX_LINE_BYTES.saturating_add(1);
        let mut kept_all = true;
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let newline = available.iter().position(|&b| b == b'\n');
            let chunk = available
                .get(..newline.unwrap_or(available.len()))
                .unwrap_or_default();
            bytes = bytes.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
            if kept_all && self.buffer.len().saturating_add(chunk.len()) <= keep {
                if self.buffer.capacity() < self.buffer.len().saturating_add(chunk.len()) {
                    // Grow as a Vec does, but never past what a line may keep.
                    let want = self
                        .buffer
                        .capacity()
                        .saturating_mul(2)
                        .max(self.buffer.len().saturating_add(chunk.len()))
                        .min(keep);
                    self.buffer
                        .reserve_exact(want.saturating_sub(self.buffer.len()));
                }
                self.buffer.extend_from_slice(chunk);
            } else if kept_all {
                kept_all = false;
                self.buffer.clear();
            }
            let used = chunk.len().saturating_add(usize::from(newline.is_some()));
            self.input.consume(used);
            if newline.is_some() {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        if !kept_all {
            return Ok(Some(LineRead::TooLong(bytes)));
        }
        if self.buffer.last() == Some(&b'\r') {
            self.buffer.pop();
        }
        Ok(Some(LineRead::Kept))
    }

    /// The job of the line in the buffer, or its problems.
    fn check_line(&mut self) -> Option<Result<BatchJob, JobsReadError>> {
        let number = self.line;
        let problem = |message: String| {
            Some(Err(JobsReadError::Line(vec![LineProblem {
                line: number,
                message,
            }])))
        };
        if self.buffer.len() > MAX_LINE_BYTES {
            return problem(too_long(
                u64::try_from(self.buffer.len()).unwrap_or(u64::MAX),
            ));
        }
        let mut bytes = self.buffer.as_slice();
        if number == 1 {
            if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
                self.done = true;
                return problem(
                    "the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as \
                     UTF-8 and run again"
                        .to_owned(),
                );
            }
            bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => {
                return problem(format!(
                    "not UTF-8 text (byte {} of the line is not); save the file as UTF-8",
                    err.valid_up_to().saturating_add(1)
                ))
            }
        };
        if text.trim().is_empty() {
            return None;
        }
        Some(
            parse_line_in(number, text, self.default_provider, self.local.as_deref())
                .map_err(JobsReadError::Line)
                .and_then(|job| match self.duplicates.check(&job) {
                    Ok(()) => Ok(job),
                    Err(problem) => Err(JobsReadError::Line(vec![problem])),
                }),
        )
    }
}

impl<R: std::io::BufRead> Iterator for JobsReader<R> {
    type Item = Result<BatchJob, JobsReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let read = self.read_line();
            // The line being read, even when it could not be.
            self.line = self.line.saturating_add(1);
            match read {
                Ok(None) => {
                    self.done = true;
                    self.line = self.line.saturating_sub(1);
                }
                Ok(Some(LineRead::TooLong(bytes))) => {
                    return Some(Err(JobsReadError::Line(vec![LineProblem {
                        line: self.line,
                        message: too_long(bytes),
                    }])))
                }
                Ok(Some(LineRead::Kept)) => {
                    if let Some(item) = self.check_line() {
                        return Some(item);
                    }
                }
                Err(source) => {
                    self.done = true;
                    return Some(Err(JobsReadError::Read {
                        line: self.line,
                        source,
                    }));
                }
            }
        }
        None
    }
}

/// Every line of a jobs file checked: the jobs, or every problem with its line number.
///
/// A [`JobsReader`] over `text`: blank lines are skipped; besides each line's own checks (its
/// fields, and whether its provider can serve it), two lines may not share an id (a line
/// without `id` gets one from its content, so two identical lines share one: give one an `id`
/// to pay for a second video) or an output file. To read a file without holding it, use a
/// [`JobsReader`] over a `BufReader` of it.
pub fn parse_jobs(
    text: &str,
    default_provider: Provider,
) -> Result<Vec<BatchJob>, Vec<LineProblem>> {
    let mut jobs = Vec::new();
    let mut problems = Vec::new();
    for item in JobsReader::new(text.as_bytes(), default_provider) {
        match item {
            // Once a line is bad the jobs are not returned: stop keeping them.
            Ok(job) if problems.is_empty() => jobs.push(job),
            Ok(_) => {}
            Err(JobsReadError::Line(found)) => {
                jobs = Vec::new();
                problems.extend(found);
            }
            // A slice of bytes reads without error; said as a problem all the same.
            Err(JobsReadError::Read { line, source }) => problems.push(LineProblem {
                line,
                message: format!("cannot read: {source}"),
            }),
        }
    }
    if problems.is_empty() {
        Ok(jobs)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests;
