//! The README's library example is `examples/first_video.rs`, word for word, and it runs: a
//! user who pastes it as `src/main.rs` gets a playable `horse.mp4` in the current directory.
#![cfg(feature = "sandbox")]

mod first_video {
    include!("../examples/first_video.rs");

    /// The example's `main`, as `cargo run` starts it.
    pub fn run() -> Result<(), Box<dyn std::error::Error>> {
        main()
    }
}

const EXAMPLE: &str = include_str!("../examples/first_video.rs");
const README: &str = include_str!("../README.md");

#[test]
fn the_readme_shows_the_example_as_it_is() {
    let block = README
        .split("```rust,no_run\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a rust,no_run block in the README");
    assert_eq!(
        block, EXAMPLE,
        "the README's library example and examples/first_video.rs differ"
    );
    assert!(
        !block
            .lines()
            .any(|line| line.trim_start().starts_with("# ")),
        "no hidden doctest lines: the example is pasted as it is"
    );
}

#[test]
fn the_example_writes_a_video_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    // The only test of this binary that touches the working directory.
    std::env::set_current_dir(dir.path()).unwrap();
    first_video::run().expect("the example runs");
    let video = std::fs::read(dir.path().join("horse.mp4")).unwrap();
    assert_eq!(
        video.get(4..8),
        Some(&b"ftyp"[..]),
        "horse.mp4 is not an MP4"
    );
    // Run again, it replaces the file rather than refusing.
    first_video::run().expect("the example runs twice");
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
}
