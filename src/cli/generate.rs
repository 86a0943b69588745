//! `happyhorse generate`: prompt (and images) in, MP4 on disk out.

use std::{path::PathBuf, process::ExitCode, time::Duration as StdDuration};

use happyhorse::{
    client::{IdempotencyKey, Progress, Submission, TaskState},
    values::{AspectRatio, HttpUrl, References, Resolution, Seed, VideoDuration},
    Error, Prompt, VideoRequest,
};
use serde_json::json;

use super::{
    out::{self, Target},
    preflight,
    session::{self, Common, Context, Session, UNUSABLE},
    stage,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What should happen in the video, as one quoted argument (optional with --image).
    #[arg(value_name = "PROMPT")]
    prompt: Vec<String>,
    #[command(flatten)]
    common: Common,
    /// Run against a local emulator started in this process (no key, no cost).
    #[arg(long)]
    sandbox: bool,
    /// The first frame: image-to-video. An http(s) URL, or a local file (with --stage).
    #[arg(long, value_name = "URL_OR_FILE", conflicts_with = "references")]
    image: Option<String>,
    /// A reference image (repeat up to 9 times): reference-to-video. Point at them in the
    /// prompt as [Image 1], [Image 2], ... An http(s) URL, or a local file (with --stage).
    #[arg(long = "ref", value_name = "URL_OR_FILE")]
    references: Vec<String>,
    /// Where local images are uploaded for the provider to fetch: s3://BUCKET/PREFIX (any
    /// S3-compatible store, with AWS_ENDPOINT_URL), gs://BUCKET/PREFIX or az://CONTAINER/PREFIX.
    /// Each image is checked first, stored once under its SHA-256 and sent as a presigned URL.
    /// Credentials come from the cloud's usual environment, never from a flag.
    #[arg(long, value_name = "URL", env = "HAPPYHORSE_STAGE")]
    stage: Option<String>,
    /// How long a staged image's presigned URL lasts, in seconds: 60 to 604800 (7 days, the
    /// most S3 signs). The default, a day, covers the task (about three minutes) many times over
    /// and matches the providers' 24 h output URLs.
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(60..=604_800))]
    stage_ttl: u64,
    /// 720p or 1080p.
    #[arg(long)]
    resolution: Option<Resolution>,
    /// 16:9, 9:16, 1:1, 4:3, 3:4 (all providers); 21:9, 9:21, 4:5, 5:4 (not Apiframe).
    #[arg(long)]
    aspect_ratio: Option<AspectRatio>,
    /// Seconds, 3 to 15.
    #[arg(long)]
    duration: Option<VideoDuration>,
    /// Seed, 0 to 2147483647 (Apiframe only).
    #[arg(long)]
    seed: Option<Seed>,
    /// HTTPS URL the provider notifies when the task ends (HiAPI, Apiframe).
    #[arg(long, value_name = "URL")]
    callback_url: Option<HttpUrl>,
    /// Where to write the video (default happyhorse-<date>-<time>.mp4 in this directory): a
    /// file, or an object (s3://BUCKET/NAME.mp4, or s3://BUCKET/PREFIX/ for the default name;
    /// gs://, az://; credentials from the environment), streamed there from the provider.
    #[arg(long, short, alias = "out")]
    output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
    /// Print the exact wire body (and the cost, where documented); send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Give up waiting after this many seconds (the task goes on; resume with `wait`).
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    max_wait: u64,
    /// Send the images without fetching them first. By default every image is fetched
    /// (its first bytes) and checked against the provider's limits before the submit: type,
    /// size, shortest side (and reapi's aspect ratio); a broken one fails the task minutes
    /// later, maybe billed.
    #[arg(long)]
    no_preflight: bool,
    /// Idempotency-Key to send instead of the one derived from the request (HiAPI,
    /// Apiframe). Use a new key to get a second video from an identical request.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

