//! Checking an images request as OpenAI does (`model`, `n`, `size`, `quality`, `output_format`,
//! `response_format`) into what was asked.

use serde_json::Value;

/// An output format the stand-in draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Png,
    Jpeg,
    Webp,
}

impl Format {
    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "png" => Some(Self::Png),
            "jpeg" => Some(Self::Jpeg),
            "webp" => Some(Self::Webp),
            _ => None,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpeg",
            Self::Webp => "webp",
        }
    }

    pub(super) fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }

    pub(super) fn image_format(self) -> image::ImageFormat {
        match self {
            Self::Png => image::ImageFormat::Png,
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Webp => image::ImageFormat::WebP,
        }
    }
}

/// A checked request.
pub(super) struct Asked {
    pub(super) n: usize,
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) quality: String,
    pub(super) format: Format,
    pub(super) url: bool,
    /// `background: "transparent"`: real alpha.
    pub(super) transparent: bool,
}

const QUALITIES: [&str; 6] = ["low", "medium", "high", "auto", "xhigh", "max"];

/// `WIDTHxHEIGHT` (or `auto`) as the GPT image models take it.
fn parse_size(size: &str) -> Option<(u32, u32)> {
    if size == "auto" {
        return Some((1024, 1024));
    }
    let (w, h) = size.split_once('x')?;
    let (w, h): (u32, u32) = (w.parse().ok()?, h.parse().ok()?);
    let edges_ok = [w, h]
        .iter()
        .all(|e| e % 16 == 0 && (256..=3840).contains(e));
    let aspect_ok = w.max(h) <= 3 * w.min(h);
    (edges_ok && aspect_ok && u64::from(w) * u64::from(h) <= 3840 * 2160).then_some((w, h))
}

/// A 400 about one parameter: `param`, `code`, message.
pub(super) struct Invalid(
    pub(super) &'static str,
    pub(super) &'static str,
    pub(super) String,
);

/// Checks the request the way OpenAI would.
pub(super) fn check(body: &Value) -> Result<Asked, Invalid> {
    let text = |field: &str| body.get(field).and_then(Value::as_str);
    if text("model").is_none_or(str::is_empty) {
        return Err(Invalid(
            "model",
            "missing_required_parameter",
            "Missing required parameter: 'model'.".into(),
        ));
    }
    let n = match body.get("n") {
        None | Some(Value::Null) => 1,
        Some(value) => match value.as_i64() {
            Some(n) if n < 1 => {
                return Err(Invalid(
                    "n",
                    "integer_below_min_value",
                    format!(
                        "Invalid 'n': integer below minimum value. Expected a value >= 1, but got {n} instead."
                    ),
                ));
            }
            Some(n) if n > 10 => {
                return Err(Invalid(
                    "n",
                    "integer_above_max_value",
                    format!(
                        "Invalid 'n': integer above maximum value. Expected a value <= 10, but got {n} instead."
                    ),
                ));
            }
            Some(n) => usize::try_from(n).unwrap_or(1),
            None => {
                return Err(Invalid(
                    "n",
                    "invalid_type",
                    "Invalid type for 'n': expected an integer.".into(),
                ));
            }
        },
    };
    let size = text("size").unwrap_or("auto");
    let Some((width, height)) = parse_size(size) else {
        return Err(Invalid(
            "size",
            "invalid_value",
            format!(
                "Invalid value: '{size}'. Supported values are 'auto' and WIDTHxHEIGHT with both edges multiples of 16 from 256 to 3840, an aspect ratio of at most 3:1 and at most 3840x2160 pixels."
            ),
        ));
    };
    let quality = text("quality").unwrap_or("auto");
    if !QUALITIES.contains(&quality) {
        return Err(Invalid(
            "quality",
            "invalid_value",
            format!(
                "Invalid value: '{quality}'. Supported values are: 'low', 'medium', 'high', 'auto', 'xhigh' and 'max'."
            ),
        ));
    }
    let format_name = text("output_format").unwrap_or("png");
    let Some(format) = Format::parse(format_name) else {
        return Err(Invalid(
            "output_format",
            "invalid_value",
            format!(
                "Invalid value: '{format_name}'. Supported values are: 'png', 'jpeg', and 'webp'."
            ),
        ));
    };
    let transparent = match text("background") {
        None | Some("auto" | "opaque") => false,
        Some("transparent") if format == Format::Jpeg => {
            return Err(Invalid(
                "background",
                "invalid_value",
                "Transparent background requires output_format 'png' or 'webp'.".into(),
            ));
        }
        Some("transparent") => true,
        Some(other) => {
            return Err(Invalid(
                "background",
                "invalid_value",
                format!(
                    "Invalid value: '{other}'. Supported values are: 'transparent', 'opaque', and 'auto'."
                ),
            ));
        }
    };
    let url = match text("response_format") {
        None | Some("b64_json") => false,
        Some("url") => true,
        Some(other) => {
            return Err(Invalid(
                "response_format",
                "invalid_value",
                format!("Invalid value: '{other}'. Supported values are: 'url' and 'b64_json'."),
            ));
        }
    };
    Ok(Asked {
        n,
        width,
        height,
        quality: if quality == "auto" { "medium" } else { quality }.to_owned(),
        format,
        url,
        transparent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_gpt_image_rules() {
        assert_eq!(parse_size("auto"), Some((1024, 1024)));
        assert_eq!(parse_size("1024x1536"), Some((1024, 1536)));
        assert_eq!(parse_size("1536x864"), Some((1536, 864)));
        assert_eq!(parse_size("3840x2160"), Some((3840, 2160)));
        for bad in [
            "1000x1000",
            "256x1024",
            "4096x4096",
            "3840x2176",
            "big",
            "1024x",
            "x1024",
        ] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }
}
