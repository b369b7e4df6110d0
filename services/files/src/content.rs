//! What an upload is, decided from its bytes, never from what the client says.
//!
//! The first bytes are matched against known signatures (`infer`). PNG, JPEG, GIF and WebP
//! are images the service decodes; any other signature gives its content type. Without
//! one, a body is `text/plain` only when it is valid UTF-8 and the client called it text
//! (a `text/*` type or a text file name); otherwise `application/octet-stream`. Markup
//! that `infer` recognises (HTML, XML, shell scripts) is served as `text/plain` too, so a
//! browser never runs an upload.

use image::ImageFormat;

/// How many leading bytes are looked at to recognise a file.
pub const HEAD_LEN: usize = 8192;

pub const OCTET_STREAM: &str = "application/octet-stream";
pub const TEXT_PLAIN: &str = "text/plain";

/// What the first bytes say an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// An image the service decodes, re-encodes and thumbnails.
    Image(ImageFormat),
    /// A recognised type that is stored as it is.
    Known(&'static str),
    /// Recognised markup; text at most.
    Markup,
    /// No known signature.
    Unknown,
}

/// Recognises an upload from its first bytes (up to [`HEAD_LEN`]).
pub fn sniff(head: &[u8]) -> Sniffed {
    let Some(kind) = infer::get(head) else {
        return Sniffed::Unknown;
    };
    match kind.mime_type() {
        "image/png" => Sniffed::Image(ImageFormat::Png),
        "image/jpeg" => Sniffed::Image(ImageFormat::Jpeg),
        "image/gif" => Sniffed::Image(ImageFormat::Gif),
        "image/webp" => Sniffed::Image(ImageFormat::WebP),
        _ if kind.matcher_type() == infer::MatcherType::Text => Sniffed::Markup,
        // `infer` takes anything starting with "BM" for a bitmap (text about BMW too).
        "image/bmp" if !is_bitmap(head) => Sniffed::Unknown,
        mime => Sniffed::Known(mime),
    }
}

/// A BMP file header: "BM", the file size, four reserved zero bytes, the pixel offset, and
/// the size of one of the known info headers.
fn is_bitmap(head: &[u8]) -> bool {
    const INFO_HEADER_SIZES: [u32; 7] = [12, 40, 52, 56, 64, 108, 124];
    head.len() >= 18
        && head.starts_with(b"BM")
        && head[6..10] == [0, 0, 0, 0]
        && INFO_HEADER_SIZES.contains(&u32::from_le_bytes([
            head[14], head[15], head[16], head[17],
        ]))
}

/// The content type of a body that is not an image: what `sniff` found, or text when the
/// client said so and the bytes agree.
pub fn content_type(sniffed: Sniffed, declared: &str, name: &str, utf8: bool) -> &'static str {
    match sniffed {
        Sniffed::Image(format) => format.to_mime_type(),
        Sniffed::Known(mime) => mime,
        Sniffed::Markup if utf8 => TEXT_PLAIN,
        Sniffed::Unknown if utf8 && called_text(declared, name) => TEXT_PLAIN,
        Sniffed::Markup | Sniffed::Unknown => OCTET_STREAM,
    }
}

/// Whether the client presents the upload as text.
fn called_text(declared: &str, name: &str) -> bool {
    const TEXT_EXTENSIONS: [&str; 7] = ["txt", "text", "md", "markdown", "csv", "tsv", "log"];
    let declared = declared.trim().to_ascii_lowercase();
    if declared.starts_with("text/") {
        return true;
    }
    name.rsplit_once('.').is_some_and(|(stem, extension)| {
        !stem.is_empty()
            && TEXT_EXTENSIONS
                .iter()
                .any(|text| extension.eq_ignore_ascii_case(text))
    })
}

/// Checks that a body is UTF-8 as it streams by, piece by piece, holding at most the three
/// bytes of a character split between two pieces.
#[derive(Debug, Default)]
pub struct Utf8Check {
    /// The start of a character whose end is in the next piece.
    partial: Vec<u8>,
    invalid: bool,
}

