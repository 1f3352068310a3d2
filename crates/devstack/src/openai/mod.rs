//! A local stand-in for an OpenAI-compatible images endpoint (DESIGN §8), for dev and tests
//! only, never deployed: the real provider adapter talks to it offline.
//!
//! `POST /v1/images/generations` takes OpenAI's request JSON (`model`, `prompt`, `n`, `size`,
//! `quality`, `output_format`, `response_format`) and answers OpenAI's shape
//! `{created, data: [{b64_json} | {url}], background, output_format, quality, size, usage}`
//! with deterministic pictures: a gradient and shapes drawn from a hash of the prompt and the
//! image's index, at the requested size, as real PNG, JPEG or WebP (lossless). It checks what
//! OpenAI checks, answering OpenAI's error shape `{"error": {message, type, param, code}}`:
//! no `Authorization: Bearer <key>` (any non-empty key) is 401; a body that is not JSON, a
//! missing `prompt` or `model`, `n` outside 1..=10, an unknown `quality`, `output_format` or
//! `response_format`, or a `size` that is neither `auto` nor `WIDTHxHEIGHT` with both edges
//! multiples of 16 from 256 to 3840, aspect at most 3:1 and at most 3840x2160 pixels, or a
//! `background` other than `auto`, `opaque`, `transparent` (which needs `png` or `webp`), is 400
//! `invalid_request_error`. `background: "transparent"` draws the shapes on a fully transparent
//! ground (real alpha). `GET /v1/models` lists models with their `shutdown_date`, and a model
//! past it is 404 `model_not_found` (module `models`). `GET /v1/files/{id}` serves the pictures of URL answers (the
//! latest 256), without authentication, like a signed storage URL. `POST /v1/images/edits`
//! takes OpenAI's multipart edit (up to 16 images and a mask for the first, checked as OpenAI
//! checks them) and answers as a generation of its text fields does, directives and streaming
//! included (module `edits`; a streamed edit's events are `image_edit.*`).
//!
//! # Directives
//!
//! Tests steer it per prompt, so tests sharing one stand-in do not disturb each other. Calls
//! are counted per prompt (after the bearer check), and directives are read from the prompt:
//!
//! | directive | effect |
//! |---|---|
//! | `[fault:429]`, `[fault:429xK]` | 429 `rate_limit_exceeded` with `Retry-After: 1`, always or on the first K calls |
//! | `[fault:quota]` | 429 `insufficient_quota`, always |
//! | `[fault:500]`, `[fault:500xK]` | 500 `server_error`, always or on the first K calls |
//! | `[fault:policy]` | 400 `moderation_blocked` (`image_generation_user_error`), as a safety refusal |
//! | `[fault:slow=MS]` | sleeps MS milliseconds before answering anything |
//! | `[fault:corrupt=I]` | the image at index I is undecodable bytes (a PNG signature and junk) |
//! | `[fault:bigfile]`, `[fault:bigfile=BYTES]` | URL answers' files are padded to at least BYTES (default 8 MiB) and sent chunked, without `Content-Length` |
//! | `[answer:url]` | answers URLs to this server's `GET /v1/files/{id}` instead of base64 (as does `response_format: "url"`) |
//! | `[answer:url=HOST]` | the same, with HOST in the URL instead of the request's host (same port) |
//! | `[answer:nostream]` | `stream: true` is a 400 naming `stream`, as from a model that cannot stream |
//!
//! `stream: true` with `partial_images` (0-3) answers server-sent events (module `stream`):
//! the partial images, then the final image; `[fault:slow=MS]` then waits MS before each event
//! instead of before the answer.
//!
//! Faults apply in this order: slow, 429, quota, 500, request validation, policy. A bracket
//! starting `[fault:` or `[answer:` that is not one of these is a 400, so a typo cannot pass
//! a test by accident. [`OpenAiStandIn::calls`] counts calls per prompt.
//!
//! The router's paths are absolute (`/v1/...`) and it has no fallback, so the local dev server
//! can merge it into its own; [`serve_openai_stand_in`] serves it alone on loopback for tests.

mod directives;
mod edits;
mod errors;
mod models;
mod pictures;
mod request;
mod stream;

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine;
use serde_json::{Value, json};

pub use self::edits::EditSeen;
use self::{
    directives::Directives,
    errors::{error, invalid, json_answer},
    pictures::{draw, draw_cutout, encode, encode_rgba},
    request::{Asked, Invalid, check},
};

