//! `object_store`'s HTTP calls over this crate's own reqwest client (HTTP/1.1, rustls with
//! ring): its `reqwest` feature would bring HTTP/2 and a second TLS set-up.

use async_trait::async_trait;
use http_body_util::BodyExt;
use object_store::client::{
    ClientOptions, HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse,
    HttpResponseBody, HttpService,
};

/// Hands `object_store` an [`HttpClient`] that sends through `reqwest::Client`.
#[derive(Debug, Clone)]
pub(crate) struct Connector(pub reqwest::Client);

impl HttpConnector for Connector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(Service(self.0.clone())))
    }
}

#[derive(Debug)]
struct Service(reqwest::Client);

/// How `object_store`'s retries should take a reqwest error: connecting and sending are
/// retried, time-outs and cut connections when the call is idempotent, the rest never.
fn kind(err: &reqwest::Error) -> HttpErrorKind {
    if err.is_timeout() {
        HttpErrorKind::Timeout
    } else if err.is_connect() {
        HttpErrorKind::Connect
    } else if err.is_request() {
        HttpErrorKind::Request
    } else if err.is_body() {
        HttpErrorKind::Interrupted
    } else if err.is_decode() {
        HttpErrorKind::Decode
    } else {
        HttpErrorKind::Unknown
    }
}

fn http_error(err: reqwest::Error) -> HttpError {
    // Without its URL: a presigned query is a credential.
    let err = err.without_url();
    HttpError::new(kind(&err), err)
}

#[async_trait]
impl HttpService for Service {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (parts, body) = request.into_parts();
        let url = reqwest::Url::parse(&parts.uri.to_string())
            .map_err(|err| HttpError::new(HttpErrorKind::Request, err))?;
        let mut outgoing = reqwest::Request::new(parts.method, url);
        *outgoing.headers_mut() = parts.headers;
        *outgoing.body_mut() = Some(reqwest::Body::wrap(body));
        let response = self.0.execute(outgoing).await.map_err(http_error)?;
        let response: http::Response<reqwest::Body> = response.into();
        let (parts, body) = response.into_parts();
        let body = HttpResponseBody::new(body.map_err(http_error));
        Ok(HttpResponse::from_parts(parts, body))
    }
}
