//! A jobs file: one JSON object per line, with the `generate` command's names, checked in full
//! before anything is sent, and read a line at a time ([`JobsReader`]) so that a file of any
//! size, or a line of any length, is checked in bounded memory.

use std::{collections::HashMap, fmt, str::FromStr};

use serde::{
    de::{self, MapAccess, SeqAccess, Visitor},
    Deserialize, Deserializer,
};
use serde_json::{error::Category, Map, Value};
use sha2::{Digest, Sha256};

use crate::{
    issue::type_name,
    ledger::NewJob,
    values::{
        text::{code_point, is_invisible, quoted},
        AspectRatio, HttpUrl, References, Resolution, Seed, VideoDuration,
    },
    Prompt, Provider, VideoRequest,
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

/// A line that cannot become a job, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineProblem {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong, in the request's terms.
    pub message: String,
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// One valid line: the request, for its provider, with its id and file name.
#[derive(Clone, Debug)]
pub struct BatchJob {
    /// 1-based line number (0 for jobs built in code).
    pub line: u64,
    /// The stable job id: the line's `id`, or derived from its content.
    pub id: String,
    /// The provider.
    pub provider: Provider,
    /// The request.
    pub request: VideoRequest,
    /// The file name in the output directory.
    pub output: String,
    /// The wire body it submits.
    pub body: Value,
    /// The resolution billed (the request's, or the provider's default).
    pub resolution: Resolution,
    /// Seconds of video billed: the request's, or the provider's documented default (a job
    /// for a provider that documents none, Apiframe, must say).
    pub video_seconds: u32,
}

impl BatchJob {
    /// A job for `request` on `provider`, with this id (file-name safe, at most
    /// [`MAX_ID_LEN`] characters) saved as `<id>.mp4`; checked as a line would be.
    pub fn new(
        id: impl Into<String>,
        provider: Provider,
        request: VideoRequest,
    ) -> Result<BatchJob, String> {
        let id = id.into();
        check_id(&id)?;
        let output = format!("{id}.mp4");
        build(0, id, provider, request, output).map_err(|problems| problems.join("; "))
    }

    /// Credits billed, where the provider documents a price and the length is known.
    pub fn credits(&self) -> Option<u64> {
        let rate = self.resolution.credits_per_second(self.provider)?;
        Some(rate.saturating_mul(u64::from(self.video_seconds)))
    }

    /// The `Idempotency-Key` every submit of this job carries (HiAPI, Apiframe): derived from
    /// the provider and the job id, so a rerun after a crash gets the same task back.
    pub fn idempotency_key(&self) -> Option<String> {
        self.provider.facts().idempotency.then(|| {
            let digest = Sha256::digest(format!("happyhorse-job\n{}\n{}", self.provider, self.id));
            format!("hh-job-{}", hex(&digest[..16]))
        })
    }

    /// The ledger record.
    pub fn to_new_job(&self) -> NewJob {
        NewJob {
            id: self.id.clone(),
            line: (self.line > 0).then_some(self.line),
            provider: self.provider,
            body: self.body.clone(),
            idempotency_key: self.idempotency_key(),
            resolution: self.resolution.as_str().to_owned(),
            video_seconds: self.video_seconds,
            credits: self.credits(),
            output_name: self.output.clone(),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

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

/// How a problem names the field of a value that has the wrong JSON type.
fn wrong_type(field: &str, want: &str, value: &Value) -> String {
    format!("{field}: expected {want}, got {}", type_name(value))
}

/// The value of `field`: `Ok(None)` when absent or null, `Err(())` when it is not a string
/// (the problem already noted).
fn string_field<'a>(
    object: &'a Map<String, Value>,
    field: &str,
    problems: &mut Vec<String>,
) -> Result<Option<&'a str>, ()> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => {
            problems.push(wrong_type(field, "a string", other));
            Err(())
        }
    }
}

