//! The stand-in's `GET /v1/models`: the models it knows, each with the `shutdown_date` OpenAI
//! announces (null for none), and the refusal of a model past that date, as OpenAI answers a
//! shut-down model (404 `model_not_found`). Tests add models and dates with
//! [`super::OpenAiStandIn::announce`].

use std::collections::BTreeMap;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use serde_json::{Value, json};
use time::{Date, macros::format_description};

use super::{
    OpenAiStandIn,
    errors::{error, json_answer},
    lock,
};

/// The models listed by default: the current gpt-image family, and the one it replaces, whose
/// ids work until their shutdown date.
pub(super) fn defaults() -> BTreeMap<String, Option<Date>> {
    let retiring = Date::from_calendar_date(2027, time::Month::May, 4).ok();
    BTreeMap::from([
        ("gpt-image-2.6-flare".to_owned(), None),
        ("gpt-image-2.6-sunburst".to_owned(), None),
        ("gpt-image-2.5-flare".to_owned(), retiring),
        ("gpt-image-2.5-sunburst".to_owned(), retiring),
    ])
}

fn iso(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// `GET /v1/models`, as OpenAI answers it (a bearer key is required).
pub(super) async fn list(State(stand_in): State<OpenAiStandIn>, headers: HeaderMap) -> Response {
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
            "You didn't provide an API key.",
        );
    }
    let models = stand_in.models();
    let data: Vec<Value> = models
        .iter()
        .map(|(id, shutdown)| {
            json!({
                "id": id,
                "object": "model",
                "created": 1_793_750_400,
                "owned_by": "system",
                "shutdown_date": shutdown.map(iso),
            })
        })
        .collect();
    json_answer(StatusCode::OK, &json!({"object": "list", "data": data}))
}

/// The 404 for `model` when its shutdown date is today or past; `None` otherwise (a model the
/// stand-in does not list is served, so tests may name any model).
pub(super) fn refuse_if_shut_down(stand_in: &OpenAiStandIn, model: &str) -> Option<Response> {
    let shutdown = stand_in.models().get(model).copied().flatten()?;
    let today = time::OffsetDateTime::now_utc().date();
    (shutdown <= today).then(|| {
        error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("model"),
            Some("model_not_found"),
            &format!(
                "The model `{model}` has been shut down on {}. Use a current model instead.",
                iso(shutdown)
            ),
        )
    })
}

impl OpenAiStandIn {
    /// Lists `model` with `shutdown` as its announced shutdown date (`None`: none announced).
    pub fn announce(&self, model: &str, shutdown: Option<Date>) {
        lock(&self.state.models)
            .get_or_insert_with(defaults)
            .insert(model.to_owned(), shutdown);
    }

    /// Every listed model with its shutdown date.
    pub fn models(&self) -> BTreeMap<String, Option<Date>> {
        lock(&self.state.models)
            .get_or_insert_with(defaults)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn call(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
        let client = crate::http_client().build().expect("a client");
        let mut request = client
            .request(method.parse().expect("a method"), url)
            .bearer_auth("sk-test");
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let answer = request.send().await.expect("the stand-in answers");
        let status = answer.status().as_u16();
        let body = answer.bytes().await.expect("a body");
        (status, serde_json::from_slice(&body).expect("JSON"))
    }

    #[tokio::test]
    async fn models_are_listed_with_their_shutdown_dates_and_a_shut_down_one_is_refused() {
        let (base, stand_in) = super::super::serve_openai_stand_in().await.expect("serves");
        let yesterday = time::OffsetDateTime::now_utc().date().previous_day();
        stand_in.announce("gpt-image-old", yesterday);
        let (status, listed) = call("GET", &format!("{base}/models"), None).await;
        assert_eq!(status, 200);
        let of = |id: &str| {
            listed["data"]
                .as_array()
                .and_then(|d| d.iter().find(|m| m["id"] == id))
                .map(|m| m["shutdown_date"].clone())
        };
        assert_eq!(of("gpt-image-2.6-flare"), Some(Value::Null));
        assert_eq!(of("gpt-image-2.5-flare"), Some(json!("2027-05-04")));
        assert!(of("gpt-image-old").is_some_and(|d| d.is_string()));

        let ask = |model: &str| json!({"model": model, "prompt": "a fox", "size": "1024x1024"});
        let (status, gone) = call(
            "POST",
            &format!("{base}/images/generations"),
            Some(ask("gpt-image-old")),
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(gone["error"]["code"], "model_not_found");
        let (status, _) = call(
            "POST",
            &format!("{base}/images/generations"),
            Some(ask("gpt-image-2.5-flare")),
        )
        .await;
        assert_eq!(status, 200, "works until its date");
    }

    #[tokio::test]
    async fn a_transparent_background_answers_real_alpha_and_needs_png_or_webp() {
        let (base, _stand_in) = super::super::serve_openai_stand_in().await.expect("serves");
        let url = format!("{base}/images/generations");
        let ask = |format: &str| {
            json!({"model": "m", "prompt": "a fox sticker", "size": "256x256",
                "background": "transparent", "output_format": format})
        };
        let (status, answer) = call("POST", &url, Some(ask("png"))).await;
        assert_eq!(status, 200);
        assert_eq!(answer["background"], "transparent");
        let b64 = answer["data"][0]["b64_json"].as_str().expect("base64");
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64)
            .expect("base64");
        let picture = image::load_from_memory(&bytes).expect("a PNG");
        assert!(picture.to_rgba8().pixels().any(|p| p.0[3] == 0));
        let (status, refused) = call("POST", &url, Some(ask("jpeg"))).await;
        assert_eq!(status, 400);
        assert_eq!(refused["error"]["param"], "background");
    }
}
