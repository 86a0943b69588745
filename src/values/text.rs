//! Outside text in names and messages: which characters hide themselves, and how a message
//! quotes a value it was given.

/// The most characters of an outside value a message quotes; the rest is cut with `…`.
/// Room for a whole job id ([`MAX_ID_LEN`](crate::batch::MAX_ID_LEN), 100) with a few escapes.
pub(crate) const QUOTED_CHARS: usize = 120;

/// `text` as a message quotes it: cut at [`QUOTED_CHARS`] with `…`, control and invisible
/// characters shown as `\u{…}` escapes, by the helper the client's errors quote provider text
/// with (one mechanism for every quote). It reads at most that many characters of `text`, so
/// quoting a 50 MB value costs no more than quoting a short one.
pub(crate) fn quoted(text: &str) -> String {
    crate::client::clean(text, QUOTED_CHARS)
}

/// Whether `c` is a character that changes how the text around it is shown without being
/// shown itself, or that looks like nothing: in a name it can make the name read as another
/// (`clip\u{202E}4pm.exe` displays as `clipexe.mp4`), and in a message it can hide or reorder
/// what the message says.
///
/// Every format character (Unicode category Cf: the bidirectional controls U+200E, U+200F,
/// U+202A–U+202E, U+2066–U+2069 and U+061C; the zero-width space, joiners and word joiner;
/// the byte order mark; the soft hyphen; the tag characters U+E0000–U+E007F; …), the line and
/// paragraph separators U+2028 and U+2029, the combining grapheme joiner U+034F, the variation
/// selectors, and the blank Hangul fillers.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        // Format characters (Cf), Unicode 15.1.
        0x00AD
        | 0x0600..=0x0605
        | 0x061C
        | 0x06DD
        | 0x070F
        | 0x0890..=0x0891
        | 0x08E2
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x2064
        | 0x2066..=0x206F
        | 0xFEFF
        | 0xFFF9..=0xFFFB
        | 0x110BD
        | 0x110CD
        | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0001
        | 0xE0020..=0xE007F
        // Line and paragraph separators (Zl, Zp).
        | 0x2028..=0x2029
        // Combining grapheme joiner, variation selectors: invisible modifiers.
        | 0x034F
        | 0x180B..=0x180D
        | 0x180F
        | 0xFE00..=0xFE0F
        | 0xE0100..=0xE01EF
        // Hangul fillers: letters that display as blank space.
        | 0x115F..=0x1160
        | 0x3164
        | 0xFFA0)
}

/// `U+202E`: how a message names a character it refuses (the jobs file's checks).
#[cfg(any(feature = "ledger", test))]
pub(crate) fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidirectional_controls_and_zero_width_characters_are_invisible() {
        for c in [
            '\u{202a}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{200e}',
            '\u{200f}',
            '\u{061c}',
            '\u{200b}',
            '\u{200d}',
            '\u{2060}',
            '\u{feff}',
            '\u{2028}',
            '\u{e0041}',
            '\u{fe0f}',
        ] {
            assert!(is_invisible(c), "{}", code_point(c));
        }
        for c in ['a', ' ', '马', 'ñ', '-', '.', '🐎', '\u{0301}'] {
            assert!(!is_invisible(c), "{}", code_point(c));
        }
    }

    #[test]
    fn quotes_are_capped_and_escape_what_hides() {
        let long = "x".repeat(10_000);
        let quote = quoted(&long);
        assert_eq!(quote.chars().count(), QUOTED_CHARS + 1);
        assert!(quote.ends_with('…'));
        assert_eq!(quoted("a\u{202e}b\u{1b}c"), "a\\u{202e}b\\u{1b}c");
        assert_eq!(quoted("马"), "马");
        assert_eq!(code_point('\u{202e}'), "U+202E");
        assert_eq!(code_point('\u{e0041}'), "U+E0041");
    }
}
