//! The URL rules the sources state, and an RFC 3986 check for `format: uri`.

use super::text::quoted;

/// A rule for a URL-valued string, as the OpenAPI documents state it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UrlRule {
    /// `format: uri` and `pattern: ^https?://` (HiAPI first frame).
    HttpOrHttps,
    /// `pattern: ^https?://` alone (reapi media: "public HTTP(S) URLs", no `data:`/base64).
    HttpPattern,
    /// `format: uri` alone (Apiframe images).
    Uri,
    /// `format: uri` and HTTPS, or plain http to a loopback host (HiAPI callback and
    /// references, Apiframe webhook: our documents' decision, for receivers and images served
    /// on one machine in tests).
    HttpsOrLoopback,
}

impl UrlRule {
    /// The problem with `text` under this rule, if any.
    pub(crate) fn check(self, text: &str) -> Option<String> {
        let needs_uri = !matches!(self, UrlRule::HttpPattern);
        if needs_uri && !is_uri(text) {
            return Some(format!(
                "'{}' is not a valid URI (RFC 3986): percent-encode spaces and non-ASCII characters",
                quoted(text)
            ));
        }
        match self {
            UrlRule::HttpsOrLoopback if !text.starts_with("https://") && !is_loopback_http(text) => {
                Some(format!(
                    "'{}' must be an https:// URL (plain http:// only to localhost, 127.x.x.x or [::1])",
                    quoted(text)
                ))
            }
            UrlRule::HttpOrHttps | UrlRule::HttpPattern
                if !(text.starts_with("https://") || text.starts_with("http://")) =>
            {
                Some(format!(
                    "'{}' must be a public http(s):// URL; data: URIs and base64 are not accepted",
                    quoted(text)
                ))
            }
            _ => None,
        }
    }
}

/// `true` when `text` is plain http to a loopback host, exactly as the documents' callback
/// pattern says: `http://`, then `localhost`, `127.` and three more groups of 1-3 digits, or
/// `[::1]`; an optional port of 1-5 digits; then the end, `/` or `?`.
pub(crate) fn is_loopback_http(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("http://") else {
        return false;
    };
    let after_host = if let Some(after) = rest.strip_prefix("localhost") {
        after
    } else if let Some(after) = rest.strip_prefix("[::1]") {
        after
    } else if let Some(after) = rest.strip_prefix("127.") {
        let mut after = after;
        for group in 0..3 {
            if group > 0 {
                match after.strip_prefix('.') {
                    Some(next) => after = next,
                    None => return false,
                }
            }
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            if !(1..=3).contains(&digits) {
                return false;
            }
            after = after.get(digits..).unwrap_or_default();
        }
        after
    } else {
        return false;
    };
    let after_port = match after_host.strip_prefix(':') {
        Some(port) => {
            let digits = port.bytes().take_while(u8::is_ascii_digit).count();
            if !(1..=5).contains(&digits) {
                return false;
            }
            port.get(digits..).unwrap_or_default()
        }
        None => after_host,
    };
    after_port.is_empty() || after_port.starts_with('/') || after_port.starts_with('?')
}

/// `true` when `text` is an absolute URI by RFC 3986: `scheme ":" hier-part ["?" query]
/// ["#" fragment]`, every character allowed where it stands, every `%` followed by two hex
/// digits, and an authority (after `//`) with a well-formed host and a numeric port.
///
/// One byte-class table and byte scans: the check runs on every URL a body carries.
pub(crate) fn is_uri(text: &str) -> bool {
    let bytes = text.as_bytes();
    // The scheme runs up to the first ':': a letter, then letters, digits, '+', '-' or '.'.
    let scheme = bytes.iter().take_while(|&&b| has(b, SCHEME)).count();
    if !bytes.first().is_some_and(u8::is_ascii_alphabetic) || bytes.get(scheme) != Some(&b':') {
        return false;
    }
    let rest = &bytes[scheme + 1..];
    // The hier-part ends at the first '?' or '#'; the query at the first '#' after it.
    let hier_end = position(rest, |b| b == b'?' || b == b'#').unwrap_or(rest.len());
    let (hier, tail) = rest.split_at(hier_end);
    let tail_ok = match tail.split_first() {
        None => true,
        Some((b'?', after)) => match position(after, |b| b == b'#') {
            Some(i) => valid(&after[..i], QUERY) && valid(&after[i + 1..], QUERY),
            None => valid(after, QUERY),
        },
        Some((_, fragment)) => valid(fragment, QUERY),
    };
    if !tail_ok {
        return false;
    }
    match hier.strip_prefix(b"//") {
        Some(after) => {
            let (authority, path) =
                after.split_at(position(after, |b| b == b'/').unwrap_or(after.len()));
            // `authority` starts right after "//", three bytes past the scheme.
            let start = scheme + 3;
            valid(path, PATH)
                && text
                    .get(start..start + authority.len())
                    .is_some_and(valid_authority)
        }
        None => valid(hier, PATH),
    }
}

