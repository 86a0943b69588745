//! A provider-neutral request, and its conversion into each provider's wire body.
//!
//! Build a [`VideoRequest`] once; [`VideoRequest::to_wire`] turns it into the body a provider
//! takes (the generated transport type), or says exactly why that provider cannot serve it.
//! Every body it produces passes [`validate_body`](crate::validate::validate_body) and the
//! provider's OpenAPI schema.

use std::fmt;

use serde_json::{json, Map, Value};

use crate::{
    generated::{apiframe, hiapi, reapi},
    validate::{self, Issue},
    values::{AspectRatio, HttpUrl, Prompt, References, Resolution, Seed, VideoDuration},
    Provider,
};

/// What to generate from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A clip from a prompt alone.
    TextToVideo {
        /// What the clip shows.
        prompt: Prompt,
    },
    /// A clip that starts from one image.
    ImageToVideo {
        /// The first frame: JPEG/PNG/WEBP, shortest side at least 300 px, at most 20 MB.
        first_frame: HttpUrl,
        /// Optional guidance for motion and style (Apiframe requires one).
        prompt: Option<Prompt>,
    },
    /// A clip keeping the subjects and style of up to nine reference images.
    ReferenceToVideo {
        /// What the clip shows; name the references as `[Image 1]`, `[Image 2]`, ….
        prompt: Prompt,
        /// The references, in the order the prompt names them.
        references: References,
    },
}

impl Mode {
    /// `text-to-video`, `image-to-video` or `reference-to-video`.
    pub fn name(&self) -> &'static str {
        match self {
            Mode::TextToVideo { .. } => "text-to-video",
            Mode::ImageToVideo { .. } => "image-to-video",
            Mode::ReferenceToVideo { .. } => "reference-to-video",
        }
    }

    fn prompt(&self) -> Option<&Prompt> {
        match self {
            Mode::TextToVideo { prompt } | Mode::ReferenceToVideo { prompt, .. } => Some(prompt),
            Mode::ImageToVideo { prompt, .. } => prompt.as_ref(),
        }
    }
}

/// A HappyHorse 1.1 request that any provider may serve.
///
/// Unset options take the provider's default (resolution 1080p on HiAPI and Apiframe, 720p on
/// reapi; aspect ratio 16:9; duration 5 s).
///
/// ```
/// use happyhorse::{request::VideoRequest, values::{Prompt, VideoDuration}, Provider};
///
/// let request = VideoRequest::text_to_video(Prompt::new("A horse on a beach")?)
///     .with_duration(VideoDuration::new(8)?);
/// let wire = request.to_wire(Provider::HiApi)?;
/// assert_eq!(wire.body.to_json()["input"]["duration"], 8);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoRequest {
    /// What to generate from.
    pub mode: Mode,
    /// Output resolution.
    pub resolution: Option<Resolution>,
    /// Output aspect ratio (ignored in image-to-video, where the image decides).
    pub aspect_ratio: Option<AspectRatio>,
    /// Clip length.
    pub duration: Option<VideoDuration>,
    /// A seed for reproducible output (Apiframe only).
    pub seed: Option<Seed>,
    /// An audio on/off toggle. No provider has one: HappyHorse always generates audio, so any
    /// value here makes the request unservable. It exists so that the refusal is explicit.
    pub audio: Option<bool>,
    /// Where the provider should POST the finished task (HiAPI `callback.url`, Apiframe
    /// `webhookUrl`; reapi has no callbacks).
    pub callback_url: Option<HttpUrl>,
}

impl VideoRequest {
    fn new(mode: Mode) -> Self {
        VideoRequest {
            mode,
            resolution: None,
            aspect_ratio: None,
            duration: None,
            seed: None,
            audio: None,
            callback_url: None,
        }
    }

    /// Text-to-video.
    pub fn text_to_video(prompt: Prompt) -> Self {
        Self::new(Mode::TextToVideo { prompt })
    }

    /// Image-to-video from one first frame.
    pub fn image_to_video(first_frame: HttpUrl, prompt: Option<Prompt>) -> Self {
        Self::new(Mode::ImageToVideo {
            first_frame,
            prompt,
        })
    }

    /// Reference-to-video from one to nine references.
    pub fn reference_to_video(prompt: Prompt, references: References) -> Self {
        Self::new(Mode::ReferenceToVideo { prompt, references })
    }

