//! The built web client (`web/dist`) on the local server, as CloudFront serves it in AWS: the
//! build's files at `/`, and `index.html` for any other page the client routes itself (a GET
//! that accepts HTML and names no API route). The API stays first for everything else, and
//! nothing under `/api` is ever the client's.

use std::path::{Path, PathBuf};

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use http::{HeaderValue, Method, StatusCode, header, request::Parts};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// Where the web client calls the API (CloudFront's `/api/*` behaviour in AWS).
pub const API_PREFIX: &str = "/api";

/// Hashed build output: cached for good. Everything else (the index) is revalidated.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// A built web client in a directory holding its `index.html`.
#[derive(Debug, Clone)]
pub struct Web {
    dir: PathBuf,
}

impl Web {
    /// The client built in `dir`, if there is one (`index.html` exists).
    pub fn open(dir: &Path) -> Option<Self> {
        dir.join("index.html").is_file().then(|| Self {
            dir: dir.to_owned(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `app` with the client's files and pages in front of it.
    pub fn serve(self, app: Router) -> Router {
        app.layer(axum::middleware::from_fn_with_state(self, layer))
    }
}

fn is_api(path: &str) -> bool {
    path == API_PREFIX
        || path
            .strip_prefix(API_PREFIX)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn accepts_html(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// A body-less copy of a GET or HEAD request, for the file services.
fn probe(parts: &Parts) -> Request {
    let mut request = Request::new(Body::empty());
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.headers_mut() = parts.headers.clone();
    request
}

fn cached(response: http::Response<impl Into<Body>>, cache: &'static str) -> Response {
    let mut response = response.map(Into::into);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

async fn layer(State(web): State<Web>, request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) || is_api(request.uri().path()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // Infallible: a missing file is a 404 response, not an error.
    if let Ok(file) = ServeDir::new(&web.dir)
        .append_index_html_on_directories(true)
        .oneshot(probe(&parts))
        .await
        && file.status() != StatusCode::NOT_FOUND
    {
        let cache = match parts.uri.path().starts_with("/assets/") {
            true => IMMUTABLE,
            false => REVALIDATE,
        };
        return cached(file.map(Body::new), cache);
    }
    let html = accepts_html(&parts);
    let probe = probe(&parts);
    let answer = next.run(Request::from_parts(parts, body)).await;
    if !(html && answer.status() == StatusCode::NOT_FOUND) {
        return answer;
    }
    match ServeFile::new(web.dir.join("index.html"))
        .oneshot(probe)
        .await
    {
        // 200, or 304 when the browser's copy is current.
        Ok(index) if index.status().is_success() || index.status() == StatusCode::NOT_MODIFIED => {
            cached(index.map(Body::new), REVALIDATE)
        }
        _ => answer,
    }
}
