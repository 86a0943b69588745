//! Tests of lines checked on their own and together: problems that quote nothing whole,
//! derived ids, every bad line by number, idempotency keys, jobs built in code, and the
//! duplicate check apart from the reader.

use super::*;
use crate::{Prompt, Provider, VideoRequest};

#[test]
fn lines_and_the_duplicate_check_work_apart() {
    let mut seen = DuplicateCheck::new();
    let first =
        parse_job_line(3, r#"{"prompt": "a", "output": "x.mp4"}"#, Provider::HiApi).unwrap();
    let twin = parse_job_line(9, r#"{"output": "y.mp4", "prompt": "a"}"#, Provider::HiApi).unwrap();
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

#[test]
fn local_images_are_taken_only_when_asked_and_keep_the_lines_id() {
    let text = "{\"prompt\": \"[Image 1] and [Image 2]\", \"references\": [\"a.png\", \"https://cdn.example.com/b.png\"]}\n{\"image\": \"file:///abs/c.png\"}\n";
    // Not asked: a path is not a URL.
    let refused: Vec<_> = JobsReader::new(text.as_bytes(), Provider::HiApi).collect();
    assert!(refused.iter().all(Result::is_err));
    let jobs: Vec<BatchJob> = JobsReader::new(text.as_bytes(), Provider::HiApi)
        .with_local_images("/jobs")
        .collect::<Result<_, _>>()
        .unwrap();
    let images = jobs[0].local_images();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].field, "references[0]");
    assert_eq!(images[0].path, std::path::Path::new("/jobs/a.png"));
    let first = jobs[1].local_images();
    assert_eq!(
        (first[0].field.as_str(), first[0].path.to_str()),
        ("image", Some("/abs/c.png"))
    );
    // The id is the line's as written, whatever URL the image is sent as.
    let id = jobs[0].id.clone();
    let sent = jobs[0]
        .clone()
        .with_images(|path| Some(format!("https://s3.example.com/x/{}?sig=1", path.display())))
        .unwrap();
    assert_eq!(sent.id, id);
    assert!(sent.local_images().is_empty());
    let body = sent.body.to_string();
    assert!(
        body.contains("https://s3.example.com/x//jobs/a.png?sig=1"),
        "{body}"
    );
    assert!(body.contains("https://cdn.example.com/b.png"), "{body}");
    // A path too long, or with an invisible character, is refused by the line.
    let odd = format!(
        "{{\"image\": \"{}.png\"}}\n{{\"image\": \"clip\\u202egnp.png\"}}\n",
        "x".repeat(5000)
    );
    let problems: Vec<String> = JobsReader::new(odd.as_bytes(), Provider::HiApi)
        .with_local_images("/jobs")
        .filter_map(|item| item.err().map(|err| err.to_string()))
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("too long for a local file's path"),
        "{}",
        problems[0]
    );
    assert!(problems[1].contains("invisible"), "{}", problems[1]);
    assert!(!problems[1].contains('\u{202e}'), "{}", problems[1]);
    // A path with no URL is named.
    let missing = jobs[1].clone().with_images(|_| None).unwrap_err();
    assert_eq!(missing, std::path::Path::new("/abs/c.png"));
}