/// A whole number from a JSON number or a numeric string (`"5"`, `"5s"`).
fn whole(value: &Value, field: &str) -> Result<i64, String> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{field}: {} is not a whole number", quoted(&n.to_string()))),
        Value::String(s) => s
            .trim()
            .trim_end_matches('s')
            .parse()
            .map_err(|_| format!("{field}: \"{}\" is not a whole number", quoted(s))),
        other => Err(wrong_type(field, "a number", other)),
    }
}

fn url(text: &str, field: &str) -> Result<HttpUrl, String> {
    HttpUrl::from_str(text).map_err(|err| format!("{field}: {}", err.rule))
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

fn check_id(id: &str) -> Result<(), String> {
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

fn check_output(name: &str) -> Result<(), String> {
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

/// The id a line without one gets: a hash of its content as written (key order and spacing
/// do not matter; `output` does not count, so renaming the file keeps the job). A rerun with
/// another default provider keeps the id, and the ledger then refuses the changed request
/// instead of paying for it twice.
fn derived_id(mut object: Map<String, Value>) -> String {
    object.remove("output");
    let text = crate::client::canonical_json(&Value::Object(object));
    format!("job-{}", hex(&Sha256::digest(text.as_bytes())[..8]))
}

fn build(
    line: u64,
    id: String,
    provider: Provider,
    request: VideoRequest,
    output: String,
) -> Result<BatchJob, Vec<String>> {
    // Every problem of the line at once: what the provider cannot serve, and the length.
    let wire = request
        .to_wire(provider)
        .map_err(|refusal| refusal.to_string());
    let facts = provider.facts();
    let resolution = match request.resolution {
        Some(resolution) => Ok(resolution),
        None => Resolution::from_str(facts.default_resolution).map_err(|e| e.to_string()),
    };
    let video_seconds = request
        .duration
        .map(|d| u32::from(d.seconds()))
        .or(facts.default_duration.map(u32::from))
        .ok_or_else(|| {
            format!(
                "duration: {provider} documents no default length, and a batch counts what it will cost before it submits anything; set one (3 to 15)"
            )
        });
    let (wire, resolution, video_seconds) = match (wire, resolution, video_seconds) {
        (Ok(wire), Ok(resolution), Ok(seconds)) => (wire, resolution, seconds),
        (wire, resolution, seconds) => {
            return Err([wire.err(), resolution.err(), seconds.err()]
                .into_iter()
                .flatten()
                .collect())
        }
    };
    Ok(BatchJob {
        line,
        id,
        provider,
        body: wire.body.to_json(),
        request,
        output,
        resolution,
        video_seconds,
    })
}

/// A line's JSON object, refused when a key appears twice (serde_json would keep the last
/// value silently) or when the line is another JSON value.
struct LineObject(Map<String, Value>);

impl<'de> Deserialize<'de> for LineObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LineVisitor)
    }
}

struct LineVisitor;

impl LineVisitor {
    /// The error for a line that is JSON but not an object; it never quotes the value.
    fn not_an_object<E: de::Error>(got: &str) -> Result<LineObject, E> {
        Err(E::custom(format_args!("expected a JSON object, got {got}")))
    }
}