    /// Sets the resolution.
    pub fn with_resolution(mut self, resolution: Resolution) -> Self {
        self.resolution = Some(resolution);
        self
    }

    /// Sets the aspect ratio.
    pub fn with_aspect_ratio(mut self, aspect_ratio: AspectRatio) -> Self {
        self.aspect_ratio = Some(aspect_ratio);
        self
    }

    /// Sets the duration.
    pub fn with_duration(mut self, duration: VideoDuration) -> Self {
        self.duration = Some(duration);
        self
    }

    /// Sets the seed (Apiframe only).
    pub fn with_seed(mut self, seed: Seed) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sets the callback URL.
    pub fn with_callback_url(mut self, url: HttpUrl) -> Self {
        self.callback_url = Some(url);
        self
    }

    /// Why `provider` cannot serve this request, every reason at once, or the warnings it
    /// would come with.
    pub fn check(&self, provider: Provider) -> Result<Vec<Issue>, Unsupported> {
        self.to_wire(provider).map(|wire| wire.warnings)
    }

    /// The provider's wire body for this request, with warnings about anything the provider
    /// will ignore or truncate; or every reason it cannot serve the request.
    pub fn to_wire(&self, provider: Provider) -> Result<Wire, Unsupported> {
        let mut reasons = self.capability_problems(provider);
        let json = self.body_json(provider);
        let mut report = validate::validate_body(provider, &json);
        if self.apiframe_lacks_prompt(provider) {
            // Already said, in the request's terms, by `capability_problems`.
            report
                .errors
                .retain(|e| e.message != "missing property 'prompt'");
        }
        reasons.extend(report.errors.iter().map(ToString::to_string));
        if !reasons.is_empty() {
            return Err(Unsupported { provider, reasons });
        }
        let body = WireBody::from_json(provider, json).map_err(|err| Unsupported {
            provider,
            reasons: vec![format!(
                "the generated {provider} types refused the body: {}",
                crate::values::text::quoted(&err.to_string())
            )],
        })?;
        Ok(Wire {
            body,
            warnings: report.warnings,
        })
    }

    /// Rules about what a provider offers at all, said in terms of the neutral request.
    fn capability_problems(&self, provider: Provider) -> Vec<String> {
        let mut out = Vec::new();
        if self.audio.is_some() {
            out.push(
                "audio: HappyHorse 1.1 always generates audio natively and no provider has an \
                 audio toggle; remove it (strip the audio track afterwards for a silent clip)"
                    .to_owned(),
            );
        }
        let mode = &self.mode;
        match provider {
            Provider::HiApi | Provider::Reapi if self.seed.is_some() => out.push(format!(
                "seed: {provider} has no seed (it rejects it as an unknown property); remove it, \
                 or use apiframe, the one provider with seeds"
            )),
            _ => {}
        }
        match (provider, mode) {
            (Provider::HiApi, Mode::ImageToVideo { .. }) if self.aspect_ratio.is_some() => out
                .push(
                    "aspect_ratio: HiAPI image-to-video takes no aspect_ratio (the first frame \
                     sets the orientation); remove it or crop the image"
                        .to_owned(),
                ),
            (Provider::Apiframe, Mode::ReferenceToVideo { references, .. })
                if references.len() == 1 =>
            {
                out.push(
                    "references: Apiframe reads one image as image-to-video (two to nine are \
                     reference-to-video); pass at least two references, or use image-to-video"
                        .to_owned(),
                )
            }
            _ if self.apiframe_lacks_prompt(provider) => out.push(
                "prompt: Apiframe requires a prompt (1-2500 characters) even for \
                 image-to-video; describe the motion you want"
                    .to_owned(),
            ),
            _ => {}
        }
        if let Some(ratio) = self.aspect_ratio {
            if provider == Provider::Apiframe && !ratio.on_apiframe() {
                out.push(format!(
                    "aspect_ratio: Apiframe does not offer {ratio} (it takes 16:9, 9:16, 1:1, \
                     4:3, 3:4); pick one of those, or use hiapi or reapi"
                ));
            }
        }
        if let Some(url) = &self.callback_url {
            match provider {
                Provider::Reapi => out.push(
                    "callback_url: reapi has no callbacks; poll the task instead, or use hiapi \
                     or apiframe"
                        .to_owned(),
                ),
                _ if !url.is_https() && !url.is_loopback_http() => out.push(format!(
                    "callback_url: {provider} requires an HTTPS callback URL (plain http only to a loopback receiver); '{}' is plain http",
                    crate::values::text::quoted(url.as_str())
                )),
                _ => {}
            }
        }
        out
    }