// Byte classes, each a bit of `CLASSES`. Each of the first five allows more than the one
// before it.
/// unreserved / sub-delims: a host name.
const HOST: u8 = 1;
/// HOST / ":": userinfo.
const USERINFO: u8 = 1 << 1;
/// USERINFO / "@": a path segment character (`pchar`).
const PCHAR: u8 = 1 << 2;
/// PCHAR / "/": a path.
const PATH: u8 = 1 << 3;
/// PATH / "?": a query or a fragment.
const QUERY: u8 = 1 << 4;
/// ALPHA / DIGIT / "+" / "-" / ".": after a scheme's first letter.
const SCHEME: u8 = 1 << 5;
/// DIGIT: a port.
const DIGIT: u8 = 1 << 6;

/// The classes of every byte; non-ASCII bytes belong to none.
static CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        let unreserved = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~');
        let sub_delim = matches!(
            c,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
        );
        let host = unreserved || sub_delim;
        let userinfo = host || c == b':';
        let pchar = userinfo || c == b'@';
        let path = pchar || c == b'/';
        let query = path || c == b'?';
        let mut class = 0;
        if host {
            class |= HOST;
        }
        if userinfo {
            class |= USERINFO;
        }
        if pchar {
            class |= PCHAR;
        }
        if path {
            class |= PATH;
        }
        if query {
            class |= QUERY;
        }
        if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.') {
            class |= SCHEME;
        }
        if c.is_ascii_digit() {
            class |= DIGIT;
        }
        table[b] = class;
        b += 1;
    }
    table
};

fn has(b: u8, class: u8) -> bool {
    CLASSES[usize::from(b)] & class != 0
}

fn position(bytes: &[u8], found: impl Fn(u8) -> bool) -> Option<usize> {
    bytes.iter().position(|&b| found(b))
}

/// Every byte is in `class`, except well-formed `%XX` escapes.
fn valid(bytes: &[u8], class: u8) -> bool {
    let mut rest = bytes;
    // A tight scan to the next byte outside the class; only a `%` may go on past it.
    while let Some(i) = rest.iter().position(|&b| !has(b, class)) {
        match rest.get(i..i + 3) {
            Some([b'%', high, low]) if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
                rest = &rest[i + 3..];
            }
            _ => return false,
        }
    }
    true
}

fn valid_authority(authority: &str) -> bool {
    let bytes = authority.as_bytes();
    let (userinfo, host_port) = match bytes.iter().rposition(|&b| b == b'@') {
        Some(at) => (&bytes[..at], &authority[at + 1..]),
        None => (&[][..], authority),
    };
    if !valid(userinfo, USERINFO) {
        return false;
    }
    let (host, port) = if let Some(literal) = host_port.strip_prefix('[') {
        let Some((inside, after)) = literal.split_once(']') else {
            return false;
        };
        if !valid_ip_literal(inside) {
            return false;
        }
        match after.strip_prefix(':') {
            _ if after.is_empty() => return true,
            Some(port) => ("", port),
            None => return false,
        }
    } else {
        match host_port.bytes().rposition(|b| b == b':') {
            Some(colon) => (&host_port[..colon], &host_port[colon + 1..]),
            None => (host_port, ""),
        }
    };
    valid(host.as_bytes(), HOST) && port.bytes().all(|b| has(b, DIGIT))
}