fn request(
    args: &Args,
    image: Option<HttpUrl>,
    references: Vec<HttpUrl>,
) -> Result<VideoRequest, String> {
    if args.prompt.len() > 1 {
        return Err(format!(
            "the prompt is one argument, and {} were given: quote it, e.g. happyhorse generate \"{}\"",
            args.prompt.len(),
            args.prompt.join(" ").replace('"', "\\\"")
        ));
    }
    let prompt = args
        .prompt
        .first()
        .map(Prompt::new)
        .transpose()
        .map_err(|err| err.to_string())?;
    let mut request = if let Some(image) = image {
        VideoRequest::image_to_video(image, prompt)
    } else if !references.is_empty() {
        let prompt = prompt.ok_or("a prompt is required with --ref")?;
        let references =
            References::new(references).map_err(|err| format!("--ref: {}", err.rule))?;
        VideoRequest::reference_to_video(prompt, references)
    } else {
        let prompt = prompt.ok_or("a prompt is required (or --image URL for image-to-video)")?;
        VideoRequest::text_to_video(prompt)
    };
    if let Some(resolution) = args.resolution {
        request = request.with_resolution(resolution);
    }
    if let Some(ratio) = args.aspect_ratio {
        request = request.with_aspect_ratio(ratio);
    }
    if let Some(duration) = args.duration {
        request = request.with_duration(duration);
    }
    if let Some(seed) = args.seed {
        request = request.with_seed(seed);
    }
    if let Some(url) = &args.callback_url {
        request = request.with_callback_url(url.clone());
    }
    Ok(request)
}

/// One rule with `batch`: where the provider documents no default length, what the video
/// costs cannot be known before paying, so the length must be given.
fn missing_duration(args: &Args) -> Option<String> {
    let provider = args.common.provider;
    (args.duration.is_none() && provider.facts().default_duration.is_none()).then(|| {
        format!(
            "--duration: {provider} documents no default length, so what the video costs cannot be known before paying; set one (3 to 15), as a batch line must"
        )
    })
}

/// The images to send: URLs as given, local files checked and staged.
async fn images(args: &Args) -> Result<(Option<HttpUrl>, Vec<HttpUrl>), ExitCode> {
    let provider = args.common.provider;
    let stage = stage::Stage {
        url: args.stage.as_deref(),
        ttl: StdDuration::from_secs(args.stage_ttl),
        dry_run: args.dry_run,
    };
    let image = match &args.image {
        Some(image) => {
            let urls = stage::urls(
                provider,
                "--image",
                "image-to-video",
                std::slice::from_ref(image),
                &stage,
            )
            .await?;
            urls.into_iter().next()
        }
        None => None,
    };
    let references = if args.references.is_empty() {
        Vec::new()
    } else {
        stage::urls(
            provider,
            "--ref",
            "reference-to-video",
            &args.references,
            &stage,
        )
        .await?
    };
    Ok((image, references))
}

pub fn run(args: Args) -> ExitCode {
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    // What the provider cannot serve is refused before any local image is staged: the request
    // is judged first with a stand-in URL for each image that is not one yet.
    let stand_in = |text: &String| {
        HttpUrl::new(text.as_str())
            .or_else(|_| HttpUrl::new("https://staged.invalid/image.png"))
            .ok()
    };
    let stand_ins = (
        args.image.as_ref().and_then(stand_in),
        args.references.iter().filter_map(stand_in).collect(),
    );
    if let Err(code) = servable(&args, stand_ins.0, stand_ins.1) {
        return code;
    }
    let (image, references) = match runtime.block_on(images(&args)) {
        Ok(images) => images,
        Err(code) => return code,
    };
    let request = match servable(&args, image, references) {
        Ok(request) => request,
        Err(code) => return code,
    };
    if args.dry_run {
        return dry_run(&args, &request);
    }
    runtime.block_on(generate(&args, &request))
}

