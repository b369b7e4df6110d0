//! Images: checked, decoded within limits, re-encoded without their metadata, and
//! thumbnailed. CPU-bound and blocking: callers run it on `spawn_blocking`.
//!
//! - The dimensions are read from the header and checked (width, height, and pixels)
//!   before anything is decoded, and the decoder itself runs under `image::Limits`, so a
//!   small file that declares a huge image (a decompression bomb) costs nothing.
//! - PNG, JPEG and WebP are decoded and encoded anew in their own format, keeping the
//!   colour profile but dropping EXIF (GPS position, camera, time), XMP and text chunks;
//!   the EXIF orientation is applied to the pixels first, so the picture stands as it was
//!   shot. JPEG is re-encoded at quality 90; WebP losslessly (the encoder `image` has).
//! - GIF keeps its bytes, so animations stay animated: GIF has no EXIF, and its first
//!   frame is decoded all the same to check it and to draw the thumbnail.
//! - Thumbnails fit in a square box keeping the aspect ratio and are never larger than the
//!   image; an avatar's is a centre-cropped square of exactly the avatar size. Thumbnails
//!   are JPEG, or PNG when the thumbnail has a pixel that is not opaque.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::{
    DynamicImage, ImageDecoder as _, ImageEncoder, ImageError, ImageFormat, ImageReader, Limits,
};

use crate::config::ImageConfig;

/// JPEG quality of re-encoded photos: visually the same, EXIF gone.
const JPEG_QUALITY: u8 = 90;
/// JPEG quality of thumbnails.
const THUMBNAIL_JPEG_QUALITY: u8 = 80;

/// An encoded picture.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// What is stored for an uploaded image: the image re-encoded, and its thumbnail.
#[derive(Debug, Clone)]
pub struct Processed {
    pub image: Encoded,
    pub thumbnail: Encoded,
}

/// Why an image was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Past a dimension, pixel or memory limit; says which.
    TooLarge(String),
    /// Not decodable.
    Invalid,
}

/// The thumbnail wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThumbnailShape {
    /// Fits in a `size` x `size` box, aspect ratio kept.
    Fit(u32),
    /// Exactly `size` x `size`, centre-cropped.
    Square(u32),
}

/// Decodes `bytes` (of `format`) within `limits`, re-encodes them and draws the thumbnail.
pub fn process(
    bytes: &[u8],
    format: ImageFormat,
    limits: &ImageConfig,
    shape: ThumbnailShape,
) -> Result<Processed, Refusal> {
    // The header alone first (nothing of the size it declares is allocated), so a refusal
    // can say what the image claims to be.
    let mut header = ImageReader::with_format(Cursor::new(bytes), format);
    header.no_limits();
    let (width, height) = header.into_dimensions().map_err(|_| Refusal::Invalid)?;
    check_dimensions(width, height, limits)?;

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(limits.max_width);
    decoder_limits.max_image_height = Some(limits.max_height);
    decoder_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(|err| refusal(err, limits))?;
    if decoder.dimensions() != (width, height) {
        return Err(Refusal::Invalid);
    }
    let orientation = decoder.orientation().map_err(|err| refusal(err, limits))?;
    // A profile that cannot be read is left out; the colours are still the image's.
    let icc_profile = decoder.icc_profile().ok().flatten();
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|err| refusal(err, limits))?;
    picture.apply_orientation(orientation);

    let image = match format {
        ImageFormat::Gif => Encoded {
            bytes: bytes.to_vec(),
            content_type: format.to_mime_type(),
            width: picture.width(),
            height: picture.height(),
        },
        _ => encode(&picture, format, icc_profile).map_err(|err| {
            tracing::error!(%err, ?format, "re-encoding a decoded image failed");
            Refusal::Invalid
        })?,
    };
    let thumbnail = thumbnail(&picture, shape).map_err(|err| {
        tracing::error!(%err, "encoding a thumbnail failed");
        Refusal::Invalid
    })?;
    Ok(Processed { image, thumbnail })
}

fn check_dimensions(width: u32, height: u32, limits: &ImageConfig) -> Result<(), Refusal> {
    if width == 0 || height == 0 {
        return Err(Refusal::Invalid);
    }
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_width || height > limits.max_height || pixels > limits.max_pixels {
        return Err(Refusal::TooLarge(too_large(width, height, limits)));
    }
    Ok(())
}

