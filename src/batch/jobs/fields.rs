//! The fields a line may have, as the `generate` flags name them, the limits on a line and its
//! names, and the checks of an `id` and an `output` file name.

use crate::{
    values::text::{code_point, is_invisible, quoted},
    Prompt,
};

/// The fields a line may have, as the `generate` flags name them.
pub const LINE_FIELDS: [&str; 11] = [
    "prompt",
    "image",
    "references",
    "resolution",
    "aspect_ratio",
    "duration",
    "seed",
    "callback_url",
    "provider",
    "id",
    "output",
];

/// The longest job id.
pub const MAX_ID_LEN: usize = 100;

/// The longest line a jobs file may have, in bytes, its line ending left out: 1 MiB.
///
/// A valid line is far shorter. Its prompt is at most [`Prompt::MAX_CHARS`] (5000)
/// characters: 60 KB even written as JSON `\u` escapes of four-byte characters. Its id is at
/// most [`MAX_ID_LEN`] characters and its file name 255 bytes; its other values are a few
/// bytes, but for up to ten URLs (an image or nine references, and a callback) of no
/// documented length, which this leaves over 90 KB each. A longer line is refused without
/// being held: its number and length are reported and its bytes skipped. The wire body a line
/// becomes is no longer than the line plus the body's envelope, so every accepted line fits
/// well inside the sandbox's 2 MiB request body limit.
pub const MAX_LINE_BYTES: usize = 1 << 20;

// A line of the longest valid values fits.
const _: () = assert!(
    Prompt::MAX_CHARS * 12 + 10 * 90_000 + 6 * (MAX_ID_LEN + MAX_OUTPUT_BYTES) + 4096
        <= MAX_LINE_BYTES
);

/// The longest output file name, in bytes (the usual file system limit).
const MAX_OUTPUT_BYTES: usize = 255;

/// The most unknown field names one message lists.
const MAX_UNKNOWN_NAMED: usize = 8;

/// The problem with the names in `keys` that are not [`LINE_FIELDS`], if any, naming at most
/// [`MAX_UNKNOWN_NAMED`] of them.
pub(super) fn unknown_fields<'a>(keys: impl Iterator<Item = &'a String>) -> Option<String> {
    let unknown: Vec<&String> = keys
        .filter(|k| !LINE_FIELDS.contains(&k.as_str()))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    let mut named: Vec<String> = unknown
        .iter()
        .take(MAX_UNKNOWN_NAMED)
        .map(|k| format!("\"{}\"", quoted(k)))
        .collect();
    if unknown.len() > MAX_UNKNOWN_NAMED {
        named.push(format!(
            "and {} more",
            unknown.len().saturating_sub(MAX_UNKNOWN_NAMED)
        ));
    }
    Some(format!(
        "unknown field{} {}; a line takes {}",
        if unknown.len() == 1 { "" } else { "s" },
        named.join(", "),
        LINE_FIELDS.join(", ")
    ))
}

/// The byte order mark a UTF-8 file may start with.
pub(super) const BYTE_ORDER_MARK: char = '\u{feff}';

/// The problem with a line of `bytes` bytes, past [`MAX_LINE_BYTES`].
pub(super) fn too_long(bytes: u64) -> String {
    format!(
        "the line has {bytes} bytes, more than the {MAX_LINE_BYTES} bytes (1 MiB) of the longest \
         valid line (a prompt takes at most {} characters); it was skipped unread",
        Prompt::MAX_CHARS
    )
}

/// The problem with a name that holds an invisible character, naming the first one.
fn invisible_in(field: &str, name: &str) -> Option<String> {
    let c = name.chars().find(|c| is_invisible(*c))?;
    Some(format!(
        "{field} \"{}\" contains {}, an invisible character that makes a name display as \
         another (a bidirectional override shows `clip\\u{{202e}}4pm.exe` as clipexe.mp4); \
         remove it",
        quoted(name),
        code_point(c)
    ))
}

/// Whether `id` may be a job id, which names its output file; the problem if not.
pub(super) fn check_id(id: &str) -> Result<(), String> {
    if let Some(problem) = invisible_in("id", id) {
        return Err(problem);
    }
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "id \"{}\": use 1 to {MAX_ID_LEN} letters, digits, '-', '_' or '.', not starting with '.' (it names the output file)",
            quoted(id)
        ))
    }
}

/// Whether `name` may be an output file name, in the output directory; the problem if not.
pub(super) fn check_output(name: &str) -> Result<(), String> {
    if let Some(problem) = invisible_in("output", name) {
        return Err(problem);
    }
    let ok = !name.is_empty()
        && name.len() <= MAX_OUTPUT_BYTES
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "output \"{}\": give a plain file name of at most {MAX_OUTPUT_BYTES} bytes (no directories, not starting with '.'); it is written in the output directory",
            quoted(name)
        ))
    }
}