/// How many served files are kept for `GET /v1/files/{id}`.
const KEPT_FILES: usize = 256;
/// What a `[fault:corrupt=I]` image is.
const CORRUPT: &[u8] = b"\x89PNG\r\n\x1a\nthis is not a picture";

/// The stand-in's shared state; clones share it.
#[derive(Clone, Default)]
pub struct OpenAiStandIn {
    state: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    calls: Mutex<HashMap<String, usize>>,
    files: Mutex<Files>,
    edits: Mutex<Vec<EditSeen>>,
    /// `GET /v1/models`'s list (module `models`), the defaults until a test announces one.
    models: Mutex<Option<std::collections::BTreeMap<String, Option<time::Date>>>>,
}

#[derive(Default)]
struct Files {
    order: VecDeque<String>,
    by_id: HashMap<String, File>,
}

#[derive(Clone)]
struct File {
    bytes: Bytes,
    content_type: &'static str,
    /// Sent chunked, without `Content-Length`.
    chunked: bool,
}

impl OpenAiStandIn {
    pub fn new() -> Self {
        Self::default()
    }

    /// `POST /v1/images/generations` and `GET /v1/files/{id}`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/images/generations", post(generations))
            .route("/v1/images/edits", post(edits::edits))
            .route("/v1/files/{id}", get(file))
            .route("/v1/models", get(models::list))
            .with_state(self.clone())
    }

    /// What the edits whose prompt contains `prompt_contains` received, in order.
    pub fn edits(&self, prompt_contains: &str) -> Vec<EditSeen> {
        lock(&self.state.edits)
            .iter()
            .filter(|seen| seen.prompt.contains(prompt_contains))
            .cloned()
            .collect()
    }

    /// Calls so far whose prompt contains `prompt_contains`.
    pub fn calls(&self, prompt_contains: &str) -> usize {
        lock(&self.state.calls)
            .iter()
            .filter(|(prompt, _)| prompt.contains(prompt_contains))
            .map(|(_, calls)| calls)
            .sum()
    }

    /// Counts a call of `prompt`; returns which call it is, from 1.
    fn count(&self, prompt: &str) -> usize {
        let mut calls = lock(&self.state.calls);
        let n = calls.entry(prompt.to_owned()).or_default();
        *n += 1;
        *n
    }

    fn keep(&self, file: File) -> String {
        let id = format!("file-{}", ulid::Ulid::generate().to_string().to_lowercase());
        let mut files = lock(&self.state.files);
        files.order.push_back(id.clone());
        files.by_id.insert(id.clone(), file);
        while files.order.len() > KEPT_FILES {
            if let Some(old) = files.order.pop_front() {
                files.by_id.remove(&old);
            }
        }
        id
    }
}

/// A poisoned lock only means a handler panicked mid-update of a counter; the data is usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves a fresh stand-in on `127.0.0.1` at a free port; returns its API base
/// (`http://127.0.0.1:PORT/v1`, what `OPENAI_BASE_URL` takes) and its handle.
///
/// # Errors
/// When no loopback port can be bound.
pub async fn serve_openai_stand_in() -> std::io::Result<(String, OpenAiStandIn)> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let address = listener.local_addr()?;
    let stand_in = OpenAiStandIn::new();
    let router = stand_in.router();
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the OpenAI stand-in stopped");
        }
    });
    Ok((format!("http://{address}/v1"), stand_in))
}

async fn generations(
    State(stand_in): State<OpenAiStandIn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    images(&stand_in, &headers, &body, stream::Kind::Generation).await
}