fn too_large(width: u32, height: u32, limits: &ImageConfig) -> String {
    format!(
        "the image is {width}x{height} pixels; at most {}x{} and {} pixels are accepted",
        limits.max_width, limits.max_height, limits.max_pixels
    )
}

fn refusal(err: ImageError, limits: &ImageConfig) -> Refusal {
    match err {
        ImageError::Limits(err) => Refusal::TooLarge(format!(
            "the image passes a decoding limit ({err}); at most {}x{} and {} pixels are \
             accepted",
            limits.max_width, limits.max_height, limits.max_pixels
        )),
        _ => Refusal::Invalid,
    }
}

/// `picture` encoded in `format`, with `icc_profile` and nothing else.
fn encode(
    picture: &DynamicImage,
    format: ImageFormat,
    icc_profile: Option<Vec<u8>>,
) -> Result<Encoded, ImageError> {
    let mut bytes = Vec::new();
    match format {
        ImageFormat::Jpeg => write(
            picture,
            JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY),
            icc_profile,
        )?,
        ImageFormat::WebP => write(
            &eight_bits(picture),
            WebPEncoder::new_lossless(&mut bytes),
            icc_profile,
        )?,
        _ => write(picture, PngEncoder::new(&mut bytes), icc_profile)?,
    }
    let content_type = match format {
        ImageFormat::Jpeg | ImageFormat::WebP => format.to_mime_type(),
        _ => ImageFormat::Png.to_mime_type(),
    };
    Ok(Encoded {
        bytes,
        content_type,
        width: picture.width(),
        height: picture.height(),
    })
}

fn write(
    picture: &DynamicImage,
    mut encoder: impl ImageEncoder,
    icc_profile: Option<Vec<u8>>,
) -> Result<(), ImageError> {
    if let Some(profile) = icc_profile {
        // An encoder that cannot carry a profile writes the pixels without it.
        let _ = encoder.set_icc_profile(profile);
    }
    picture.write_with_encoder(encoder)
}

/// The image with 8-bit channels (what the WebP encoder takes).
fn eight_bits(picture: &DynamicImage) -> DynamicImage {
    match picture {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => picture.clone(),
        _ if picture.color().has_alpha() => DynamicImage::ImageRgba8(picture.to_rgba8()),
        _ => DynamicImage::ImageRgb8(picture.to_rgb8()),
    }
}

/// The thumbnail of `picture`: JPEG, or PNG to keep transparency.
fn thumbnail(picture: &DynamicImage, shape: ThumbnailShape) -> Result<Encoded, ImageError> {
    let small = match shape {
        ThumbnailShape::Fit(size) => {
            let (width, height) = fit_within(picture.width(), picture.height(), size);
            if (width, height) == (picture.width(), picture.height()) {
                picture.clone()
            } else {
                picture.thumbnail_exact(width, height)
            }
        }
        ThumbnailShape::Square(size) => {
            let side = picture.width().min(picture.height());
            let square = picture.crop_imm(
                (picture.width() - side) / 2,
                (picture.height() - side) / 2,
                side,
                side,
            );
            if side >= size {
                square.thumbnail_exact(size, size)
            } else {
                square.resize_exact(size, size, FilterType::Triangle)
            }
        }
    };
    let mut bytes = Vec::new();
    let rgba = small.color().has_alpha().then(|| small.to_rgba8());
    let content_type = if let Some(rgba) = rgba.filter(|rgba| rgba.pixels().any(|p| p.0[3] < 255)) {
        DynamicImage::ImageRgba8(rgba).write_with_encoder(PngEncoder::new(&mut bytes))?;
        ImageFormat::Png.to_mime_type()
    } else {
        let small = DynamicImage::ImageRgb8(small.to_rgb8());
        small.write_with_encoder(JpegEncoder::new_with_quality(
            &mut bytes,
            THUMBNAIL_JPEG_QUALITY,
        ))?;
        ImageFormat::Jpeg.to_mime_type()
    };
    Ok(Encoded {
        bytes,
        content_type,
        width: small.width(),
        height: small.height(),
    })
}

/// The largest size of the same aspect ratio (rounded, at least 1 x 1) that fits in a
/// `size` x `size` box; the image's own size when it already fits.
pub fn fit_within(width: u32, height: u32, size: u32) -> (u32, u32) {
    if width <= size && height <= size {
        return (width, height);
    }
    let (width, height, size) = (u64::from(width), u64::from(height), u64::from(size));
    let longest = width.max(height);
    let scale = |side: u64| ((side * size + longest / 2) / longest).clamp(1, size) as u32;
    (scale(width), scale(height))
}

