//! What an image is, from its first bytes: the format by its magic number, the dimensions from
//! its header (no decoding).

use std::fmt;

/// The image formats the providers take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG (`89 50 4E 47 0D 0A 1A 0A`).
    Png,
    /// WEBP (`RIFF....WEBP`).
    Webp,
}

impl ImageFormat {
    /// The name the OpenAPI documents use (`jpeg`, `png`, `webp`).
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
        }
    }

    /// The format a document names, if it is one of the three.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "jpeg" => Some(ImageFormat::Jpeg),
            "png" => Some(ImageFormat::Png),
            "webp" => Some(ImageFormat::Webp),
            _ => None,
        }
    }

    /// The format the first bytes of a file announce, if it is one of the three.
    pub fn of(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(ImageFormat::Png)
        } else if bytes.len() >= 12
            && bytes.starts_with(b"RIFF")
            && bytes.get(8..12) == Some(b"WEBP")
        {
            Some(ImageFormat::Webp)
        } else {
            None
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::Webp => "WEBP",
        })
    }
}

/// An image's format and stored dimensions, read from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// The format its magic number announces.
    pub format: ImageFormat,
    /// Width in pixels, as stored.
    pub width: u32,
    /// Height in pixels, as stored.
    pub height: u32,
}

impl ImageInfo {
    /// The shorter side, in pixels.
    pub fn short_side(&self) -> u32 {
        self.width.min(self.height)
    }

    /// The longer side over the shorter (1.0 for a square; infinite for a zero side).
    pub fn aspect(&self) -> f64 {
        let (long, short) = (self.width.max(self.height), self.short_side());
        f64::from(long) / f64::from(short)
    }
}

/// Why the first bytes of a file do not tell what image it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SniffError {
    /// Not JPEG, PNG or WEBP by its magic number.
    NotAnImage,
    /// The header goes on past the bytes given: read more and ask again.
    NeedMore,
    /// JPEG, PNG or WEBP by its magic number, but the header does not hold.
    Corrupt(ImageFormat),
}

impl fmt::Display for SniffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SniffError::NotAnImage => {
                f.write_str("not a JPEG, PNG or WEBP image (by its first bytes)")
            }
            SniffError::NeedMore => f.write_str("its header is longer than the bytes read"),
            SniffError::Corrupt(format) => write!(f, "a {format} whose header cannot be read"),
        }
    }
}

/// What `bytes`, the start of a file, say it is.
pub fn sniff(bytes: &[u8]) -> Result<ImageInfo, SniffError> {
    let Some(format) = ImageFormat::of(bytes) else {
        return Err(if bytes.len() < 12 {
            SniffError::NeedMore
        } else {
            SniffError::NotAnImage
        });
    };
    match imagesize::blob_size(bytes) {
        Ok(size) => {
            let side = |n: usize| u32::try_from(n).map_err(|_| SniffError::Corrupt(format));
            let (width, height) = (side(size.width)?, side(size.height)?);
            if width == 0 || height == 0 {
                return Err(SniffError::Corrupt(format));
            }
            Ok(ImageInfo {
                format,
                width,
                height,
            })
        }
        Err(imagesize::ImageError::IoError(_)) => Err(SniffError::NeedMore),
        Err(_) => Err(SniffError::Corrupt(format)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG's first 33 bytes: signature and IHDR with `width` x `height`.
    pub(crate) fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        bytes.extend_from_slice(&13u32.to_be_bytes());
        bytes.extend_from_slice(b"IHDR");
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        bytes
    }

    #[test]
    fn formats_are_told_by_their_first_bytes_and_sizes_by_their_headers() {
        let info = sniff(&png_header(640, 360)).unwrap();
        assert_eq!(info.format, ImageFormat::Png);
        assert_eq!(
            (info.width, info.height, info.short_side()),
            (640, 360, 360)
        );
        assert!((info.aspect() - 640.0 / 360.0).abs() < 1e-9);
        assert_eq!(
            sniff(b"GIF89a\x01\x00\x01\x00\x00\x00\x00"),
            Err(SniffError::NotAnImage)
        );
        assert_eq!(
            sniff(&png_header(640, 360)[..10]),
            Err(SniffError::NeedMore)
        );
        assert_eq!(
            sniff(&png_header(0, 360)),
            Err(SniffError::Corrupt(ImageFormat::Png))
        );
    }
}
