//! The console's guard: security headers on every answer, and the token every request needs
//! when one is set (a bearer token, or the cookie the login form sets).

use std::sync::{atomic::Ordering, Arc};

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Redirect, Response},
    Form,
};
use sha2::{Digest, Sha256};

use super::{Console, TOKEN_ENV};

/// The cookie the login form sets: the token's SHA-256, not the token.
const COOKIE: &str = "hh_console";

/// The policy every page runs under: its own scripts, styles and media only, no inline
/// script, no framing, no form posting elsewhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The token every request must carry, kept as its SHA-256 (never shown).
pub(crate) struct Token {
    digest: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Equal strings, in a time that depends on their length only.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Token {
    /// The token in [`TOKEN_ENV`], if set; too short a token is refused.
    pub(crate) fn from_env() -> Result<Option<Token>, String> {
        let Some(value) = std::env::var_os(TOKEN_ENV) else {
            return Ok(None);
        };
        let value = value
            .into_string()
            .map_err(|_| format!("{TOKEN_ENV} is not UTF-8"))?;
        if value.trim().len() < 16 {
            return Err(format!(
                "{TOKEN_ENV} is shorter than 16 characters: too easy to guess"
            ));
        }
        Ok(Some(Token {
            digest: digest(value.trim()),
        }))
    }

    /// Whether `headers` carry the token (bearer) or the login cookie.
    fn admits(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| same(&digest(t.trim()), &self.digest));
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| name == COOKIE && same(value, &self.digest));
        bearer || cookie
    }
}

/// Adds the security headers to every answer; with a token set, refuses what does not carry
/// it (pages go to the login form, the rest are answered 401).
pub(crate) async fn guard(
    State(console): State<Arc<Console>>,
    request: Request,
    next: Next,
) -> Response {
    console.requests.fetch_add(1, Ordering::Relaxed);
    let path = request.uri().path().to_owned();
    let open = matches!(path.as_str(), "/login" | "/app.css");
    let mut response = match &console.token {
        // Without a token the console is on loopback, and must answer only to a loopback
        // name: a page elsewhere that points its own name at 127.0.0.1 (DNS rebinding) would
        // otherwise read it as its own origin.
        None if !loopback_host(request.headers()) => (
            StatusCode::MISDIRECTED_REQUEST,
            "this console answers only to localhost, 127.0.0.1 or [::1]\n",
        )
            .into_response(),
        Some(token) if !open && !token.admits(request.headers()) => {
            if path == "/" {
                Redirect::to("/login").into_response()
            } else {
                (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, "Bearer")],
                    "this console needs its token: Authorization: Bearer ..., or log in at /login\n",
                )
                    .into_response()
            }
        }
        _ => next.run(request).await,
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Whether the request's `Host` names a loopback host (`localhost`, 127.x.x.x, `[::1]`, with
/// or without a port). A request without one (HTTP/1.0) is no browser's, and is let through.
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST) else {
        return true;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(rest, |(name, _)| name),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

const LOGIN: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>happyhorse console: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/app.css"></head>
<body><main class="login"><h1>happyhorse console</h1>
<form method="post" action="/login"><label>Token <input type="password" name="token" autocomplete="current-password" autofocus required></label>
<button type="submit">Log in</button></form>WRONG</main></body></html>"#;

pub(crate) async fn login_page(State(console): State<Arc<Console>>) -> Response {
    if console.token.is_none() {
        return Redirect::to("/").into_response();
    }
    Html(LOGIN.replace("WRONG", "")).into_response()
}

#[derive(serde::Deserialize)]
pub(crate) struct Login {
    token: String,
}

pub(crate) async fn login(
    State(console): State<Arc<Console>>,
    Form(form): Form<Login>,
) -> Response {
    let Some(token) = &console.token else {
        return Redirect::to("/").into_response();
    };
    let given = digest(form.token.trim());
    if !same(&given, &token.digest) {
        let page = LOGIN.replace("WRONG", "<p class=\"error\">That is not the token.</p>");
        return (StatusCode::UNAUTHORIZED, Html(page)).into_response();
    }
    let cookie = format!("{COOKIE}={given}; HttpOnly; SameSite=Strict; Path=/");
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_are_loopback_hosts() {
        let host = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_str(value).unwrap());
            loopback_host(&headers)
        };
        for good in [
            "localhost",
            "LOCALHOST:8788",
            "127.0.0.1:8788",
            "127.9.9.9",
            "[::1]:8788",
            "[::1]",
        ] {
            assert!(host(good), "{good}");
        }
        for bad in [
            "evil.example",
            "evil.example:8788",
            "localhost.evil.example",
            "10.0.0.1:8788",
            "[::2]:80",
            "127.0.0.1.nip.io",
        ] {
            assert!(!host(bad), "{bad}");
        }
        assert!(loopback_host(&HeaderMap::new()));
    }
}