    fn apiframe_lacks_prompt(&self, provider: Provider) -> bool {
        provider == Provider::Apiframe && self.mode.prompt().is_none()
    }

    /// Whether `provider` takes this request's aspect ratio in its mode.
    fn sends_aspect_ratio(&self, provider: Provider) -> bool {
        match (provider, &self.mode, self.aspect_ratio) {
            (_, _, None) => false,
            (Provider::HiApi, Mode::ImageToVideo { .. }, _) => false,
            (Provider::Apiframe, _, Some(ratio)) => ratio.on_apiframe(),
            _ => true,
        }
    }

    /// The callback URL, where the provider takes callbacks and this one is HTTPS.
    fn sent_callback(&self, provider: Provider) -> Option<&HttpUrl> {
        self.callback_url
            .as_ref()
            .filter(|url| provider != Provider::Reapi && (url.is_https() || url.is_loopback_http()))
    }

    /// The provider's body as JSON, field for field; rules are checked separately.
    fn body_json(&self, provider: Provider) -> Value {
        let mut options = Map::new();
        if let Some(r) = self.resolution {
            options.insert("resolution".into(), json!(r.as_str()));
        }
        // What a provider cannot take stays out of the body; `capability_problems` says why.
        if let (Some(a), true) = (self.aspect_ratio, self.sends_aspect_ratio(provider)) {
            options.insert("aspect_ratio".into(), json!(a.as_str()));
        }
        if let Some(d) = self.duration {
            options.insert("duration".into(), json!(d.seconds()));
        }
        let prompt = self.mode.prompt().map(|p| json!(p.as_str()));
        let urls = |list: &[HttpUrl]| json!(list.iter().map(HttpUrl::as_str).collect::<Vec<_>>());
        match provider {
            Provider::HiApi => {
                let mut input = options;
                let model = match &self.mode {
                    Mode::TextToVideo { .. } => Provider::HiApi.facts().models[0],
                    Mode::ImageToVideo { first_frame, .. } => {
                        input.insert("image_urls".into(), urls(std::slice::from_ref(first_frame)));
                        Provider::HiApi.facts().models[1]
                    }
                    Mode::ReferenceToVideo { references, .. } => {
                        input.insert("reference_image".into(), urls(references.urls()));
                        Provider::HiApi.facts().models[2]
                    }
                };
                if let Some(p) = prompt {
                    input.insert("prompt".into(), p);
                }
                let mut body = json!({"model": model, "input": input});
                if let Some(url) = self.sent_callback(provider) {
                    set_callback(provider, &mut body, url.as_str(), false);
                }
                body
            }
            Provider::Reapi => {
                let mut body = options;
                body.insert("model".into(), json!(Provider::Reapi.facts().models[0]));
                if let Some(p) = prompt {
                    body.insert("prompt".into(), p);
                }
                match &self.mode {
                    Mode::TextToVideo { .. } => {}
                    Mode::ImageToVideo { first_frame, .. } => {
                        body.insert("image_urls".into(), urls(std::slice::from_ref(first_frame)));
                    }
                    Mode::ReferenceToVideo { references, .. } => {
                        body.insert("reference_image_urls".into(), urls(references.urls()));
                    }
                }
                Value::Object(body)
            }
            Provider::Apiframe => {
                let mut params = options;
                match &self.mode {
                    Mode::TextToVideo { .. } => {}
                    Mode::ImageToVideo { first_frame, .. } => {
                        params.insert("images".into(), urls(std::slice::from_ref(first_frame)));
                    }
                    Mode::ReferenceToVideo { references, .. } => {
                        params.insert("images".into(), urls(references.urls()));
                    }
                }
                if let Some(seed) = self.seed {
                    params.insert("seed".into(), json!(seed.get()));
                }
                let mut body = json!({"model": Provider::Apiframe.facts().models[0]});
                if let Some(p) = prompt {
                    body["prompt"] = p;
                }
                if !params.is_empty() {
                    body["happyhorse11Params"] = Value::Object(params);
                }
                if let Some(url) = self.sent_callback(provider) {
                    set_callback(provider, &mut body, url.as_str(), false);
                }
                body
            }
        }
    }
}

