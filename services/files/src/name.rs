//! A file name as a client may send it, made safe to show and to put in a
//! `Content-Disposition` header: the last path component, without control or
//! bidirectional-override characters, trimmed, at most [`MAX_NAME_BYTES`] bytes (keeping
//! a short extension), and never empty.

/// Longest stored name, in bytes (what filesystems allow).
pub const MAX_NAME_BYTES: usize = 255;
/// The name of an upload whose name had nothing left.
pub const FALLBACK_NAME: &str = "file";
/// Longest extension (dot included) kept when a long name is cut.
const MAX_KEPT_EXTENSION: usize = 16;

/// The stored form of a client's file name.
pub fn sanitise(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|&c| !c.is_control() && !is_bidi_control(c))
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() || trimmed == "." || trimmed == ".." {
        return FALLBACK_NAME.to_owned();
    }
    shorten(trimmed, MAX_NAME_BYTES)
}

/// Characters that reorder how text around them is shown (`invoice_\u{202E}fdp.exe`
/// shows as `invoice_exe.pdf`).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `name` cut to at most `max` bytes on a character boundary, its extension kept when it
/// is short.
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= MAX_KEPT_EXTENSION => {
            let extension = &name[dot..];
            let stem = cut(&name[..dot], max - extension.len());
            format!("{}{extension}", stem.trim_end())
        }
        _ => cut(name, max).trim_end().to_owned(),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_safe() {
        for (given, stored) in [
            ("report.pdf", "report.pdf"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\me\\photo.jpg", "photo.jpg"),
            ("dir/", FALLBACK_NAME),
            ("", FALLBACK_NAME),
            ("..", FALLBACK_NAME),
            ("  spaced out .txt  ", "spaced out .txt"),
            ("bell\u{7}\nline\ttab.txt", "belllinetab.txt"),
            ("invoice_\u{202E}fdp.exe", "invoice_fdp.exe"),
            (".bashrc", ".bashrc"),
            ("grüße 世界.md", "grüße 世界.md"),
        ] {
            assert_eq!(sanitise(given), stored, "{given:?}");
        }
    }

    #[test]
    fn long_names_are_cut_keeping_their_extension() {
        let long = format!("{}.jpeg", "a".repeat(300));
        let stored = sanitise(&long);
        assert_eq!(stored.len(), MAX_NAME_BYTES);
        assert!(stored.ends_with("aaa.jpeg"));

        let wide = "世".repeat(100);
        let stored = sanitise(&wide);
        assert!(stored.len() <= MAX_NAME_BYTES);
        assert_eq!(stored.len(), 255);
        assert!(stored.chars().all(|c| c == '世'));

        let long_extension = format!("name.{}", "x".repeat(300));
        let stored = sanitise(&long_extension);
        assert_eq!(stored.len(), MAX_NAME_BYTES);
        assert!(stored.starts_with("name.xxx"));
    }
}