#[cfg(test)]
mod tests {
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    use super::*;

    fn limits() -> ImageConfig {
        ImageConfig {
            max_width: 1000,
            max_height: 800,
            max_pixels: 500_000,
            max_alloc: 64 << 20,
            concurrency: 1,
            thumbnail_size: 320,
            avatar_thumbnail_size: 256,
        }
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = RgbImage::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, 7]));
        let mut bytes = Vec::new();
        DynamicImage::ImageRgb8(picture)
            .write_to(Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    #[test]
    fn thumbnails_fit_their_box_keeping_the_aspect_ratio() {
        for ((width, height), size, expected) in [
            ((100, 50), 320, (100, 50)),
            ((320, 320), 320, (320, 320)),
            ((640, 480), 320, (320, 240)),
            ((480, 640), 320, (240, 320)),
            ((1000, 3), 320, (320, 1)),
            ((3, 10_000), 320, (1, 320)),
            ((12_000, 9_000), 320, (320, 240)),
            ((333, 1000), 320, (107, 320)),
        ] {
            assert_eq!(
                fit_within(width, height, size),
                expected,
                "{width}x{height}"
            );
        }
    }

    #[test]
    fn an_image_is_re_encoded_and_thumbnailed() {
        let processed = process(
            &png(640, 480),
            ImageFormat::Png,
            &limits(),
            ThumbnailShape::Fit(320),
        )
        .unwrap();
        assert_eq!((processed.image.width, processed.image.height), (640, 480));
        assert_eq!(processed.image.content_type, "image/png");
        assert_eq!(
            (processed.thumbnail.width, processed.thumbnail.height),
            (320, 240)
        );
        assert_eq!(processed.thumbnail.content_type, "image/jpeg");
        let thumbnail = image::load_from_memory(&processed.thumbnail.bytes).unwrap();
        assert_eq!((thumbnail.width(), thumbnail.height()), (320, 240));
    }

    #[test]
    fn an_avatar_thumbnail_is_a_centred_square() {
        let processed = process(
            &png(600, 300),
            ImageFormat::Png,
            &limits(),
            ThumbnailShape::Square(256),
        )
        .unwrap();
        assert_eq!(
            (processed.thumbnail.width, processed.thumbnail.height),
            (256, 256)
        );
        let small = process(
            &png(40, 90),
            ImageFormat::Png,
            &limits(),
            ThumbnailShape::Square(256),
        )
        .unwrap();
        assert_eq!((small.thumbnail.width, small.thumbnail.height), (256, 256));
    }

    #[test]
    fn transparency_keeps_a_png_thumbnail() {
        let picture = RgbaImage::from_pixel(50, 50, Rgba([1, 2, 3, 0]));
        let mut bytes = Vec::new();
        DynamicImage::ImageRgba8(picture)
            .write_to(Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        let processed = process(
            &bytes,
            ImageFormat::Png,
            &limits(),
            ThumbnailShape::Fit(320),
        )
        .unwrap();
        assert_eq!(processed.thumbnail.content_type, "image/png");
    }

    #[test]
    fn limits_are_checked_before_decoding() {
        for (width, height) in [(1001, 10), (10, 801), (800, 700)] {
            let refused = process(
                &png(width, height),
                ImageFormat::Png,
                &limits(),
                ThumbnailShape::Fit(320),
            );
            assert!(
                matches!(refused, Err(Refusal::TooLarge(_))),
                "{width}x{height}: {refused:?}"
            );
        }
    }

    #[test]
    fn bytes_that_are_no_image_are_invalid() {
        let mut truncated = png(64, 64);
        truncated.truncate(60);
        for (bytes, format) in [
            (truncated.as_slice(), ImageFormat::Png),
            (b"\xFF\xD8\xFF\xE0 not really".as_slice(), ImageFormat::Jpeg),
            (b"GIF89a".as_slice(), ImageFormat::Gif),
        ] {
            let refused = process(bytes, format, &limits(), ThumbnailShape::Fit(320));
            assert_eq!(refused.err(), Some(Refusal::Invalid), "{format:?}");
        }
    }
}
