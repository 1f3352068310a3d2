//! The studio attributes of a job and an image (DESIGN §10): a job's finished pixels,
//! background and format (`width`, `height`, `background`, `format`), an image's background.
//! Items written before these existed read as what was made then: the preset's pixels, the
//! provider's background, a JPEG.

use artforge_domain::{Background, ImageSpec, Preset, StoreError};

use crate::attrs::{self, Item};

/// Writes `output` on a job item.
pub(crate) fn put_output(item: &mut Item, output: &ImageSpec) {
    item.insert("width".into(), attrs::n(output.width));
    item.insert("height".into(), attrs::n(output.height));
    item.insert("background".into(), attrs::s(output.background.as_str()));
    item.insert("format".into(), attrs::s(output.format.as_str()));
}

/// A job item's output; an older item's is its preset's.
pub(crate) fn output_of(item: &Item, preset: Preset) -> Result<ImageSpec, StoreError> {
    let fallback = ImageSpec::of_preset(preset);
    let size = match (
        attrs::get_opt_n(item, "width")?,
        attrs::get_opt_n(item, "height")?,
    ) {
        (Some(width), Some(height)) => (width, height),
        _ => fallback
            .map(|o| (o.width, o.height))
            .ok_or_else(|| StoreError::Corrupt("job item: a custom size without pixels".into()))?,
    };
    Ok(ImageSpec {
        width: size.0,
        height: size.1,
        background: background_of(item)?,
        format: match attrs::get_opt_s(item, "format")? {
            None => artforge_domain::ImageFormat::Jpeg,
            Some(_) => attrs::get_set(item, "format")?,
        },
    })
}

/// An item's background; `auto` on items written before it was chosen.
pub(crate) fn background_of(item: &Item) -> Result<Background, StoreError> {
    match attrs::get_opt_s(item, "background")? {
        None => Ok(Background::Auto),
        Some(_) => attrs::get_set(item, "background"),
    }
}
