//! Validation of provider-native request bodies against the documented rules.
//!
//! [`validate_body`] takes the raw JSON a user would send to a provider and reports every
//! problem at once, each with its JSON path and a message in the provider's wording, plus
//! warnings for what the provider would silently ignore or truncate. It needs no network and no
//! schema engine: the rules are stated in `rules` form per provider, and the property tests
//! hold their verdict equal to the JSON Schema verdict of `openapi/*.yaml` on every body they
//! generate.

mod apiframe;
mod hiapi;
mod reapi;
mod report;
mod rules;

use serde_json::Value;

use report::{Flow, Sink, Verdict};
pub use report::{Issue, Report};

use crate::{values::Prompt, Provider};

// A `Prompt` is within the longest prompt any provider takes, and no longer.
const _: () = {
    assert!(hiapi::PROMPT_MAX_CHARS == Prompt::MAX_CHARS);
    assert!(reapi::PROMPT_MAX_CHARS == Prompt::MAX_CHARS);
    assert!(apiframe::PROMPT_MAX_CHARS <= Prompt::MAX_CHARS);
};

/// Validates a provider-native submit body; see the module documentation.
///
/// ```
/// use happyhorse::{validate::validate_body, Provider};
///
/// let body = serde_json::json!({
///     "model": "happyhorse-1.1/text-to-video",
///     "input": {"prompt": "A horse on a beach", "duration": 20, "seed": 7}
/// });
/// let report = validate_body(Provider::HiApi, &body);
/// let messages: Vec<String> = report.errors.iter().map(|e| e.provider_message()).collect();
/// assert_eq!(messages, [
///     "additional properties 'seed' not allowed",
///     "duration: maximum: got 20, want 15",
/// ]);
/// ```
pub fn validate_body(provider: Provider, body: &Value) -> Report {
    let mut report = Report::default();
    // A report never stops the walk.
    let _ = check_body(provider, body, &mut report);
    // Warnings only for a body the provider would accept.
    if report.is_valid() {
        match provider {
            Provider::HiApi => hiapi::warn(body, &mut report),
            Provider::Reapi => reapi::warn(body, &mut report),
            Provider::Apiframe => apiframe::warn(body, &mut report),
        }
    }
    report
}

/// The verdict alone: `true` exactly when [`validate_body`] reports no error for `body`.
///
/// It walks the same rules as [`validate_body`] but stops at the first error and builds
/// nothing (no paths, messages or warnings), so it allocates nothing: the check to use where
/// only the verdict matters, such as a fuzzer's inner loop.
///
/// ```
/// use happyhorse::{validate, Provider};
///
/// let body = serde_json::json!({"model": "happyhorse-1.1", "prompt": "A horse on a beach"});
/// assert!(validate::is_valid(Provider::Apiframe, &body));
/// assert!(!validate::is_valid(Provider::HiApi, &body));
/// ```
pub fn is_valid(provider: Provider, body: &Value) -> bool {
    check_body(provider, body, &mut Verdict).is_continue()
}

/// Gives every error in a body to `sink`, in the order a report lists them (until it breaks).
fn check_body<S: Sink>(provider: Provider, body: &Value, sink: &mut S) -> Flow {
    match provider {
        Provider::HiApi => hiapi::check_body(body, sink),
        Provider::Reapi => reapi::check_body(body, sink),
        Provider::Apiframe => apiframe::check_body(body, sink),
    }
}

/// Warns about `[Image N]` markers in a reference-to-video prompt: none at all (the model then
/// blends the references freely), or a number past the last reference.
pub(crate) fn check_image_markers(
    prompt: &str,
    references: usize,
    path: &str,
    report: &mut Report,
) {
    // Out-of-range markers are warned about in order as they are found; "none at all" can only
    // come when there were none to warn about, so the order is the prompt's either way.
    let mut named = 0usize;
    let mut rest = prompt;
    while let Some(start) = find_marker(rest) {
        rest = rest.get(start + MARKER.len()..).unwrap_or_default();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if rest.as_bytes().get(digits) != Some(&b']') {
            continue;
        }
        let Some(n) = rest.get(..digits).and_then(|d| d.parse::<usize>().ok()) else {
            continue;
        };
        named += 1;
        if n == 0 || n > references {
            report.warn(
                path,
                format!("names [Image {n}], but there are {references} reference image(s)"),
            );
        }
    }
    if named == 0 {
        report.warn(
            path,
            format!(
                "names none of its {references} reference image(s); refer to them as [Image 1] … \
                 [Image {references}] in order, or the model blends them freely"
            ),
        );
    }
}

const MARKER: &str = "[Image ";

/// Where the first `[Image ` starts in `text`, like `text.find(MARKER)` but without building a
/// substring searcher on every call: a scan from one `[` to the next.
fn find_marker(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = bytes.get(from..)?.iter().position(|&b| b == b'[') {
        let at = from + i;
        if bytes.get(at..)?.starts_with(MARKER.as_bytes()) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every object the tables state fits the walk's per-object array of values.
    #[test]
    fn every_object_fits_the_walks_array() {
        use rules::{Rule, MAX_FIELDS};
        fn widest(fields: &[rules::Field]) -> usize {
            fields
                .iter()
                .map(|f| match &f.rule {
                    Rule::Object(inner) => widest(inner),
                    Rule::List {
                        item: Rule::Object(inner),
                        ..
                    } => widest(inner),
                    _ => 0,
                })
                .fold(fields.len(), usize::max)
        }
        for fields in [
            &hiapi::T2V_BODY[..],
            &hiapi::I2V_BODY,
            &hiapi::R2V_BODY,
            &reapi::T2V,
            &reapi::I2V,
            &reapi::R2V,
            &reapi::BOTH,
            apiframe::BODY,
        ] {
            assert!(widest(fields) <= MAX_FIELDS);
        }
    }

    #[test]
    fn markers_are_found_where_a_substring_search_finds_them() {
        for text in [
            "",
            "[",
            "[Image",
            "[Image ",
            "[[Image 1]",
            "x [Imag [Image 2] [Image 3]",
            "马 [Image 1]",
            "[image 1] [Image 9",
        ] {
            assert_eq!(find_marker(text), text.find(MARKER), "{text:?}");
        }
    }

    #[test]
    fn image_markers_are_counted_against_the_references() {
        let mut report = Report::default();
        check_image_markers("[Image 1] meets [Image 3]", 2, "prompt", &mut report);
        assert_eq!(report.warnings.len(), 1);
        assert!(report.warnings[0].message.contains("[Image 3]"));

        let mut report = Report::default();
        check_image_markers("a horse", 2, "prompt", &mut report);
        assert!(report.warnings[0].message.contains("names none"));

        let mut report = Report::default();
        check_image_markers("[Image 1] and [Image 2]", 2, "prompt", &mut report);
        assert!(report.warnings.is_empty() && report.errors.is_empty());
    }
}
