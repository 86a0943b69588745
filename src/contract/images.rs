//! The images a provider fetches and the limits it applies on fetch: each document's
//! `x-image-inputs`, where the sources and the decisions are written.

use std::sync::OnceLock;

use serde_json::Value;

use super::openapi;
use crate::{
    media::{ImageFormat, ImageInfo},
    Provider,
};

/// One URL array of a submit body whose images the provider fetches, and its limits.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ImageInput {
    /// JSON pointer of the array of URLs in the submit body (`/input/reference_image`).
    pub pointer: String,
    /// The fewest items this entry applies to.
    pub min_items: usize,
    /// The most items this entry applies to.
    pub max_items: usize,
    /// The mode the array selects (`image-to-video`, `reference-to-video`).
    pub mode: String,
    /// The formats taken.
    pub formats: Vec<ImageFormat>,
    /// The largest file, in bytes.
    pub max_bytes: u64,
    /// The shortest side allowed, in pixels.
    pub min_short_side: u32,
    /// The longest side over the shortest allowed, when limited (2.5 for 1:2.5–2.5:1).
    pub max_aspect: Option<f64>,
    /// The provider does not document these limits: a warning, not a refusal.
    pub advisory: bool,
    /// Where the limits come from.
    pub source: String,
}

impl ImageInput {
    /// The URLs this entry applies to in `body`: the array at its pointer, when its length is
    /// within the entry's range.
    pub fn urls<'a>(&self, body: &'a Value) -> Vec<&'a str> {
        let Some(items) = body.pointer(&self.pointer).and_then(Value::as_array) else {
            return Vec::new();
        };
        if !(self.min_items..=self.max_items).contains(&items.len()) {
            return Vec::new();
        }
        items.iter().filter_map(Value::as_str).collect()
    }

    /// What is wrong with an image of `bytes` bytes that is `info`, by these limits.
    pub fn problems(&self, bytes: u64, info: &ImageInfo) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.formats.contains(&info.format) {
            problems.push(format!(
                "is a {}; {} takes {}",
                info.format,
                self.mode,
                self.format_names()
            ));
        }
        if bytes > self.max_bytes {
            problems.push(self.too_large(bytes));
        }
        if info.short_side() < self.min_short_side {
            problems.push(format!(
                "is {}x{} px: its shortest side must be at least {} px for {}",
                info.width, info.height, self.min_short_side, self.mode
            ));
        }
        if let Some(max) = self.max_aspect {
            if info.aspect() > max {
                problems.push(format!(
                    "is {}x{} px: its sides' ratio must be within 1:{max}–{max}:1 for {}",
                    info.width, info.height, self.mode
                ));
            }
        }
        problems
    }

    /// The problem with a file of `bytes` bytes, past `max_bytes`.
    pub fn too_large(&self, bytes: u64) -> String {
        format!(
            "is {bytes} bytes; the most is {} (20 MB) for {}",
            self.max_bytes, self.mode
        )
    }

    /// The problem with a file whose first bytes are not an image this entry takes.
    pub fn not_an_image(&self, why: &crate::media::SniffError) -> String {
        format!("is {why}; {} takes {}", self.mode, self.format_names())
    }

    /// `JPEG, PNG or WEBP`.
    pub fn format_names(&self) -> String {
        let names: Vec<String> = self.formats.iter().map(ToString::to_string).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            Some((last, _)) => last.clone(),
            None => "no image".to_owned(),
        }
    }
}

/// The provider's image inputs, from its embedded document.
pub fn image_inputs(provider: Provider) -> &'static [ImageInput] {
    static INPUTS: [OnceLock<Vec<ImageInput>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    INPUTS[provider.index()].get_or_init(|| {
        // The crate's own documents; a test reads all three.
        image_inputs_in(openapi(provider)).unwrap_or_default()
    })
}

/// The entry of `provider`'s document for `count` images in `mode` (`image-to-video`,
/// `reference-to-video`).
pub fn image_input(provider: Provider, mode: &str, count: usize) -> Option<&'static ImageInput> {
    image_inputs(provider)
        .iter()
        .find(|i| i.mode == mode && (i.min_items..=i.max_items).contains(&count))
}

/// The image inputs `document` states in its `x-image-inputs` (none when it has none); the
/// problem with one that does not parse.
pub fn image_inputs_in(document: &Value) -> Result<Vec<ImageInput>, String> {
    let Some(inputs) = document.pointer("/x-image-inputs/inputs") else {
        return Ok(Vec::new());
    };
    let inputs = inputs
        .as_array()
        .ok_or("x-image-inputs.inputs is not an array")?;
    inputs
        .iter()
        .enumerate()
        .map(|(i, v)| entry(v).map_err(|e| format!("x-image-inputs.inputs[{i}]: {e}")))
        .collect()
}

fn entry(value: &Value) -> Result<ImageInput, String> {
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(format!("no {key}"))
    };
    let number = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_u64)
            .ok_or(format!("no {key}"))
    };
    let count = |key: &str| number(key).and_then(|n| usize::try_from(n).map_err(|e| e.to_string()));
    let formats = value
        .get("formats")
        .and_then(Value::as_array)
        .ok_or("no formats")?
        .iter()
        .map(|f| {
            f.as_str()
                .and_then(ImageFormat::from_name)
                .ok_or(format!("unknown format {f}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ImageInput {
        pointer: text("pointer")?,
        min_items: count("min_items")?,
        max_items: count("max_items")?,
        mode: text("mode")?,
        formats,
        max_bytes: number("max_bytes")?,
        min_short_side: u32::try_from(number("min_short_side")?).map_err(|e| e.to_string())?,
        max_aspect: value.get("max_aspect").and_then(Value::as_f64),
        advisory: value
            .get("advisory")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        source: text("source")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_document_states_its_image_inputs() {
        for provider in Provider::ALL {
            let inputs = image_inputs_in(openapi(provider)).unwrap();
            assert_eq!(inputs.len(), 2, "{provider}");
            assert_eq!(inputs, image_inputs(provider));
            for input in inputs {
                assert_eq!(input.max_bytes, 20_000_000);
                assert!(input.pointer.starts_with('/'));
            }
        }
        let reapi = image_inputs(Provider::Reapi);
        assert_eq!(reapi[0].max_aspect, Some(2.5));
        assert!(image_inputs(Provider::Apiframe).iter().all(|i| i.advisory));
        assert!(image_inputs(Provider::HiApi).iter().all(|i| !i.advisory));
    }

    #[test]
    fn limits_name_what_is_wrong() {
        let i2v = &image_inputs(Provider::Reapi)[0];
        let small = ImageInfo {
            format: ImageFormat::Png,
            width: 1000,
            height: 299,
        };
        let problems = i2v.problems(21_000_000, &small);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("21000000 bytes"), "{problems:?}");
        assert!(problems[1].contains("at least 300 px"), "{problems:?}");
        assert!(problems[2].contains("1:2.5"), "{problems:?}");
        let fine = ImageInfo {
            format: ImageFormat::Webp,
            width: 720,
            height: 1280,
        };
        assert!(i2v.problems(1_000_000, &fine).is_empty());
    }
}
