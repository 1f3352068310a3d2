//! `POST /v1/images/edits`: OpenAI's multipart form (`image` or up to 16 `image[]` files, an
//! optional `mask`, and the text fields of a generation). The files are checked as OpenAI
//! checks them, then the request is answered as a generation of the same text fields is, with
//! every directive of the prompt honoured (see the module above): 400 `invalid_request_error`
//! for no image, more than 16, a file that is not a PNG, JPEG or WebP image, or a mask that is
//! not a PNG with an alpha channel of the first image's pixel size. A missing `size` (or
//! `auto`) is the first image's size, rounded down to multiples of 16. `stream: true` streams
//! as a generation does, with `image_edit.partial_image` and `image_edit.completed` events
//! (module `stream`). What each edit received
//! is kept for tests ([`super::OpenAiStandIn::edits`]).

use axum::{
    body::Bytes,
    extract::{Multipart, State, multipart::MultipartRejection},
    http::HeaderMap,
    response::Response,
};
use serde_json::{Map, Value};

use super::{OpenAiStandIn, errors::invalid, lock, stream::Kind};

/// The most images one edit takes.
const MAX_IMAGES: usize = 16;

/// What one edit request carried, for tests to assert on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditSeen {
    pub prompt: String,
    /// Each image's pixel size, in order (the first is the one edited).
    pub images: Vec<(u32, u32)>,
    /// The mask's pixel size, when one was sent.
    pub mask: Option<(u32, u32)>,
}

/// The pixel size of an image file, and whether it has an alpha channel; `None` when it is not
/// a PNG, JPEG or WebP image.
fn picture(bytes: &[u8]) -> Option<(image::ImageFormat, u32, u32, bool)> {
    let format = image::guess_format(bytes).ok()?;
    if !matches!(
        format,
        image::ImageFormat::Png | image::ImageFormat::Jpeg | image::ImageFormat::WebP
    ) {
        return None;
    }
    let decoded = image::load_from_memory_with_format(bytes, format).ok()?;
    Some((
        format,
        decoded.width(),
        decoded.height(),
        decoded.color().has_alpha(),
    ))
}

pub(super) async fn edits(
    State(stand_in): State<OpenAiStandIn>,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let Ok(mut form) = form else {
        return invalid(
            None,
            None,
            "The images edits endpoint expects a multipart/form-data body.",
        );
    };
    let mut fields = Map::new();
    let mut images: Vec<(u32, u32)> = Vec::new();
    let mut mask = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return invalid(None, None, &format!("The multipart body is malformed: {e}")),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let Ok(bytes) = field.bytes().await else {
            return invalid(Some(&name), None, "The multipart body could not be read.");
        };
        match name.as_str() {
            "image" | "image[]" => {
                let Some((_, width, height, _)) = picture(&bytes) else {
                    return invalid(
                        Some("image"),
                        Some("invalid_image_format"),
                        "Invalid image file or mode for image, please check your image file.",
                    );
                };
                images.push((width, height));
            }
            "mask" => {
                let Some((image::ImageFormat::Png, width, height, true)) = picture(&bytes) else {
                    return invalid(
                        Some("mask"),
                        Some("invalid_image_format"),
                        "Invalid mask image format - mask must be a PNG with an alpha channel.",
                    );
                };
                mask = Some((width, height));
            }
            _ => {
                let value = text_value(&name, &bytes);
                fields.insert(name, value);
            }
        }
    }
    if images.is_empty() {
        return invalid(
            Some("image"),
            Some("missing_required_parameter"),
            "Missing required parameter: 'image'.",
        );
    }
    if images.len() > MAX_IMAGES {
        return invalid(
            Some("image"),
            None,
            &format!("You may provide up to {MAX_IMAGES} images."),
        );
    }
    if let (Some(mask), Some(first)) = (mask, images.first())
        && mask != *first
    {
        return invalid(
            Some("mask"),
            Some("invalid_image_dimensions"),
            "Invalid mask image format - mask size does not match image size.",
        );
    }
    let auto_size = matches!(
        fields.get("size").and_then(Value::as_str),
        None | Some("auto")
    );
    if auto_size && let Some((width, height)) = images.first() {
        let round = |side: u32| (side / 16 * 16).clamp(256, 3840);
        fields.insert(
            "size".into(),
            Value::String(format!("{}x{}", round(*width), round(*height))),
        );
    }
    if let Some(prompt) = fields.get("prompt").and_then(Value::as_str) {
        lock(&stand_in.state.edits).push(EditSeen {
            prompt: prompt.to_owned(),
            images,
            mask,
        });
    }
    let body = Bytes::from(Value::Object(fields).to_string());
    super::images(&stand_in, &headers, &body, Kind::Edit).await
}

/// A form field as the JSON a generation takes: the numeric and boolean fields as such.
fn text_value(name: &str, bytes: &[u8]) -> Value {
    let text = String::from_utf8_lossy(bytes).into_owned();
    match name {
        "n" | "partial_images" | "output_compression" => text
            .parse::<u64>()
            .map_or_else(|_| Value::String(text.clone()), Value::from),
        "stream" => match text.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text),
        },
        _ => Value::String(text),
    }
}
