//! A jobs file: one JSON object per line, with the `generate` command's names, checked in full
//! before anything is sent.

use std::{collections::HashMap, fmt, str::FromStr};

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{
    ledger::NewJob,
    values::{AspectRatio, HttpUrl, References, Resolution, Seed, VideoDuration},
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
        build(0, id, provider, request, output)
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    prompt: Option<String>,
    image: Option<String>,
    references: Option<Vec<String>>,
    resolution: Option<String>,
    aspect_ratio: Option<String>,
    duration: Option<Value>,
    seed: Option<Value>,
    callback_url: Option<String>,
    provider: Option<String>,
    id: Option<String>,
    output: Option<String>,
}

/// A whole number from a JSON number or a numeric string.
fn whole(value: &Value, field: &str) -> Result<i64, String> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{field}: {n} is not a whole number")),
        Value::String(s) => s
            .trim()
            .trim_end_matches('s')
            .parse()
            .map_err(|_| format!("{field}: {s:?} is not a whole number")),
        other => Err(format!("{field}: expected a number, got {other}")),
    }
}

fn url(text: &str, field: &str) -> Result<HttpUrl, String> {
    HttpUrl::from_str(text).map_err(|err| format!("{field}: {}", err.rule))
}

fn check_id(id: &str) -> Result<(), String> {
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
            "id {id:?}: use 1 to {MAX_ID_LEN} letters, digits, '-', '_' or '.', not starting with '.' (it names the output file)"
        ))
    }
}

fn check_output(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "output {name:?}: give a plain file name (no directories, not starting with '.'); it is written in the output directory"
        ))
    }
}

/// The id a line without one gets: a hash of its content as written (key order and spacing
/// do not matter; `output` does not count, so renaming the file keeps the job). A rerun with
/// another default provider keeps the id, and the ledger then refuses the changed request
/// instead of paying for it twice.
fn derived_id(object: &serde_json::Map<String, Value>) -> String {
    let mut content = object.clone();
    content.remove("output");
    let text = crate::client::canonical_json(&Value::Object(content));
    format!("job-{}", hex(&Sha256::digest(text.as_bytes())[..8]))
}

