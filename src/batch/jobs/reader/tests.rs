//! The streaming reader's tests: lines far past the cap never held, line endings, bytes that
//! are not UTF-8, a UTF-16 file, and a read error.

use std::io::{BufRead, BufReader, Read};

use super::*;

/// A file of `before` lines, then one line holding a prompt of `prompt_bytes` bytes, then
/// `after`: made as it is read, never held.
struct Generated {
    head: Vec<u8>,
    prompt_bytes: u64,
    tail: Vec<u8>,
    at: u64,
}

impl Generated {
    fn new(before: &str, prompt_bytes: u64, after: &str) -> Self {
        Generated {
            head: format!("{before}{{\"prompt\": \"").into_bytes(),
            prompt_bytes,
            tail: format!("\"}}\n{after}").into_bytes(),
            at: 0,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let head = self.head.len() as u64;
        let body_end = head + self.prompt_bytes;
        let mut n = 0;
        while n < out.len() {
            let at = self.at;
            let byte = if at < head {
                self.head[at as usize]
            } else if at < body_end {
                b'a'
            } else if let Some(b) = self.tail.get((at - body_end) as usize) {
                *b
            } else {
                break;
            };
            out[n] = byte;
            n += 1;
            self.at += 1;
        }
        Ok(n)
    }
}

fn read_all<R: BufRead>(reader: &mut JobsReader<R>) -> (Vec<BatchJob>, Vec<LineProblem>) {
    let mut jobs = Vec::new();
    let mut problems = Vec::new();
    for item in reader {
        match item {
            Ok(job) => jobs.push(job),
            Err(JobsReadError::Line(found)) => problems.extend(found),
            Err(err) => panic!("{err}"),
        }
    }
    (jobs, problems)
}

#[test]
fn a_50_mb_line_is_refused_by_number_without_being_held() {
    let input = Generated::new(
        "{\"prompt\": \"first\"}\n",
        50 << 20,
        "{\"prompt\": \"after\", \"duration\": 99}\n{\"prompt\": \"last\"}",
    );
    let mut reader = JobsReader::new(BufReader::new(input), Provider::HiApi);
    let (jobs, problems) = read_all(&mut reader);
    assert_eq!(
        jobs.iter().map(|j| j.line).collect::<Vec<_>>(),
        [1, 4],
        "{problems:#?}"
    );
    assert_eq!(
        problems.iter().map(|p| p.line).collect::<Vec<_>>(),
        [2, 3],
        "{problems:#?}"
    );
    assert!(
        problems[0]
            .message
            .contains(&format!("{} bytes", (50 << 20) + 14)),
        "{}",
        problems[0]
    );
    assert!(problems[0].message.len() < 300, "{}", problems[0]);
    // The most the reader ever held of a line.
    assert!(
        reader.buffer.capacity() <= MAX_LINE_BYTES + 1,
        "{}",
        reader.buffer.capacity()
    );
    assert_eq!(reader.line(), 4);
}

#[test]
fn a_line_at_the_cap_is_read_and_one_byte_more_is_not() {
    // `{"prompt": "` and `"}` take 14 bytes around the prompt.
    for (prompt_bytes, fits) in [(MAX_LINE_BYTES - 14, true), (MAX_LINE_BYTES - 13, false)] {
        let input = Generated::new("", prompt_bytes as u64, "");
        let mut reader = JobsReader::new(BufReader::new(input), Provider::HiApi);
        let (_, problems) = read_all(&mut reader);
        assert_eq!(problems.len(), 1);
        // A prompt this long is refused either way; the line cap only past the cap.
        let by_line_cap = problems[0].message.contains("1 MiB");
        assert_eq!(by_line_cap, !fits, "{}", problems[0]);
    }
    // A `\r` ending a line at the cap is its line ending, not one byte too many.
    let line = format!(
        "{{\"prompt\": \"a\"}}{}\r\n",
        " ".repeat(MAX_LINE_BYTES - 15)
    );
    assert_eq!(parse_jobs(&line, Provider::HiApi).unwrap().len(), 1);
}

#[test]
fn line_endings_blank_lines_and_a_last_line_without_newline() {
    let text = "{\"prompt\": \"a\"}\r\n\r\n   \n{\"prompt\": \"b\"}";
    let jobs = parse_jobs(text, Provider::HiApi).unwrap();
    assert_eq!(jobs.iter().map(|j| j.line).collect::<Vec<_>>(), [1, 4]);
    assert!(parse_jobs("", Provider::HiApi).unwrap().is_empty());
    assert!(parse_jobs("\u{feff}", Provider::HiApi).unwrap().is_empty());
}

#[test]
fn a_line_that_is_not_utf8_is_named_and_the_others_read() {
    let mut file = b"{\"prompt\": \"a\"}\n{\"prompt\": \"".to_vec();
    file.extend_from_slice(&[0xC3, 0x28]);
    file.extend_from_slice(b"\"}\n{\"prompt\": \"c\", \"seed\": 1}\n");
    let (jobs, problems) = read_all(&mut JobsReader::new(&file[..], Provider::HiApi));
    assert_eq!(jobs.len(), 1);
    assert_eq!(problems.iter().map(|p| p.line).collect::<Vec<_>>(), [2, 3]);
    assert!(
        problems[0].message.contains("not UTF-8") && problems[0].message.contains("byte 13"),
        "{}",
        problems[0]
    );
}

#[test]
fn a_utf16_file_is_named_once() {
    let file: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            "{\"prompt\": \"a\"}\n"
                .repeat(3)
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let (jobs, problems) = read_all(&mut JobsReader::new(&file[..], Provider::HiApi));
    assert!(jobs.is_empty());
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].message.contains("UTF-16"), "{}", problems[0]);
}

#[test]
fn a_read_error_ends_the_reader_with_its_line() {
    struct Failing(&'static [u8]);
    impl Read for Failing {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = self.0.len().min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let input = Failing(b"{\"prompt\": \"a\"}\n{\"prompt\"");
    let mut reader = JobsReader::new(BufReader::new(input), Provider::HiApi);
    assert!(reader.next().unwrap().is_ok());
    match reader.next() {
        Some(Err(JobsReadError::Read { line: 2, source })) => {
            assert_eq!(source.to_string(), "disk on fire")
        }
        other => panic!("{other:?}"),
    }
    assert!(reader.next().is_none());
}