impl<'de> Visitor<'de> for LineVisitor {
    type Value = LineObject;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LineObject, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "\"{}\" is given twice; give each field once (JSON readers disagree on which value counts)",
                    quoted(&key)
                )));
            }
            let value: Value = map.next_value()?;
            object.insert(key, value);
        }
        Ok(LineObject(object))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<LineObject, A::Error> {
        Self::not_an_object("an array")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<LineObject, E> {
        Self::not_an_object("a string")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<LineObject, E> {
        Self::not_an_object("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<LineObject, E> {
        Self::not_an_object("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<LineObject, E> {
        Self::not_an_object("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<LineObject, E> {
        Self::not_an_object("a number")
    }

    fn visit_unit<E: de::Error>(self) -> Result<LineObject, E> {
        Self::not_an_object("null")
    }
}

/// The line's object, or why it is not one.
fn line_object(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<LineObject>(text) {
        Ok(LineObject(object)) => Ok(object),
        Err(err) => {
            // serde_json ends its message with the position; a line has one line.
            let full = err.to_string();
            let suffix = format!(" at line {} column {}", err.line(), err.column());
            let message = full.strip_suffix(&suffix).unwrap_or(&full);
            Err(match err.classify() {
                Category::Data => format!("{message} (column {})", err.column()),
                _ => format!("not JSON: {message} (column {})", err.column()),
            })
        }
    }
}

/// Every problem with one line, or its job; `number` is its 1-based line number.
fn parse_line(
    number: u64,
    text: &str,
    default_provider: Provider,
) -> Result<BatchJob, Vec<String>> {
    if text.len() > MAX_LINE_BYTES {
        return Err(vec![too_long(
            u64::try_from(text.len()).unwrap_or(u64::MAX),
        )]);
    }
    if text.starts_with(BYTE_ORDER_MARK) {
        return Err(vec![format!(
            "starts with a byte order mark (U+FEFF), which only the first line of a file may \
             carry; remove it (files joined together carry one per file)"
        )]);
    }
    let object = line_object(text).map_err(|message| vec![message])?;
    let unknown: Vec<&String> = object
        .keys()
        .filter(|k| !LINE_FIELDS.contains(&k.as_str()))
        .collect();
    if !unknown.is_empty() {
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
        return Err(vec![format!(
            "unknown field{} {}; a line takes {}",
            if unknown.len() == 1 { "" } else { "s" },
            named.join(", "),
            LINE_FIELDS.join(", ")
        )]);
    }
    let mut problems = Vec::new();

    let provider = match string_field(&object, "provider", &mut problems) {
        Ok(None) | Err(()) => default_provider,
        Ok(Some(name)) => Provider::from_str(name).unwrap_or_else(|_| {
            problems.push(format!(
                "provider: unknown provider \"{}\": use one of hiapi, reapi, apiframe",
                quoted(name)
            ));
            default_provider
        }),
    };
    // `Err(())`: present but refused, the problem noted.
    let prompt = string_field(&object, "prompt", &mut problems).and_then(|text| {
        text.map(Prompt::new).transpose().map_err(|err| {
            problems.push(format!("prompt: {}", err.rule));
        })
    });
    let image = string_field(&object, "image", &mut problems).and_then(|text| {
        text.map(|u| url(u, "image"))
            .transpose()
            .map_err(|message| problems.push(message))
    });
    let references = match object.get("references") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            let mut urls = Vec::new();
            let mut bad = false;
            for (i, item) in items.iter().enumerate() {
                let field = format!("references[{i}]");
                match item {
                    Value::String(text) => match url(text, &field) {
                        Ok(u) => urls.push(u),
                        Err(message) => {
                            problems.push(message);
                            bad = true;
                        }
                    },
                    other => {
                        problems.push(wrong_type(&field, "a URL string", other));
                        bad = true;
                    }
                }
            }
            if bad {
                Err(())
            } else {
                References::new(urls)
                    .map(Some)
                    .map_err(|e| problems.push(format!("references: {}", e.rule)))
            }
        }
        Some(other) => {
            problems.push(wrong_type("references", "an array of URLs", other));
            Err(())
        }
    };
    let mut request = match (image, references, prompt) {
        (Err(()), _, _) | (_, Err(()), _) => None,
        (Ok(Some(_)), Ok(Some(_)), _) => {
            problems.push(
                "give `image` (image-to-video) or `references` (reference-to-video), not both"
                    .into(),
            );
            None
        }
        (Ok(Some(image)), Ok(None), Ok(prompt)) => {
            Some(VideoRequest::image_to_video(image, prompt))
        }
        (Ok(Some(_)), Ok(None), Err(())) => None,
        (Ok(None), Ok(Some(references)), Ok(Some(prompt))) => {
            Some(VideoRequest::reference_to_video(prompt, references))
        }
        (Ok(None), Ok(Some(_)), Ok(None)) => {
            problems.push("`prompt` is required with `references`".into());
            None
        }
        (Ok(None), Ok(None), Ok(Some(prompt))) => Some(VideoRequest::text_to_video(prompt)),
        (Ok(None), Ok(None), Ok(None)) => {
            problems.push("`prompt` is required (or `image` for image-to-video)".into());
            None
        }
        (Ok(None), _, Err(())) => None,
    };
    let resolution = string_field(&object, "resolution", &mut problems);
    let aspect_ratio = string_field(&object, "aspect_ratio", &mut problems);
    let callback_url = string_field(&object, "callback_url", &mut problems);
    let mut set = |apply: Result<Box<dyn FnOnce(VideoRequest) -> VideoRequest>, String>| match apply
    {
        Ok(apply) => request = request.take().map(apply),
        Err(message) => problems.push(message),
    };
    if let Ok(Some(text)) = resolution {
        set(Resolution::from_str(text)
            .map(|r| Box::new(move |q: VideoRequest| q.with_resolution(r)) as _)
            .map_err(|e| format!("resolution: {}", e.rule)));
    }
    if let Ok(Some(text)) = aspect_ratio {
        set(AspectRatio::from_str(text)
            .map(|r| Box::new(move |q: VideoRequest| q.with_aspect_ratio(r)) as _)
            .map_err(|e| format!("aspect_ratio: {}", e.rule)));
    }
    if let Some(value) = object.get("duration").filter(|v| !v.is_null()) {
        set(whole(value, "duration").and_then(|n| {
            VideoDuration::new(n)
                .map(|d| Box::new(move |q: VideoRequest| q.with_duration(d)) as _)
                .map_err(|e| format!("duration: {}", e.rule))
        }));
    }
    if let Some(value) = object.get("seed").filter(|v| !v.is_null()) {
        set(whole(value, "seed").and_then(|n| {
            Seed::new(n)
                .map(|s| Box::new(move |q: VideoRequest| q.with_seed(s)) as _)
                .map_err(|e| format!("seed: {}", e.rule))
        }));
    }
    if let Ok(Some(text)) = callback_url {
        set(url(text, "callback_url")
            .map(|u| Box::new(move |q: VideoRequest| q.with_callback_url(u)) as _));
    }
    let id = match string_field(&object, "id", &mut problems) {
        Ok(Some(id)) => match check_id(id) {
            Ok(()) => Ok(Some(id.to_owned())),
            Err(message) => {
                problems.push(message);
                Err(())
            }
        },
        Ok(None) => Ok(None),
        Err(()) => Err(()),
    };
    let output = match string_field(&object, "output", &mut problems) {
        Ok(Some(output)) => match check_output(output) {
            Ok(()) => Ok(Some(output.to_owned())),
            Err(message) => {
                problems.push(message);
                Err(())
            }
        },
        Ok(None) => Ok(None),
        Err(()) => Err(()),
    };
    let (Some(request), true, Ok(id), Ok(output)) = (request, problems.is_empty(), id, output)
    else {
        // Every way to get here noted a problem; the fallback keeps a line from vanishing.
        if problems.is_empty() {
            problems.push("cannot become a job".to_owned());
        }
        return Err(problems);
    };
    let id = match id {
        Some(id) => id,
        None => derived_id(object),
    };
    let output = output.unwrap_or_else(|| format!("{id}.mp4"));
    build(number, id, provider, request, output)
}

/// The byte order mark a UTF-8 file may start with.
const BYTE_ORDER_MARK: char = '\u{feff}';

/// The problem with a line of `bytes` bytes, past [`MAX_LINE_BYTES`].
fn too_long(bytes: u64) -> String {
    format!(
        "the line has {bytes} bytes, more than the {MAX_LINE_BYTES} bytes (1 MiB) of the longest \
         valid line (a prompt takes at most {} characters); it was skipped unread",
        Prompt::MAX_CHARS
    )
}

/// One line of a jobs file checked on its own: its job, or every problem with it, each with
/// `line` (its 1-based number).
///
/// It checks everything a line says by itself (its JSON, its fields, whether its provider
/// can serve it), not what it shares with other lines: give each job to a
/// [`DuplicateCheck`] for that. A blank line is not JSON here ([`JobsReader`] skips blank
/// lines before they get here), nor is one that starts with a byte order mark (the reader
/// takes the one a file may start with off its first line).
///
/// ```
/// use happyhorse::{batch::parse_job_line, Provider};
///
/// let job = parse_job_line(7, r#"{"prompt": "A horse", "id": "horse"}"#, Provider::HiApi)
///     .map_err(|problems| format!("{problems:?}"))?;
/// assert_eq!((job.line, job.output.as_str()), (7, "horse.mp4"));
/// let problems =
///     parse_job_line(8, r#"{"prompt": "a", "prompt": "b"}"#, Provider::HiApi).unwrap_err();
/// assert!(problems[0].to_string().starts_with("line 8: \"prompt\" is given twice"));
/// # Ok::<(), String>(())
/// ```
pub fn parse_job_line(
    line: u64,
    text: &str,
    default_provider: Provider,
) -> Result<BatchJob, Vec<LineProblem>> {
    parse_line(line, text, default_provider).map_err(|messages| {
        messages
            .into_iter()
            .map(|message| LineProblem { line, message })
            .collect()
    })
}

/// A name's key in [`DuplicateCheck`]: 16 bytes of its SHA-256, whatever its length (two
/// names sharing one by chance is as likely as guessing a 128-bit key).
type NameKey = [u8; 16];

fn name_key(kind: &str, name: &str) -> NameKey {
    let digest = Sha256::digest(format!("{kind}\n{name}").as_bytes());
    digest.first_chunk::<16>().copied().unwrap_or_default()
}

/// The ids and output files of the jobs accepted so far, to refuse a later line that shares
/// either with one of them. It keeps 16 bytes and a line number per id and per file name,
/// whatever their length: about 100 bytes a job, 100 MB for a million.
#[derive(Clone, Debug, Default)]
pub struct DuplicateCheck {
    ids: HashMap<NameKey, u64>,
    outputs: HashMap<NameKey, u64>,
}

impl DuplicateCheck {
    /// A check that has seen no job.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `job`'s id and output file, or says which earlier job has either (and records
    /// nothing). A line without `id` gets one from its content, so two identical lines share
    /// one: the message says to give one an `id` to pay for a second video.
    pub fn check(&mut self, job: &BatchJob) -> Result<(), LineProblem> {
        let id = name_key("id", &job.id);
        let output = name_key("output", &job.output);
        let problem = |message: String| LineProblem {
            line: job.line,
            message,
        };
        if let Some(first) = self.ids.get(&id) {
            return Err(problem(format!(
                "job id \"{}\" is also line {first}'s (identical lines share a derived id); give this line its own `id` to make a second video",
                quoted(&job.id)
            )));
        }
        if let Some(first) = self.outputs.get(&output) {
            return Err(problem(format!(
                "output \"{}\" is also line {first}'s; give each line its own `output`",
                quoted(&job.output)
            )));
        }
        self.ids.insert(id, job.line);
        self.outputs.insert(output, job.line);
        Ok(())
    }

    /// How many jobs it has recorded.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether it has recorded no job.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

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
        }
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
            parse_job_line(number, text, self.default_provider)
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
mod tests {
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

    #[test]
    fn lines_and_the_duplicate_check_work_apart() {
        let mut seen = DuplicateCheck::new();
        let first =
            parse_job_line(3, r#"{"prompt": "a", "output": "x.mp4"}"#, Provider::HiApi).unwrap();
        let twin =
            parse_job_line(9, r#"{"output": "y.mp4", "prompt": "a"}"#, Provider::HiApi).unwrap();
        let same_file =
            parse_job_line(10, r#"{"prompt": "b", "output": "x.mp4"}"#, Provider::HiApi).unwrap();
        assert!(seen.check(&first).is_ok());
        let problem = seen.check(&twin).unwrap_err();
        assert_eq!(problem.line, 9);
        assert!(problem.message.contains("also line 3's"), "{problem}");
        let problem = seen.check(&same_file).unwrap_err();
        assert!(
            problem
                .message
                .starts_with("output \"x.mp4\" is also line 3's"),
            "{problem}"
        );
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn json_problems_quote_nothing_whole() {
        let huge = "x".repeat(100_000);
        for (line, about) in [
            (format!("\"{huge}\""), "got a string"),
            (format!("[\"{huge}\"]"), "got an array"),
            ("1e308".to_owned(), "got a number"),
            (format!("{{\"{huge}\": 1, \"{huge}\": 2}}"), "given twice"),
            (
                format!("{{\"prompt\": \"a\", \"duration\": 1e308, \"seed\": \"{huge}\"}}"),
                "duration",
            ),
            (format!("{{\"prompt\": \"{huge}"), "not JSON"),
            (
                r#"{"prompt": [1], "id": 7, "output": {}}"#.to_owned(),
                "prompt: expected a string, got array",
            ),
        ] {
            let problems = parse_job_line(1, &line, Provider::HiApi).unwrap_err();
            let text = problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            assert!(text.contains(about), "{text}");
            assert!(text.len() < 1_000, "{} bytes: {}", text.len(), &text[..200]);
        }
        let problems = parse_job_line(
            1,
            r#"{"prompt": [1], "id": 7, "output": {}}"#,
            Provider::HiApi,
        )
        .unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:#?}");
    }

    #[test]
    fn a_line_without_id_gets_one_from_its_content() {
        let a = parse_jobs(r#"{"prompt": "A horse", "duration": 5}"#, Provider::HiApi).unwrap();
        let b = parse_jobs(
            r#"{"duration": 5,   "prompt": "A horse", "output": "x.mp4"}"#,
            Provider::Reapi,
        )
        .unwrap();
        assert_eq!(a[0].id, b[0].id);
        assert!(a[0].id.starts_with("job-"));
        assert_eq!(a[0].output, format!("{}.mp4", a[0].id));
        let c = parse_jobs(r#"{"prompt": "A horse", "duration": 6}"#, Provider::HiApi).unwrap();
        assert_ne!(a[0].id, c[0].id);
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let text = [
            r#"{"prompt": "ok"}"#,
            r#"{"prompt": "x", "duration": 20}"#,
            "not json",
            "",
            r#"{"prompt": "y", "colour": "red"}"#,
            r#"{"prompt": "z", "seed": 1}"#,
            r#"{"prompt": "ok"}"#,
            r#"{"prompt": "w", "id": "../etc"}"#,
        ]
        .join("\n");
        let problems = parse_jobs(&text, Provider::HiApi).unwrap_err();
        let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [2, 3, 5, 6, 7, 8], "{problems:#?}");
        assert!(problems[0].message.contains("duration"), "{}", problems[0]);
        assert!(problems[2].message.contains("colour"), "{}", problems[2]);
        assert!(problems[3].message.contains("seed"), "{}", problems[3]);
        assert!(problems[4].message.contains("line 1"), "{}", problems[4]);
    }

    #[test]
    fn keys_follow_provider_and_id() {
        let jobs = parse_jobs(
            "{\"prompt\": \"a\", \"id\": \"one\", \"duration\": 4}\n{\"prompt\": \"a\", \"id\": \"two\", \"provider\": \"reapi\"}",
            Provider::Apiframe,
        )
        .unwrap();
        let key = jobs[0].idempotency_key().unwrap();
        assert!(key.starts_with("hh-job-") && key.len() <= 255);
        assert_eq!(jobs[1].idempotency_key(), None);
        assert_eq!(jobs[1].video_seconds, 5);
        let problems = parse_jobs(r#"{"prompt": "a"}"#, Provider::Apiframe).unwrap_err();
        assert!(
            problems[0].message.contains("no default length"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn jobs_built_in_code_are_checked_as_lines_are() {
        let request = VideoRequest::text_to_video(Prompt::new("A horse").unwrap());
        let job = BatchJob::new("clip-1", Provider::HiApi, request.clone()).unwrap();
        assert_eq!((job.output.as_str(), job.video_seconds), ("clip-1.mp4", 5));
        assert!(BatchJob::new("../x", Provider::HiApi, request.clone()).is_err());
        let no_length = BatchJob::new("clip-2", Provider::Apiframe, request).unwrap_err();
        assert!(no_length.contains("no default length"), "{no_length}");
    }
}