fn build(
    line: u64,
    id: String,
    provider: Provider,
    request: VideoRequest,
    output: String,
) -> Result<BatchJob, String> {
    let wire = request
        .to_wire(provider)
        .map_err(|refusal| refusal.to_string())?;
    let facts = provider.facts();
    let resolution = match request.resolution {
        Some(resolution) => resolution,
        None => Resolution::from_str(facts.default_resolution).map_err(|e| e.to_string())?,
    };
    let video_seconds = request
        .duration
        .map(|d| u32::from(d.seconds()))
        .or(facts.default_duration.map(u32::from))
        .ok_or_else(|| {
            format!(
                "duration: {provider} documents no default length, and a batch counts what it will cost before it submits anything; set one (3 to 15)"
            )
        })?;
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

fn parse_line(
    number: u64,
    text: &str,
    default_provider: Provider,
) -> Result<BatchJob, Vec<String>> {
    let object: serde_json::Map<String, Value> = match serde_json::from_str(text) {
        Ok(Value::Object(object)) => object,
        Ok(other) => {
            return Err(vec![format!(
                "expected a JSON object, got {}",
                match other {
                    Value::Array(_) => "an array",
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    Value::Bool(_) => "a boolean",
                    _ => "null",
                }
            )])
        }
        Err(err) => return Err(vec![format!("not JSON: {err}")]),
    };
    let unknown: Vec<&String> = object
        .keys()
        .filter(|k| !LINE_FIELDS.contains(&k.as_str()))
        .collect();
    if !unknown.is_empty() {
        return Err(vec![format!(
            "unknown field{} {}; a line takes {}",
            if unknown.len() == 1 { "" } else { "s" },
            unknown
                .iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            LINE_FIELDS.join(", ")
        )]);
    }
    let fields: Line = serde_json::from_value(Value::Object(object.clone()))
        .map_err(|err| vec![err.to_string()])?;
    let mut problems = Vec::new();
    let mut note = |result: Result<(), String>| {
        if let Err(message) = result {
            problems.push(message);
        }
    };

    let provider = match fields.provider.as_deref().map(Provider::from_str) {
        None => default_provider,
        Some(Ok(provider)) => provider,
        Some(Err(err)) => {
            note(Err(format!("provider: {err}")));
            default_provider
        }
    };
    let prompt = match fields.prompt.map(Prompt::new).transpose() {
        Ok(prompt) => prompt,
        Err(err) => {
            note(Err(format!("prompt: {}", err.rule)));
            None
        }
    };
    let image = fields.image.as_deref().map(|u| url(u, "image")).transpose();
    let references = fields.references.map(|urls| {
        urls.iter()
            .enumerate()
            .map(|(i, u)| url(u, &format!("references[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .and_then(|urls| References::new(urls).map_err(|e| format!("references: {}", e.rule)))
    });
    let mut request = match (image, references, prompt) {
        (Err(message), _, _) | (_, Some(Err(message)), _) => {
            note(Err(message));
            None
        }
        (Ok(Some(_)), Some(Ok(_)), _) => {
            note(Err(
                "give `image` (image-to-video) or `references` (reference-to-video), not both"
                    .into(),
            ));
            None
        }
        (Ok(Some(image)), None, prompt) => Some(VideoRequest::image_to_video(image, prompt)),
        (Ok(None), Some(Ok(references)), Some(prompt)) => {
            Some(VideoRequest::reference_to_video(prompt, references))
        }
        (Ok(None), Some(Ok(_)), None) => {
            note(Err("`prompt` is required with `references`".into()));
            None
        }
        (Ok(None), None, Some(prompt)) => Some(VideoRequest::text_to_video(prompt)),
        (Ok(None), None, None) => {
            note(Err(
                "`prompt` is required (or `image` for image-to-video)".into()
            ));
            None
        }
    };
    let mut set = |apply: Result<Box<dyn FnOnce(VideoRequest) -> VideoRequest>, String>| match apply
    {
        Ok(apply) => request = request.take().map(apply),
        Err(message) => problems.push(message),
    };
    if let Some(text) = fields.resolution {
        set(Resolution::from_str(&text)
            .map(|r| Box::new(move |q: VideoRequest| q.with_resolution(r)) as _)
            .map_err(|e| format!("resolution: {}", e.rule)));
    }
    if let Some(text) = fields.aspect_ratio {
        set(AspectRatio::from_str(&text)
            .map(|r| Box::new(move |q: VideoRequest| q.with_aspect_ratio(r)) as _)
            .map_err(|e| format!("aspect_ratio: {}", e.rule)));
    }
    if let Some(value) = fields.duration {
        set(whole(&value, "duration").and_then(|n| {
            VideoDuration::new(n)
                .map(|d| Box::new(move |q: VideoRequest| q.with_duration(d)) as _)
                .map_err(|e| format!("duration: {}", e.rule))
        }));
    }
    if let Some(value) = fields.seed {
        set(whole(&value, "seed").and_then(|n| {
            Seed::new(n)
                .map(|s| Box::new(move |q: VideoRequest| q.with_seed(s)) as _)
                .map_err(|e| format!("seed: {}", e.rule))
        }));
    }
    if let Some(text) = fields.callback_url {
        set(url(&text, "callback_url")
            .map(|u| Box::new(move |q: VideoRequest| q.with_callback_url(u)) as _));
    }
    let (id, id_ok) = match fields.id {
        Some(id) => match check_id(&id) {
            Ok(()) => (id, true),
            Err(message) => {
                problems.push(message);
                (id, false)
            }
        },
        None => (derived_id(&object), true),
    };
    let output = match fields.output {
        Some(output) => {
            if let Err(message) = check_output(&output) {
                problems.push(message);
            }
            output
        }
        // A bad id is reported once, not again as a bad file name.
        None if id_ok => format!("{id}.mp4"),
        None => String::new(),
    };
    match request {
        Some(request) if problems.is_empty() => {
            build(number, id, provider, request, output).map_err(|message| vec![message])
        }
        _ => Err(problems),
    }
}

/// Every line of a jobs file checked: the jobs, or every problem with its line number.
///
/// Blank lines are skipped. Besides each line's own checks (its fields, and whether its
/// provider can serve it), two lines may not share an id (a line without `id` gets one from
/// its content, so two identical lines share one: give one an `id` to pay for a second video)
/// or an output file.
pub fn parse_jobs(
    text: &str,
    default_provider: Provider,
) -> Result<Vec<BatchJob>, Vec<LineProblem>> {
    let mut jobs = Vec::new();
    let mut problems = Vec::new();
    let mut ids: HashMap<String, u64> = HashMap::new();
    let mut outputs: HashMap<String, u64> = HashMap::new();
    for (index, text) in text.lines().enumerate() {
        let number = u64::try_from(index).unwrap_or(u64::MAX).saturating_add(1);
        if text.trim().is_empty() {
            continue;
        }
        match parse_line(number, text, default_provider) {
            Ok(job) => {
                if let Some(first) = ids.get(&job.id) {
                    problems.push(LineProblem {
                        line: number,
                        message: format!(
                            "job id {:?} is also line {first}'s (identical lines share a derived id); give this line its own `id` to make a second video",
                            job.id
                        ),
                    });
                    continue;
                }
                if let Some(first) = outputs.get(&job.output) {
                    problems.push(LineProblem {
                        line: number,
                        message: format!(
                            "output {:?} is also line {first}'s; give each line its own `output`",
                            job.output
                        ),
                    });
                    continue;
                }
                ids.insert(job.id.clone(), number);
                outputs.insert(job.output.clone(), number);
                jobs.push(job);
            }
            Err(messages) => problems.extend(messages.into_iter().map(|message| LineProblem {
                line: number,
                message,
            })),
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
    use super::*;

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
