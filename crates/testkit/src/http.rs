//! Calling a router as a client would, and reading its answer, for every function's tests.

use axum::{Router, body::Body};
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A response, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Answer {
    /// The problem code of an error answer.
    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or_default()
    }

    /// The fields a 422 names.
    pub fn fields(&self) -> Vec<String> {
        self.strings("errors", "field")
    }

    /// The ids of a list's items.
    pub fn ids(&self) -> Vec<String> {
        self.strings("items", "id")
    }

    fn strings(&self, list: &str, key: &str) -> Vec<String> {
        self.json[list]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i[key].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn cookie(&self) -> Option<String> {
        self.headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// Sends `request` through `router`.
pub async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {});
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = match response.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => panic!("reading the body: {e}"),
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        json,
        text,
    }
}

/// A request with an optional bearer token and an optional JSON body.
pub fn request(method: &str, path: &str, token: Option<&str>, json: Option<&str>) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match json {
        Some(json) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_owned())
        }
        None => Body::empty(),
    };
    match request.body(body) {
        Ok(request) => request,
        Err(e) => panic!("building {method} {path}: {e}"),
    }
}

/// `request` as API Gateway delivers it from a client at `source_ip`: the address in
/// `requestContext.http.sourceIp`, where the functions read it.
pub fn from_address(request: Request<Body>, source_ip: &str) -> Request<Body> {
    use lambda_http::{
        RequestExt, aws_lambda_events::apigw::ApiGatewayV2httpRequestContext,
        request::RequestContext,
    };
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(source_ip.to_owned());
    request.with_request_context(RequestContext::ApiGatewayV2(context))
}

fn event_files(function: &str) -> Vec<std::path::PathBuf> {
    let dir = artforge_devstack::workspace_root()
        .join("events")
        .join(function);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn is_sqs(path: &std::path::Path) -> bool {
    path.to_string_lossy().ends_with(".sqs.json")
}

/// `events/<function>/<case>.sqs.json`: every SQS sample event of a function, sorted, by case.
pub fn sqs_events(function: &str) -> Vec<(String, String)> {
    event_files(function)
        .into_iter()
        .filter(|p| is_sqs(p))
        .map(|path| {
            let name = path
                .file_name()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .trim_end_matches(".sqs.json")
                .to_owned();
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, text)
        })
        .collect()
}

/// `events/<function>/<case>.<status>.json`: every API Gateway sample event of a function,
/// sorted, with the status its name documents and its text (SQS events are [`sqs_events`]).
pub fn sample_events(function: &str) -> Vec<(String, u16, String)> {
    event_files(function)
        .into_iter()
        .filter(|p| !is_sqs(p))
        .map(|path| {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            let status = name
                .rsplit('.')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{name}: name it <case>.<status>.json"));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, status, text)
        })
        .collect()
}

/// An API Gateway v2 event, parsed as Lambda does (`lambda_http`), as a router request.
pub fn event_request(text: &str) -> Request<Body> {
    let request = lambda_http::request::from_str(text)
        .unwrap_or_else(|e| panic!("not an API Gateway event: {e}"));
    let (parts, body) = request.into_parts();
    Request::from_parts(parts, Body::from(body.to_vec()))
}