/// The inside of `[...]`: an IPv6 address, or `v` HEXDIG+ `.` (unreserved / sub-delims / `:`)+
/// (RFC 3986 IPvFuture).
fn valid_ip_literal(inside: &str) -> bool {
    if let Some(future) = inside.strip_prefix(['v', 'V']) {
        let Some((version, rest)) = future.split_once('.') else {
            return false;
        };
        return !version.is_empty()
            && version.bytes().all(|b| b.is_ascii_hexdigit())
            && !rest.is_empty()
            && rest.bytes().all(|b| has(b, USERINFO));
    }
    inside.parse::<std::net::Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The URI check as first written (string splits, per-character predicates), verbatim:
    /// the reference the table-driven [`is_uri`] is held to.
    mod reference {
        /// `true` when `text` is an absolute URI by RFC 3986: `scheme ":" hier-part ["?" query]
        /// ["#" fragment]`, every character allowed where it stands, every `%` followed by two hex
        /// digits, and an authority (after `//`) with a well-formed host and a numeric port.
        pub(super) fn is_uri(text: &str) -> bool {
            let Some((scheme, rest)) = text.split_once(':') else {
                return false;
            };
            let mut scheme_chars = scheme.chars();
            let scheme_ok = scheme_chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme_chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if !scheme_ok {
                return false;
            }
            let (before_fragment, fragment) = match rest.split_once('#') {
                Some((a, f)) => (a, Some(f)),
                None => (rest, None),
            };
            let (hier, query) = match before_fragment.split_once('?') {
                Some((h, q)) => (h, Some(q)),
                None => (before_fragment, None),
            };
            let tail_ok = |part: &str| valid_chars(part, |c| is_pchar(c) || c == '/' || c == '?');
            if !query.is_none_or(tail_ok) || !fragment.is_none_or(tail_ok) {
                return false;
            }
            match hier.strip_prefix("//") {
                Some(after) => {
                    let (authority, path) = match after.find('/') {
                        Some(i) => after.split_at(i),
                        None => (after, ""),
                    };
                    valid_authority(authority) && valid_chars(path, |c| is_pchar(c) || c == '/')
                }
                None => valid_chars(hier, |c| is_pchar(c) || c == '/'),
            }
        }

        fn is_unreserved(c: char) -> bool {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
        }

        fn is_sub_delim(c: char) -> bool {
            matches!(
                c,
                '!' | '$' | '&' | '\'' | '(' | ')' | '*' | '+' | ',' | ';' | '='
            )
        }

        fn is_pchar(c: char) -> bool {
            is_unreserved(c) || is_sub_delim(c) || matches!(c, ':' | '@')
        }

        /// Every character satisfies `allowed`, except well-formed `%XX` escapes.
        fn valid_chars(text: &str, allowed: impl Fn(char) -> bool) -> bool {
            let bytes = text.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'%' {
                    let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
                    if !(hex(i + 1) && hex(i + 2)) {
                        return false;
                    }
                    i += 3;
                    continue;
                }
                // Multi-byte characters are never allowed, so checking the lead byte suffices.
                if !allowed(char::from(bytes[i])) || !bytes[i].is_ascii() {
                    return false;
                }
                i += 1;
            }
            true
        }

        fn valid_authority(authority: &str) -> bool {
            let (userinfo, host_port) = match authority.rsplit_once('@') {
                Some((u, h)) => (Some(u), h),
                None => (None, authority),
            };
            if !userinfo
                .is_none_or(|u| valid_chars(u, |c| is_unreserved(c) || is_sub_delim(c) || c == ':'))
            {
                return false;
            }
            let (host, port) = if let Some(literal) = host_port.strip_prefix('[') {
                let Some((inside, after)) = literal.split_once(']') else {
                    return false;
                };
                if !valid_ip_literal(inside) {
                    return false;
                }
                match after {
                    "" => return true,
                    _ => match after.strip_prefix(':') {
                        Some(port) => ("", Some(port)),
                        None => return false,
                    },
                }
            } else {
                match host_port.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (host_port, None),
                }
            };
            valid_chars(host, |c| is_unreserved(c) || is_sub_delim(c))
                && port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()))
        }

        /// The inside of `[...]`: an IPv6 address, or `v` HEXDIG+ `.` (unreserved / sub-delims / `:`)+
        /// (RFC 3986 IPvFuture).
        fn valid_ip_literal(inside: &str) -> bool {
            if let Some(future) = inside.strip_prefix(['v', 'V']) {
                let Some((version, rest)) = future.split_once('.') else {
                    return false;
                };
                return !version.is_empty()
                    && version.bytes().all(|b| b.is_ascii_hexdigit())
                    && !rest.is_empty()
                    && rest
                        .chars()
                        .all(|c| is_unreserved(c) || is_sub_delim(c) || c == ':');
            }
            inside.parse::<std::net::Ipv6Addr>().is_ok()
        }
    }

    /// A string of `len` bytes around the edges of RFC 3986 from `rng`: scheme-like heads,
    /// `//`, brackets, `%` escapes good and bad, `@`, `:`, `?`, `#`, spaces, non-ASCII.
    fn edgy(rng: &mut fastrand::Rng) -> String {
        const PIECES: &[&str] = &[
            "https://", "http://", "a", "Z", "0", "9", "f", "v1", ".", ":", "@", "%", "%2", "%20",
            "%zz", "[", "]", "::", "::1", "/", "//", "?", "#", " ", "é", "…", "|", "{", "-", "~",
            "_", "!", "'", "+", ";", "=", "\\", "\n", "1.2.3.4", "ffff", "x-1:", "data:",
        ];
        (0..rng.usize(0..12))
            .map(|_| PIECES[rng.usize(0..PIECES.len())])
            .collect()
    }

    #[test]
    fn the_table_driven_check_agrees_with_the_reference() {
        let mut rng = fastrand::Rng::with_seed(3986);
        for _ in 0..400_000 {
            let text = edgy(&mut rng);
            assert_eq!(is_uri(&text), reference::is_uri(&text), "{text:?}");
        }
        // Every string of up to four characters over a small alphabet, after URI-like heads.
        let alphabet = ["a", "1", ":", "/", "?", "#", "%", "[", "]", "@", "é", "f"];
        let mut texts = vec![String::new()];
        for _ in 0..4 {
            texts = texts
                .iter()
                .flat_map(|t| alphabet.iter().map(move |a| format!("{t}{a}")))
                .chain(texts.iter().cloned())
                .collect();
            for text in &texts {
                for prefix in ["", "x:", "x://", "x://[", "x://u@"] {
                    let text = format!("{prefix}{text}");
                    assert_eq!(is_uri(&text), reference::is_uri(&text), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn absolute_uris_pass_and_malformed_ones_fail() {
        for ok in [
            "https://static.hiapi.ai/example/first-frame.jpg",
            "http://127.0.0.1:8787/v1/tasks?x=1#top",
            "https://user:pw@[::1]:443/a%20b",
            "https://[v1.fe]/x.jpg",
            "https://[::ffff:1.2.3.4]/",
            "data:image/png;base64,iVBORw0KGgo=",
            "urn:isbn:0451450523",
            "https://a.example",
        ] {
            assert!(is_uri(ok), "{ok}");
        }
        for bad in [
            "",
            "not a url",
            "/relative/path.jpg",
            "https://…/frame.jpg",
            "https://a.example/a b.jpg",
            "https://a.example/%zz",
            "https://a.example:port/",
            "1https://a.example",
            "https://[zz]/",
            "https://[1:2]/",
            "https://[v.x]/",
            "https://[fe80::1%25eth0]/",
        ] {
            assert!(!is_uri(bad), "{bad}");
        }
    }

    #[test]
    fn url_rules_say_what_is_wrong() {
        assert_eq!(
            UrlRule::HttpsOrLoopback.check("https://a.example/x.jpg"),
            None
        );
        assert_eq!(
            UrlRule::HttpsOrLoopback.check("http://a.example/x.jpg").unwrap(),
            "'http://a.example/x.jpg' must be an https:// URL (plain http:// only to localhost, 127.x.x.x or [::1])"
        );
        assert!(UrlRule::HttpPattern
            .check("data:image/png;base64,AAAA")
            .unwrap()
            .contains("data: URIs and base64 are not accepted"));
        // reapi states only the scheme rule: its own example URLs carry a literal '…'.
        assert_eq!(UrlRule::HttpPattern.check("https://…/frame.jpg"), None);
        assert_eq!(UrlRule::Uri.check("data:image/png;base64,AAAA"), None);
        assert!(UrlRule::Uri.check("no scheme").is_some());
    }

    #[test]
    fn loopback_http_is_exactly_the_documented_pattern() {
        for url in [
            "http://localhost",
            "http://localhost:8787/hiapi",
            "http://127.0.0.1:18788/apiframe?token=x",
            "http://127.10.200.3/",
            "http://[::1]:9000/hook",
        ] {
            assert!(is_loopback_http(url), "{url}");
            assert_eq!(UrlRule::HttpsOrLoopback.check(url), None, "{url}");
        }
        for url in [
            "http://localhost.example.com/x",
            "http://127.0.0.1.nip.io/x",
            "http://127.0.0/x",
            "http://1270.0.0.1/x",
            "http://127.0.0.1:/x",
            "http://127.0.0.1:123456/x",
            "http://10.0.0.1/x",
            "http://LOCALHOST/x",
            "ftp://127.0.0.1/x",
        ] {
            assert!(!is_loopback_http(url), "{url}");
            assert!(UrlRule::HttpsOrLoopback.check(url).is_some(), "{url}");
        }
        assert_eq!(
            UrlRule::HttpsOrLoopback.check("https://hooks.example.com/x"),
            None
        );
    }
}