/// The request `image` and `references` make with the other options, or every reason the
/// provider cannot serve it (and a missing length) at once, and the exit status.
fn servable(
    args: &Args,
    image: Option<HttpUrl>,
    references: Vec<HttpUrl>,
) -> Result<VideoRequest, ExitCode> {
    let request = request(args, image, references).map_err(|message| {
        eprintln!("error: {message}");
        ExitCode::from(UNUSABLE)
    })?;
    let refusal = request.to_wire(args.common.provider).err();
    match (refusal, missing_duration(args)) {
        (None, None) => Ok(request),
        (Some(refusal), None) => Err(session::fail(
            &Error::Unsupported(refusal),
            args.common.json,
            &Context::new(args.common.provider, args.sandbox),
        )),
        (refusal, Some(problem)) => {
            if let Some(refusal) = refusal {
                eprintln!("error: {refusal}");
            }
            eprintln!("error: {problem}");
            Err(ExitCode::from(UNUSABLE))
        }
    }
}

fn dry_run(args: &Args, request: &VideoRequest) -> ExitCode {
    let provider = args.common.provider;
    let wire = match request.to_wire(provider) {
        Ok(wire) => wire,
        Err(refusal) => {
            return session::fail(
                &Error::Unsupported(refusal),
                args.common.json,
                &Context::new(provider, args.sandbox),
            )
        }
    };
    let body = wire.body.to_json();
    let warnings: Vec<String> = wire.warnings.iter().map(ToString::to_string).collect();
    // 1080p is Apiframe's default.
    let resolution = args.resolution.unwrap_or(Resolution::P1080);
    let per_second = resolution.credits_per_second(provider);
    let cost = per_second
        .zip(args.duration)
        .map(|(rate, duration)| rate.saturating_mul(u64::from(duration.seconds())));
    if args.common.json {
        println!(
            "{}",
            json!({"provider": provider, "body": body, "warnings": warnings, "cost_credits": cost, "sent": false})
        );
        return ExitCode::SUCCESS;
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&body).unwrap_or_else(|_| body.to_string())
    );
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    match (per_second, cost) {
        (Some(rate), Some(credits)) => eprintln!(
            "cost: {credits} credits ({rate} credits/s at {}, {provider}'s page)",
            resolution.as_str()
        ),
        (Some(rate), None) => eprintln!(
            "cost: {rate} credits per second at {}; pass --duration for a total ({provider} does not document its default duration)",
            resolution.as_str()
        ),
        _ => eprintln!("cost: {provider} documents no price for this model; see its pricing page"),
    }
    eprintln!("dry run: nothing was sent");
    ExitCode::SUCCESS
}