/// A generation's or an edit's answer to its JSON fields (an edit's form, read as a
/// generation's fields); `kind` names a streamed answer's events.
async fn images(
    stand_in: &OpenAiStandIn,
    headers: &HeaderMap,
    body: &Bytes,
    kind: stream::Kind,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|key| !key.trim().is_empty());
    if !bearer {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            None,
            None,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        );
    }
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return invalid(
            None,
            None,
            "We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.",
        );
    };
    let Some(prompt) = body
        .get("prompt")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    else {
        return invalid(
            Some("prompt"),
            Some("missing_required_parameter"),
            "Missing required parameter: 'prompt'.",
        );
    };
    let call = stand_in.count(prompt);
    let directives = match Directives::parse(prompt) {
        Ok(directives) => directives,
        Err(message) => return invalid(Some("prompt"), None, &message),
    };
    // A streamed answer waits before each of its events instead.
    let streaming = body.get("stream") == Some(&Value::Bool(true));
    if directives.slow_ms > 0 && !streaming {
        tokio::time::sleep(Duration::from_millis(directives.slow_ms)).await;
    }
    if call <= directives.rate_limited {
        let mut answer = error(
            StatusCode::TOO_MANY_REQUESTS,
            "requests",
            None,
            Some("rate_limit_exceeded"),
            "Rate limit reached for images per minute. Please try again in 1s.",
        );
        answer
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return answer;
    }
    if directives.quota {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "insufficient_quota",
            None,
            Some("insufficient_quota"),
            "You exceeded your current quota, please check your plan and billing details.",
        );
    }
    if call <= directives.server_error {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            None,
            None,
            "The server had an error while processing your request. Sorry about that!",
        );
    }
    let asked = match check(&body) {
        Ok(asked) => asked,
        Err(Invalid(param, code, message)) => return invalid(Some(param), Some(code), &message),
    };
    if let Some(model) = body.get("model").and_then(Value::as_str)
        && let Some(gone) = models::refuse_if_shut_down(stand_in, model)
    {
        return gone;
    }
    if directives.policy {
        return error(
            StatusCode::BAD_REQUEST,
            "image_generation_user_error",
            None,
            Some("moderation_blocked"),
            "Your request was rejected by the safety system. If you believe this is an error, contact us.",
        );
    }
    match stream::streamed(&body, asked.n) {
        Err(Invalid(param, code, message)) => invalid(Some(param), Some(code), &message),
        Ok(Some(_)) if directives.nostream => invalid(
            Some("stream"),
            Some("unsupported_parameter"),
            "Unsupported parameter: 'stream' is not supported with this model.",
        ),
        Ok(Some(partials)) => {
            // Drawing and encoding three pictures is CPU work: off the server's threads.
            let (prompt, slow_ms) = (prompt.to_owned(), directives.slow_ms);
            let drawn = tokio::task::spawn_blocking(move || {
                stream::answer(kind, &prompt, &asked, partials, slow_ms).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|answer| answer);
            drawn.unwrap_or_else(|e| {
                error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    None,
                    None,
                    &format!("the stand-in could not encode the picture: {e}"),
                )
            })
        }
        Ok(None) => answer_images(stand_in, headers, prompt, &asked, &directives),
    }
}

fn answer_images(
    stand_in: &OpenAiStandIn,
    headers: &HeaderMap,
    prompt: &str,
    asked: &Asked,
    directives: &Directives,
) -> Response {
    let own_host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let url_host = match &directives.url {
        Some(Some(host)) => Some(match own_host.rsplit_once(':') {
            Some((_, port)) if !own_host.ends_with(']') => format!("{host}:{port}"),
            _ => host.clone(),
        }),
        Some(None) => Some(own_host.to_owned()),
        None => asked.url.then(|| own_host.to_owned()),
    };
    let mut data = Vec::with_capacity(asked.n);
    for index in 0..asked.n {
        let bytes = if directives.corrupt.contains(&index) {
            CORRUPT.to_vec()
        } else {
            let encoded = if asked.transparent {
                encode_rgba(
                    &draw_cutout(prompt, index, asked.width, asked.height),
                    asked.format,
                )
            } else {
                encode(
                    &draw(prompt, index, asked.width, asked.height),
                    asked.format,
                )
            };
            match encoded {
                Ok(bytes) => bytes,
                Err(e) => {
                    return error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        None,
                        None,
                        &format!("the stand-in could not encode the picture: {e}"),
                    );
                }
            }
        };
        data.push(match &url_host {
            None => json!({"b64_json": base64::engine::general_purpose::STANDARD.encode(&bytes)}),
            Some(host) => {
                let mut bytes = bytes;
                if let Some(at_least) = directives.bigfile {
                    bytes.resize(bytes.len().max(at_least), 0);
                }
                let id = stand_in.keep(File {
                    bytes: Bytes::from(bytes),
                    content_type: asked.format.content_type(),
                    chunked: directives.bigfile.is_some(),
                });
                json!({"url": format!("http://{host}/v1/files/{id}")})
            }
        });
    }
    let text_tokens = prompt.split_whitespace().count();
    let image_tokens = asked.n * 272;
    json_answer(
        StatusCode::OK,
        &json!({
            "created": time::OffsetDateTime::now_utc().unix_timestamp(),
            "background": if asked.transparent { "transparent" } else { "opaque" },
            "data": data,
            "output_format": asked.format.name(),
            "quality": asked.quality,
            "size": format!("{}x{}", asked.width, asked.height),
            "usage": {
                "input_tokens": text_tokens,
                "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0},
                "output_tokens": image_tokens,
                "total_tokens": text_tokens + image_tokens
            }
        }),
    )
}