impl Utf8Check {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next piece.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        if self.invalid {
            return;
        }
        if let Some(&lead) = self.partial.first() {
            let needed = sequence_len(lead).saturating_sub(self.partial.len());
            if bytes.len() < needed {
                self.partial.extend_from_slice(bytes);
                return;
            }
            self.partial.extend_from_slice(&bytes[..needed]);
            if std::str::from_utf8(&self.partial).is_err() {
                self.invalid = true;
                return;
            }
            self.partial.clear();
            bytes = &bytes[needed..];
        }
        if let Err(err) = std::str::from_utf8(bytes) {
            match err.error_len() {
                // Cut short by the end of the piece: the rest may follow.
                None => self.partial = bytes[err.valid_up_to()..].to_vec(),
                Some(_) => self.invalid = true,
            }
        }
    }

    /// Whether everything fed was UTF-8, with no character left unfinished.
    pub fn is_valid(&self) -> bool {
        !self.invalid && self.partial.is_empty()
    }
}

/// The length of the UTF-8 sequence a lead byte starts (1 for anything else, which then
/// fails the check).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0";
    const PDF: &[u8] = b"%PDF-1.7\n";
    const HTML: &[u8] = b"<!DOCTYPE html><html><script>alert(1)</script>";

    #[test]
    fn the_bytes_decide_not_the_declared_type() {
        for (head, declared, name, utf8, expected) in [
            (PNG, "text/plain", "notes.txt", false, "image/png"),
            (JPEG, "application/pdf", "a.pdf", false, "image/jpeg"),
            (PDF, "image/png", "picture.png", true, "application/pdf"),
            (HTML, "text/html", "page.html", true, "text/plain"),
            (HTML, "", "page.html", false, OCTET_STREAM),
            (b"hello" as &[u8], "text/plain", "hello", true, "text/plain"),
            (b"hello", "", "hello.TXT", true, "text/plain"),
            (b"hello", "", "hello", true, OCTET_STREAM),
            (b"hello", "application/json", "a.json", true, OCTET_STREAM),
            (b"\xFFhello", "text/plain", "a.txt", false, OCTET_STREAM),
            (b"", "text/plain", "empty.txt", true, "text/plain"),
            (b"plain", "", ".txt", true, OCTET_STREAM),
        ] {
            let sniffed = sniff(head);
            assert_eq!(
                content_type(sniffed, declared, name, utf8),
                expected,
                "{:?} declared {declared} named {name}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn the_four_image_formats_are_recognised() {
        assert_eq!(sniff(PNG), Sniffed::Image(ImageFormat::Png));
        assert_eq!(sniff(JPEG), Sniffed::Image(ImageFormat::Jpeg));
        assert_eq!(
            sniff(b"GIF89a\x01\0\x01\0"),
            Sniffed::Image(ImageFormat::Gif)
        );
        assert_eq!(
            sniff(b"RIFF\x24\0\0\0WEBPVP8 "),
            Sniffed::Image(ImageFormat::WebP)
        );
        assert_eq!(
            sniff(b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0"),
            Sniffed::Known("image/bmp")
        );
        assert_eq!(sniff(b"BMW M3, 1986-1991: a history"), Sniffed::Unknown);
    }

    #[test]
    fn utf8_is_checked_across_pieces() {
        let text = "grüße, 世界 🌍!".as_bytes();
        for split in 0..=text.len() {
            for second in split..=text.len() {
                let mut check = Utf8Check::new();
                check.feed(&text[..split]);
                check.feed(&text[split..second]);
                check.feed(&text[second..]);
                assert!(check.is_valid(), "split at {split} and {second}");
            }
        }
    }

    #[test]
    fn broken_utf8_is_caught_wherever_it_is() {
        for (pieces, valid) in [
            (vec![&b"abc"[..], b"def"], true),
            (vec![b"ab\xF0\x9F", b"\x8C\x8D"], true),
            (vec![b"ab\xF0\x9F", b"\x8C"], false),
            (vec![b"ab\xF0\x9F", b"x\x8C\x8D"], false),
            (vec![b"\xC3", b"", b"\xA9"], true),
            (vec![b"\xFF", b"abc"], false),
            (vec![b"abc", b"\xC3"], false),
            (vec![b"\xED\xA0\x80"], false),
        ] {
            let mut check = Utf8Check::new();
            for piece in &pieces {
                check.feed(piece);
            }
            assert_eq!(check.is_valid(), valid, "{pieces:?}");
        }
    }
}