/// Puts a callback URL into a provider's wire body, in its field: HiAPI `callback.url` (final
/// state only, HiAPI's `when: final`), Apiframe `webhookUrl` (with `webhookEvents` completed
/// and failed, plus progress when `progress`). reapi has no callbacks: its body is left as is.
/// The caller has checked the URL (HTTPS, or plain HTTP to a loopback receiver).
pub(crate) fn set_callback(provider: Provider, body: &mut Value, url: &str, progress: bool) {
    match provider {
        Provider::HiApi => body["callback"] = json!({"url": url, "when": "final"}),
        Provider::Apiframe => {
            body["webhookUrl"] = json!(url);
            if progress {
                body["webhookEvents"] = json!(["progress", "completed", "failed"]);
            }
        }
        Provider::Reapi => {}
    }
}

/// The callback URL a provider's wire body carries, if any.
#[cfg(feature = "ledger")]
pub(crate) fn callback_of(provider: Provider, body: &Value) -> Option<&str> {
    match provider {
        Provider::HiApi => body.pointer("/callback/url"),
        Provider::Apiframe => body.get("webhookUrl"),
        Provider::Reapi => None,
    }
    .and_then(Value::as_str)
}

/// The prompt a provider's wire body carries, if any (HiAPI nests it in `input`).
#[cfg(feature = "ledger")]
pub(crate) fn prompt_of(provider: Provider, body: &Value) -> Option<&str> {
    match provider {
        Provider::HiApi => body.pointer("/input/prompt"),
        Provider::Reapi | Provider::Apiframe => body.get("prompt"),
    }
    .and_then(Value::as_str)
}

/// A provider's body, as the generated transport types hold it. `Debug` shows it as JSON with
/// the query of every URL left out (a presigned image URL, a callback's token).
#[derive(Clone, PartialEq)]
pub enum WireBody {
    /// `POST /v1/tasks`.
    HiApi(hiapi::types::CreateTaskRequest),
    /// `POST /api/v1/videos/generations`.
    Reapi(reapi::types::GenerationRequest),
    /// `POST /v2/videos/generate`.
    Apiframe(apiframe::types::GenerateVideoRequest),
}

impl std::fmt::Debug for WireBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let variant = match self {
            WireBody::HiApi(_) => "HiApi",
            WireBody::Reapi(_) => "Reapi",
            WireBody::Apiframe(_) => "Apiframe",
        };
        f.debug_tuple(variant)
            .field(&crate::net::RedactedJson(&self.to_json()))
            .finish()
    }
}

impl WireBody {
    /// Parses a provider-native JSON body into the generated type. This checks shapes only;
    /// use [`validate_body`](crate::validate::validate_body) for the documented rules.
    pub fn from_json(provider: Provider, body: Value) -> Result<Self, serde_json::Error> {
        Ok(match provider {
            Provider::HiApi => WireBody::HiApi(serde_json::from_value(body)?),
            Provider::Reapi => WireBody::Reapi(serde_json::from_value(body)?),
            Provider::Apiframe => WireBody::Apiframe(serde_json::from_value(body)?),
        })
    }

    /// The provider this body is for.
    pub fn provider(&self) -> Provider {
        match self {
            WireBody::HiApi(_) => Provider::HiApi,
            WireBody::Reapi(_) => Provider::Reapi,
            WireBody::Apiframe(_) => Provider::Apiframe,
        }
    }

    /// The body exactly as it goes on the wire.
    pub fn to_json(&self) -> Value {
        let json = match self {
            WireBody::HiApi(b) => serde_json::to_value(b),
            WireBody::Reapi(b) => serde_json::to_value(b),
            WireBody::Apiframe(b) => serde_json::to_value(b),
        };
        // The generated types hold only strings, integers and maps with string keys.
        json.unwrap_or_else(|err| unreachable!("generated types always serialize: {err}"))
    }
}

/// A wire body and the warnings it comes with.
#[derive(Clone, Debug, PartialEq)]
pub struct Wire {
    /// The body to send.
    pub body: WireBody,
    /// What the provider will ignore or truncate.
    pub warnings: Vec<Issue>,
}

/// Why a provider cannot serve a request: every reason, each saying what to do instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// The provider asked.
    pub provider: Provider,
    /// One line per problem.
    pub reasons: Vec<String>,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cannot serve this request: {}",
            self.provider,
            self.reasons.join("; ")
        )
    }
}

impl std::error::Error for Unsupported {}
