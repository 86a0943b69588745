use happyhorse::{
    client::Progress,
    sandbox::{Sandbox, SandboxConfig},
    values::VideoDuration,
    Client, ClientConfig, Prompt, Provider, VideoRequest,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The providers' emulator, in this process: no key, no cost. For a real video, set
    // APIFRAME_API_KEY and replace these two statements with
    // `let client = Client::from_env(Provider::Apiframe)?;`.
    let sandbox = Sandbox::start(SandboxConfig::default()).await?;
    let client = Client::new(
        ClientConfig::new(Provider::Apiframe)
            .with_api_key("afk_example")
            .with_base_url(sandbox.base_url(Provider::Apiframe)),
    )?;

    let request = VideoRequest::text_to_video(Prompt::new("A horse on a beach")?)
        .with_duration(VideoDuration::new(8)?);
    let saved = client
        .generate(&request) // checked locally first; submitted with an Idempotency-Key
        .on_progress(|event| {
            if let Progress::Status(task) = event {
                eprintln!("{}: {}", task.id, task.status);
            }
        })
        .save_to("horse.mp4")
        .overwrite(true)
        .await?;
    println!("saved {} ({} bytes)", saved.path.display(), saved.bytes);
    Ok(())
}