async fn file(State(stand_in): State<OpenAiStandIn>, Path(id): Path<String>) -> Response {
    let found = lock(&stand_in.state.files).by_id.get(&id).cloned();
    let Some(file) = found else {
        return error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("id"),
            None,
            &format!("No such File object: {id}"),
        );
    };
    let body = if file.chunked {
        let chunks: Vec<Result<Bytes, std::convert::Infallible>> = file
            .bytes
            .chunks(64 * 1024)
            .map(|c| Ok(file.bytes.slice_ref(c)))
            .collect();
        Body::from_stream(futures::stream::iter(chunks))
    } else {
        Body::from(file.bytes)
    };
    ([(header::CONTENT_TYPE, file.content_type)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> reqwest::Client {
        crate::http_client().build().expect("a client")
    }

    async fn post(base: &str, key: Option<&str>, body: &Value) -> (StatusCode, Value) {
        let mut request = client()
            .post(format!("{base}/images/generations"))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let answer = request.send().await.expect("the stand-in answers");
        let status = StatusCode::from_u16(answer.status().as_u16()).expect("a status");
        let body = answer.bytes().await.expect("a body");
        (status, serde_json::from_slice(&body).expect("JSON"))
    }

    #[tokio::test]
    async fn requests_are_checked_like_openai_checks_them() {
        let (base, stand_in) = serve_openai_stand_in().await.expect("served");
        let ok = json!({"model": "m", "prompt": "checks", "size": "256x256"});
        let (status, answer) = post(&base, None, &ok).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer["error"]["type"], "invalid_request_error");
        assert_eq!(stand_in.calls("checks"), 0);
        for (field, value) in [
            ("size", json!("1000x1000")),
            ("n", json!(0)),
            ("n", json!(11)),
            ("quality", json!("ultra")),
            ("output_format", json!("gif")),
        ] {
            let mut body = ok.clone();
            body[field] = value.clone();
            let (status, answer) = post(&base, Some("k"), &body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{field}={value}");
            assert_eq!(answer["error"]["type"], "invalid_request_error");
            assert_eq!(answer["error"]["param"], field);
        }
        let (status, answer) = post(&base, Some("k"), &ok).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["size"], "256x256");
        assert_eq!(stand_in.calls("checks"), 6);
    }

    #[tokio::test]
    async fn jpeg_and_webp_are_drawn_in_their_own_format() {
        let (base, _stand_in) = serve_openai_stand_in().await.expect("served");
        for (format, expected) in [
            ("jpeg", image::ImageFormat::Jpeg),
            ("webp", image::ImageFormat::WebP),
            ("png", image::ImageFormat::Png),
        ] {
            let body = json!({"model": "m", "prompt": "formats", "size": "512x256", "output_format": format, "n": 2});
            let (status, answer) = post(&base, Some("k"), &body).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            assert_eq!(answer["output_format"], format);
            let data = answer["data"].as_array().expect("data");
            assert_eq!(data.len(), 2);
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data[0]["b64_json"].as_str().expect("b64_json"))
                .expect("base64");
            assert_eq!(image::guess_format(&bytes).expect("known"), expected);
            let picture = image::load_from_memory(&bytes).expect("decodes");
            assert_eq!((picture.width(), picture.height()), (512, 256));
        }
    }

    #[tokio::test]
    async fn a_streamed_request_answers_its_partial_images_then_the_final_one_spaced_by_slow() {
        let (base, _stand_in) = serve_openai_stand_in().await.expect("served");
        let body = json!({"model": "m", "prompt": "streams [fault:slow=150]", "size": "256x256", "stream": true, "partial_images": 2});
        let started = std::time::Instant::now();
        let answer = client()
            .post(format!("{base}/images/generations"))
            .bearer_auth("k")
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("the stand-in answers");
        assert_eq!(answer.status().as_u16(), 200);
        assert_eq!(answer.headers()["content-type"], "text/event-stream");
        let text = answer.text().await.expect("the events");
        assert!(
            started.elapsed() >= Duration::from_millis(3 * 150),
            "three events, each after a pause"
        );
        let events: Vec<Value> = text
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).expect("JSON"))
            .collect();
        let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
        assert_eq!(
            kinds,
            [
                "image_generation.partial_image",
                "image_generation.partial_image",
                "image_generation.completed"
            ]
        );
        assert_eq!(events[1]["partial_image_index"], 1);
        for event in &events {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(event["b64_json"].as_str().expect("b64_json"))
                .expect("base64");
            let picture = image::load_from_memory(&bytes).expect("decodes");
            assert_eq!((picture.width(), picture.height()), (256, 256));
        }
        assert!(events[2]["usage"]["total_tokens"].is_number());

        let refused = json!({"model": "m", "prompt": "no streams [answer:nostream]", "size": "256x256", "stream": true, "partial_images": 2});
        let (status, answer) = post(&base, Some("k"), &refused).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer["error"]["param"], "stream");
    }

    #[tokio::test]
    async fn a_streamed_transparent_request_keeps_real_alpha_in_every_event() {
        let (base, _stand_in) = serve_openai_stand_in().await.expect("served");
        let body = json!({"model": "m", "prompt": "a cut-out", "size": "256x256", "stream": true,
            "partial_images": 2, "background": "transparent", "output_format": "png"});
        let text = client()
            .post(format!("{base}/images/generations"))
            .bearer_auth("k")
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("the stand-in answers")
            .text()
            .await
            .expect("the events");
        let events: Vec<Value> = text
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).expect("JSON"))
            .collect();
        assert_eq!(events.len(), 3);
        for event in &events {
            assert_eq!(event["background"], "transparent");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(event["b64_json"].as_str().expect("b64_json"))
                .expect("base64");
            let picture = image::load_from_memory(&bytes).expect("decodes").to_rgba8();
            assert!(
                picture.pixels().any(|p| p.0[3] == 0),
                "{}: transparent pixels",
                event["type"]
            );
        }
    }

    #[tokio::test]
    async fn a_streamed_edit_answers_image_edit_events_and_a_model_that_cannot_stream_refuses() {
        let (base, stand_in) = serve_openai_stand_in().await.expect("served");
        let source = encode(&draw("source", 0, 256, 256), request::Format::Png).expect("a PNG");
        let form = |prompt: &str| {
            let boundary = "streams-boundary";
            let mut body = Vec::new();
            for (name, value) in [
                ("prompt", prompt),
                ("model", "m"),
                ("size", "256x256"),
                ("stream", "true"),
                ("partial_images", "2"),
            ] {
                body.extend(
                    format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                        .as_bytes(),
                );
            }
            body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"s.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
            body.extend(&source);
            body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
            client()
                .post(format!("{base}/images/edits"))
                .bearer_auth("k")
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body)
        };
        let answer = form("an edit streams").send().await.expect("answered");
        assert_eq!(answer.status().as_u16(), 200);
        assert_eq!(answer.headers()["content-type"], "text/event-stream");
        let text = answer.text().await.expect("the events");
        let kinds: Vec<String> = text
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .map(|data| serde_json::from_str::<Value>(data).expect("JSON"))
            .filter_map(|event| event["type"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(
            kinds,
            [
                "image_edit.partial_image",
                "image_edit.partial_image",
                "image_edit.completed"
            ]
        );
        assert_eq!(stand_in.edits("an edit streams").len(), 1);
        let refused = form("an edit [answer:nostream]")
            .send()
            .await
            .expect("answered");
        assert_eq!(refused.status().as_u16(), 400);
        let refused: Value =
            serde_json::from_str(&refused.text().await.expect("a body")).expect("JSON");
        assert_eq!(refused["error"]["param"], "stream");
    }

    #[tokio::test]
    async fn the_router_works_merged_into_another() {
        let stand_in = OpenAiStandIn::new();
        let app = Router::new()
            .route("/health", get(|| async { "ok" }))
            .merge(stand_in.router());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let body = json!({"model": "m", "prompt": "merged [answer:url]", "size": "256x256"});
        let (status, answer) = post(&format!("{base}/v1"), Some("k"), &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let url = answer["data"][0]["url"].as_str().expect("a URL");
        assert!(url.starts_with(&format!("{base}/v1/files/")), "{url}");
        let file = client().get(url).send().await.expect("served");
        assert_eq!(file.headers()["content-type"], "image/png");
        let bytes = file.bytes().await.expect("bytes");
        assert!(image::load_from_memory(&bytes).is_ok());
        let health = client()
            .get(format!("{base}/health"))
            .send()
            .await
            .expect("served");
        assert_eq!(health.text().await.expect("text"), "ok");
        let missing = client()
            .get(format!("{base}/v1/files/file-nope"))
            .send()
            .await
            .expect("served");
        assert_eq!(missing.status().as_u16(), 404);
    }
}
