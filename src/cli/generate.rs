//! `happyhorse generate`: prompt (and images) in, MP4 on disk out.

use std::{path::PathBuf, process::ExitCode, time::Duration as StdDuration};

use happyhorse::{
    client::{Error, IdempotencyKey, SubmitOptions},
    request::VideoRequest,
    values::{AspectRatio, Duration, HttpUrl, Prompt, References, Resolution, Seed},
    Provider,
};
use serde_json::json;

use super::session::{self, Common, Session, UNUSABLE};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What should happen in the video (optional with --image).
    prompt: Option<String>,
    #[command(flatten)]
    common: Common,
    /// Run against a local emulator started in this process (no key, no cost).
    #[arg(long)]
    sandbox: bool,
    /// The first frame: image-to-video.
    #[arg(long, value_name = "URL", conflicts_with = "references")]
    image: Option<HttpUrl>,
    /// A reference image (repeat up to 9 times): reference-to-video. Point at them in the
    /// prompt as [Image 1], [Image 2], ...
    #[arg(long = "ref", value_name = "URL")]
    references: Vec<HttpUrl>,
    /// 720p or 1080p.
    #[arg(long)]
    resolution: Option<Resolution>,
    /// 16:9, 9:16, 1:1, 4:3, 3:4 (all providers); 21:9, 9:21, 4:5, 5:4 (not Apiframe).
    #[arg(long)]
    aspect_ratio: Option<AspectRatio>,
    /// Seconds, 3 to 15.
    #[arg(long)]
    duration: Option<Duration>,
    /// Seed, 0 to 2147483647 (Apiframe only).
    #[arg(long)]
    seed: Option<Seed>,
    /// HTTPS URL the provider notifies when the task ends (HiAPI, Apiframe).
    #[arg(long, value_name = "URL")]
    callback_url: Option<HttpUrl>,
    /// Where to write the video (default happyhorse-<task id>.mp4).
    #[arg(long, short)]
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
    /// Idempotency-Key to send instead of the one derived from the request (HiAPI,
    /// Apiframe). Use a new key to get a second video from an identical request.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

fn request(args: &Args) -> Result<VideoRequest, String> {
    let prompt = args
        .prompt
        .as_deref()
        .map(Prompt::new)
        .transpose()
        .map_err(|err| format!("prompt: {err}"))?;
    let mut request = if let Some(image) = &args.image {
        VideoRequest::image_to_video(image.clone(), prompt)
    } else if !args.references.is_empty() {
        let prompt = prompt.ok_or("a prompt is required with --ref")?;
        let references =
            References::new(args.references.clone()).map_err(|err| format!("--ref: {err}"))?;
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

pub fn run(args: Args) -> ExitCode {
    let request = match request(&args) {
        Ok(request) => request,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(UNUSABLE);
        }
    };
    if args.dry_run {
        return dry_run(&args, &request);
    }
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(generate(&args, &request))
}

fn dry_run(args: &Args, request: &VideoRequest) -> ExitCode {
    let provider = args.common.provider;
    let wire = match request.to_wire(provider) {
        Ok(wire) => wire,
        Err(refusal) => return session::fail(&Error::Unsupported(refusal), args.common.json),
    };
    let body = wire.body.to_json();
    let warnings: Vec<String> = wire.warnings.iter().map(ToString::to_string).collect();
    // 1080p is Apiframe's default.
    let resolution = args.resolution.unwrap_or(Resolution::P1080);
    let per_second = resolution.apiframe_credits_per_second();
    let cost = match (provider, args.duration) {
        (Provider::Apiframe, Some(duration)) => Some(per_second * u64::from(duration.seconds())),
        _ => None,
    };
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
    match (provider, cost) {
        (Provider::Apiframe, Some(credits)) => eprintln!(
            "cost: {credits} credits ({} credits/s at {}, Apiframe page)",
            per_second,
            resolution.as_str()
        ),
        (Provider::Apiframe, None) => eprintln!(
            "cost: {} credits per second at {}; pass --duration for a total (Apiframe does not document its default duration)",
            per_second,
            resolution.as_str()
        ),
        _ => eprintln!("cost: {provider} documents no price for this model; see its pricing page"),
    }
    eprintln!("dry run: nothing was sent");
    ExitCode::SUCCESS
}

async fn generate(args: &Args, request: &VideoRequest) -> ExitCode {
    let json = args.common.json;
    let session = match Session::open(&args.common, args.sandbox).await {
        Ok(session) => session,
        Err(err) => return session::fail(&err, json),
    };
    let options = SubmitOptions {
        idempotency_key: args
            .idempotency_key
            .clone()
            .map_or(IdempotencyKey::Derived, IdempotencyKey::Custom),
    };
    // Refuse an existing output before paying for a video.
    if let Some(path) = &args.output {
        if path.exists() && !args.force {
            return session::fail(&Error::FileExists { path: path.clone() }, json);
        }
    }
    let submitted = tokio::select! {
        submitted = session.client.submit_with(request, &options) => submitted,
        _ = session.interrupted.cancelled() => {
            eprintln!(
                "interrupted during the submit; a task may exist: run the same command again to get it back{}",
                if args.common.provider == Provider::Reapi { " (reapi has no idempotency key: check its task list first)" } else { " (the same request carries the same Idempotency-Key)" }
            );
            return ExitCode::from(session::INTERRUPTED);
        }
    };
    let submitted = match submitted {
        Ok(submitted) => submitted,
        Err(err) => return session::fail(&err, json),
    };
    for warning in &submitted.warnings {
        eprintln!("warning: {warning}");
    }
    if !json {
        let replay = if submitted.replayed {
            " (replayed: an earlier submit of this request)"
        } else {
            ""
        };
        eprintln!(
            "submitted {} task {}{replay}",
            submitted.provider, submitted.id
        );
    }
    let done = match session
        .wait(&submitted.id, StdDuration::from_secs(args.max_wait))
        .await
    {
        Ok(done) => done,
        Err(err) => return session::fail(&err, json),
    };
    let Some(output) = done.outputs.first() else {
        let err = Error::NoOutput {
            id: done.id.clone(),
            status: done.status.clone(),
        };
        return session::fail(&err, json);
    };
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| session::default_path(&done.id));
    let saved = match session.download(output, &path, args.force).await {
        Ok(saved) => saved,
        Err(err) => return session::fail(&err, json),
    };
    if json {
        println!(
            "{}",
            json!({
                "ok": true, "provider": done.provider, "id": done.id, "status": done.status,
                "path": saved.path, "bytes": saved.bytes, "url": output.url,
                "idempotency_key": submitted.idempotency_key, "replayed": submitted.replayed,
                "credit_cost": done.credit_cost, "warnings": submitted.warnings,
            })
        );
    } else {
        println!("{}", saved.path.display());
        eprintln!("saved {} bytes from task {}", saved.bytes, done.id);
    }
    ExitCode::SUCCESS
}