async fn generate(args: &Args, request: &VideoRequest) -> ExitCode {
    let json = args.common.json;
    let provider = args.common.provider;
    let mut context = Context::new(provider, args.sandbox);
    let session = match Session::open(&args.common, args.sandbox).await {
        Ok(session) => session,
        Err(err) => return session::fail(&err, json, &context),
    };
    if let Err(code) = check_images(args, request).await {
        return code;
    }
    let key = args
        .idempotency_key
        .clone()
        .map_or(IdempotencyKey::Derived, IdempotencyKey::Custom);
    let target = match Target::of(args.output.as_deref(), default_path) {
        Ok(target) => target,
        Err(err) => return session::fail(&err, json, &context),
    };
    // An object that exists, or a store the credentials do not reach, is refused before paying.
    if let Err(err) = target.check(args.force).await {
        return session::fail(&err, json, &context);
    }
    context.path = Some(target.shown());
    let spinner = session.spinner("submitting".into());
    let bar = session.bar(&target.shown());
    let mut submitted: Option<Submission> = None;
    let mut succeeded = false;
    let generate = session
        .client
        .generate(request)
        .idempotency_key(key)
        .max_wait(StdDuration::from_secs(args.max_wait))
        .cancel_on(session.interrupted.clone())
        .on_progress(|event| match event {
            Progress::Submitted(submission) => {
                for warning in &submission.warnings {
                    spinner.suspend(|| eprintln!("warning: {warning}"));
                }
                if !json {
                    let replay = if submission.replayed {
                        " (replayed: an earlier submit of this request)"
                    } else {
                        ""
                    };
                    spinner.suspend(|| {
                        eprintln!(
                            "submitted {} task {}{replay}",
                            submission.provider, submission.id
                        )
                    });
                }
                spinner.set_message(format!("task {}: {}", submission.id, submission.status));
                submitted = Some(submission.clone());
            }
            Progress::Status(snapshot) => {
                succeeded |= snapshot.state == TaskState::Succeeded;
                session::status_line(&spinner, snapshot, json)
            }
            Progress::Downloading { received, total } => {
                if !spinner.is_finished() {
                    spinner.finish_and_clear();
                }
                if let Some(total) = total {
                    bar.set_length(total);
                }
                bar.set_position(received);
            }
            _ => {}
        });
    let result = match &target {
        Target::File(path) => generate.save_to(path).overwrite(args.force).await.map(Ok),
        Target::Object { .. } => generate.await.map(Err),
    };
    spinner.finish_and_clear();
    bar.finish_and_clear();
    context.task = submitted.as_ref().map(|s| s.id.clone());
    context.succeeded = succeeded;
    let saved = match result {
        Ok(Ok(saved)) => saved,
        Ok(Err(finished)) => {
            let Target::Object { destination, name } = &target else {
                return ExitCode::from(session::FAILED);
            };
            let task = finished.snapshot();
            return match out::upload(&session, finished.output(), destination, name).await {
                Ok(stored) => {
                    let more = json!({
                        "provider": provider, "status": task.status,
                        "idempotency_key": submitted.as_ref().and_then(|s| s.idempotency_key.clone()),
                        "replayed": submitted.as_ref().is_some_and(|s| s.replayed),
                        "credit_cost": task.credit_cost,
                    });
                    out::print_stored(&stored, &task.id, json, more);
                    ExitCode::SUCCESS
                }
                Err(err) => session::fail(&err, json, &context),
            };
        }
        Err(err) => return session::fail(&err, json, &context),
    };
    let task = saved.task.snapshot();
    if json {
        println!(
            "{}",
            json!({
                "ok": true, "provider": saved.provider, "id": task.id, "status": task.status,
                "path": saved.path, "bytes": saved.bytes, "resumes": saved.resumes,
                "idempotency_key": saved.submission.idempotency_key,
                "replayed": saved.submission.replayed,
                "credit_cost": task.credit_cost, "warnings": saved.submission.warnings,
            })
        );
    } else {
        println!("{}", saved.path.display());
        eprintln!(
            "{}",
            session::saved_line(&saved.path, saved.bytes, &task.id)
        );
    }
    ExitCode::SUCCESS
}

/// A file name for a new video that no earlier run used: `happyhorse-YYYYMMDD-HHMMSS.mp4` in
/// the current directory, with `-2`, `-3`, ... when that exists already.
/// The request's images checked before it is paid for (unless `--no-preflight`).
async fn check_images(args: &Args, request: &VideoRequest) -> Result<(), ExitCode> {
    let provider = args.common.provider;
    // A request the provider cannot serve is refused by the submit, with its reasons.
    let Ok(wire) = request.to_wire(provider) else {
        return Ok(());
    };
    let preflight = match preflight::preflight(args.no_preflight) {
        Ok(preflight) => preflight,
        Err(err) => {
            eprintln!("error: {err}");
            return Err(ExitCode::from(session::FAILED));
        }
    };
    let problems = preflight.check(provider, &wire.body.to_json()).await;
    preflight::report(&problems, args.common.json, "")
}

fn default_path() -> PathBuf {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
    let first = PathBuf::from(format!("happyhorse-{stamp}.mp4"));
    if !first.exists() {
        return first;
    }
    (2u32..)
        .map(|n| PathBuf::from(format!("happyhorse-{stamp}-{n}.mp4")))
        .find(|path| !path.exists())
        .unwrap_or(first)
}
