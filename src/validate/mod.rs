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

pub use report::{Issue, Report};

use crate::Provider;

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
    match provider {
        Provider::HiApi => hiapi::validate(body, &mut report),
        Provider::Reapi => reapi::validate(body, &mut report),
        Provider::Apiframe => apiframe::validate(body, &mut report),
    }
    report
}

/// Warns about `[Image N]` markers in a reference-to-video prompt: none at all (the model then
/// blends the references freely), or a number past the last reference.
pub(crate) fn check_image_markers(
    prompt: &str,
    references: usize,
    path: &str,
    report: &mut Report,
) {
    let mut named = Vec::new();
    let mut rest = prompt;
    while let Some(start) = rest.find("[Image ") {
        rest = &rest[start + "[Image ".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if rest[digits.len()..].starts_with(']') {
            if let Ok(n) = digits.parse::<usize>() {
                named.push(n);
            }
        }
    }
    if named.is_empty() {
        report.warn(
            path,
            format!(
                "names none of its {references} reference image(s); refer to them as [Image 1] … \
                 [Image {references}] in order, or the model blends them freely"
            ),
        );
    }
    for n in named {
        if n == 0 || n > references {
            report.warn(
                path,
                format!("names [Image {n}], but there are {references} reference image(s)"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
