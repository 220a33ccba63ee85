//! Is it really a JPEG or PNG? Judged by the bytes alone: magic numbers, the
//! header's dimensions against a pixel budget, then a full decode. What is
//! stored is re-encoded, so metadata such as EXIF location never survives.
use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// Refused before a full decode: a decompression bomb would need far more.
pub const MAX_PIXELS: u64 = 40_000_000;
pub const MAX_SIDE: u32 = 12_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
}

impl ImageKind {
    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "jpg",
            ImageKind::Png => "png",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
        }
    }

    pub fn from_extension(extension: &str) -> Option<ImageKind> {
        match extension {
            "jpg" => Some(ImageKind::Jpeg),
            "png" => Some(ImageKind::Png),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageProblem {
    TooLarge,
    Unsupported(&'static str),
}

pub struct CheckedImage {
    pub kind: ImageKind,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageKind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else {
        None
    }
}

/// CPU-bound: call from a blocking thread.
pub fn check_and_reencode(bytes: &[u8], max_bytes: usize) -> Result<CheckedImage, ImageProblem> {
    if bytes.len() > max_bytes {
        return Err(ImageProblem::TooLarge);
    }
    let kind = sniff(bytes).ok_or(ImageProblem::Unsupported("Upload a JPEG or PNG picture."))?;
    let format = match kind {
        ImageKind::Jpeg => ImageFormat::Jpeg,
        ImageKind::Png => ImageFormat::Png,
    };
    let unreadable = ImageProblem::Unsupported("This picture could not be read: upload a valid JPEG or PNG.");

    let mut header = ImageReader::with_format(Cursor::new(bytes), format);
    header.no_limits();
    let (width, height) = header.into_dimensions().map_err(|_| unreadable.clone())?;
    if width == 0 || height == 0 {
        return Err(unreadable);
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageProblem::Unsupported("This picture has too many pixels."));
    }

    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| unreadable.clone())?;
    let orientation = decoder.orientation().ok();
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|_| unreadable.clone())?;
    // The EXIF orientation is about to be dropped with the rest: apply it first.
    if let Some(orientation) = orientation {
        picture.apply_orientation(orientation);
    }

    let mut out = Cursor::new(Vec::new());
    match kind {
        ImageKind::Png => picture.write_to(&mut out, ImageFormat::Png).map_err(|_| unreadable.clone())?,
        ImageKind::Jpeg => {
            let rgb = DynamicImage::ImageRgb8(picture.to_rgb8());
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 88);
            rgb.write_with_encoder(encoder).map_err(|_| unreadable.clone())?
        }
    }
    Ok(CheckedImage { kind, bytes: out.into_inner(), width: picture.width(), height: picture.height() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        DynamicImage::new_rgb8(width, height).write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn accepts_real_pictures_and_reencodes_them() {
        let checked = check_and_reencode(&png(4, 3), 1 << 20).unwrap();
        assert_eq!((checked.kind, checked.width, checked.height), (ImageKind::Png, 4, 3));
        assert_eq!(sniff(&checked.bytes), Some(ImageKind::Png));
    }

    #[test]
    fn refuses_by_bytes_not_names() {
        assert_eq!(check_and_reencode(b"GIF89a.....", 1 << 20).err(), Some(ImageProblem::Unsupported("Upload a JPEG or PNG picture.")));
        assert!(matches!(check_and_reencode(b"\x89PNG\r\n\x1a\ngarbage", 1 << 20), Err(ImageProblem::Unsupported(_))));
        assert_eq!(check_and_reencode(&png(4, 3), 10).err(), Some(ImageProblem::TooLarge));
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn refuses_a_decompression_bomb_from_its_header() {
        // A PNG header claiming 20000 x 20000 pixels: refused before any decode.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        // Keep the header chunk's checksum right, as an attacker would.
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(check_and_reencode(&bomb, 1 << 20).err(), Some(ImageProblem::Unsupported("This picture has too many pixels.")));
    }
}
