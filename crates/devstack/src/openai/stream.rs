//! Streamed answers, as the GPT image models give them for `stream: true`: server-sent events,
//! `partial_images` (0-3) `<kind>.partial_image` events (`b64_json`, `partial_image_index`),
//! then one `<kind>.completed` event with the final image and its usage, where `<kind>` is
//! `image_generation` (generations) or `image_edit` (edits). A streamed request makes one
//! image: `n` above 1 is a 400 (the completed event carries no image index). Partial images are
//! the final picture, coarser the earlier they come; a `background: "transparent"` request's
//! are cut-outs with real alpha, as its plain answer is. `[fault:slow=MS]` waits MS before each
//! event, `completed` included, so a client sees the partial images arrive;
//! `[answer:nostream]` answers `stream: true` as a model that cannot stream does (400, param
//! `stream`).

use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde_json::{Value, json};

use super::{
    pictures::{draw, draw_cutout, encode, encode_rgba},
    request::{Asked, Invalid},
};

/// The most partial images a request may ask for.
const MAX_PARTIAL_IMAGES: u64 = 3;

/// Which endpoint's events: `image_generation` or `image_edit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Generation,
    Edit,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Self::Generation => "image_generation",
            Self::Edit => "image_edit",
        }
    }
}

/// How many partial images a streamed request asks for; `None` when it is not streamed.
pub(super) fn streamed(body: &Value, n: usize) -> Result<Option<u8>, Invalid> {
    match body.get("stream") {
        None | Some(Value::Null | Value::Bool(false)) => return Ok(None),
        Some(Value::Bool(true)) => {}
        Some(_) => {
            return Err(Invalid(
                "stream",
                "invalid_type",
                "Invalid type for 'stream': expected a boolean.".into(),
            ));
        }
    }
    if n > 1 {
        return Err(Invalid(
            "n",
            "invalid_value",
            "Streaming makes one image per request: 'n' must be 1 with 'stream'.".into(),
        ));
    }
    let partials = match body.get("partial_images") {
        None | Some(Value::Null) => 0,
        Some(value) => match value.as_u64() {
            Some(k) if k <= MAX_PARTIAL_IMAGES => k,
            _ => {
                return Err(Invalid(
                    "partial_images",
                    "invalid_value",
                    "Invalid 'partial_images': expected an integer from 0 to 3.".into(),
                ));
            }
        },
    };
    Ok(Some(u8::try_from(partials).unwrap_or(0)))
}

/// The event stream of one image of `prompt`: `partials` partial images, then the final one,
/// each `slow_ms` after the one before.
pub(super) fn answer(
    kind: Kind,
    prompt: &str,
    asked: &Asked,
    partials: u8,
    slow_ms: u64,
) -> Result<Response, image::ImageError> {
    // A transparent request is drawn as a cut-out with real alpha, as a plain answer is.
    let picture = if asked.transparent {
        image::DynamicImage::ImageRgba8(draw_cutout(prompt, 0, asked.width, asked.height))
    } else {
        image::DynamicImage::ImageRgb8(draw(prompt, 0, asked.width, asked.height))
    };
    let encoded = |picture: &image::DynamicImage| match picture {
        image::DynamicImage::ImageRgba8(rgba) => encode_rgba(rgba, asked.format),
        other => encode(&other.to_rgb8(), asked.format),
    };
    let size = format!("{}x{}", asked.width, asked.height);
    let common = json!({
        "created_at": time::OffsetDateTime::now_utc().unix_timestamp(),
        "size": size,
        "quality": asked.quality,
        "background": if asked.transparent { "transparent" } else { "opaque" },
        "output_format": asked.format.name(),
    });
    let event = |name: &str, fields: Value| {
        let mut data = common.clone();
        if let (Some(data), Value::Object(fields)) = (data.as_object_mut(), fields) {
            data.insert("type".into(), Value::String(name.to_owned()));
            data.extend(fields);
        }
        Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
    };
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut events = Vec::with_capacity(usize::from(partials) + 1);
    for index in 0..partials {
        let coarse = coarsened(&picture, partials - index);
        events.push(event(
            &format!("{}.partial_image", kind.prefix()),
            json!({"b64_json": b64(&encoded(&coarse)?), "partial_image_index": index}),
        ));
    }
    let text_tokens = prompt.split_whitespace().count();
    events.push(event(
        &format!("{}.completed", kind.prefix()),
        json!({
            "b64_json": b64(&encoded(&picture)?),
            "usage": {
                "input_tokens": text_tokens,
                "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0},
                "output_tokens": 272,
                "total_tokens": text_tokens + 272
            }
        }),
    ));
    let pause = Duration::from_millis(slow_ms);
    let body = futures::stream::unfold(events.into_iter(), move |mut events| async move {
        let next = events.next()?;
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        Some((Ok::<_, std::convert::Infallible>(next), events))
    });
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// `picture` in blocks of `8 << level` pixels, for a partial image: the higher the level, the
/// coarser.
fn coarsened(picture: &image::DynamicImage, level: u8) -> image::DynamicImage {
    let block = 8_u32 << level.min(4);
    let (w, h) = (picture.width(), picture.height());
    picture
        .resize_exact(
            (w / block).max(1),
            (h / block).max(1),
            image::imageops::FilterType::Triangle,
        )
        .resize_exact(w, h, image::imageops::FilterType::Nearest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_asks_for_one_image_and_zero_to_three_partials() {
        assert_eq!(streamed(&json!({}), 3).ok(), Some(None));
        assert_eq!(streamed(&json!({"stream": false}), 3).ok(), Some(None));
        assert_eq!(
            streamed(&json!({"stream": true, "partial_images": 2}), 1).ok(),
            Some(Some(2))
        );
        assert_eq!(streamed(&json!({"stream": true}), 1).ok(), Some(Some(0)));
        for (body, n, param) in [
            (json!({"stream": "yes"}), 1, "stream"),
            (json!({"stream": true}), 2, "n"),
            (
                json!({"stream": true, "partial_images": 4}),
                1,
                "partial_images",
            ),
            (
                json!({"stream": true, "partial_images": -1}),
                1,
                "partial_images",
            ),
        ] {
            let Err(Invalid(found, _, _)) = streamed(&body, n) else {
                panic!("{body} is refused");
            };
            assert_eq!(found, param, "{body}");
        }
    }

    #[test]
    fn earlier_partial_images_are_coarser() {
        let picture = draw("coarse", 0, 256, 256);
        let distance = |other: &image::RgbImage| -> u64 {
            picture
                .as_raw()
                .iter()
                .zip(other.as_raw())
                .map(|(a, b)| u64::from(a.abs_diff(*b)))
                .sum()
        };
        let drawn = image::DynamicImage::ImageRgb8(picture.clone());
        let (first, last) = (coarsened(&drawn, 2), coarsened(&drawn, 1));
        let (first, last) = (first.to_rgb8(), last.to_rgb8());
        assert_eq!(first.dimensions(), (256, 256));
        assert!(distance(&first) > distance(&last));
    }
}
