//! Finished images and what a user can say about them: tags, visibility, likes. The values of
//! the catalogue that images carry (tier, preset) are closed sets here, so a filter on an
//! unknown value is refused at the edge.

use time::OffsetDateTime;

use crate::{
    Background, FieldError, ImageFormat, ImageId, JobId, Quality, Style, UserId, sets::closed_set,
};

closed_set! {
    /// A model tier as the product names it; the provider model behind it is configuration.
    pub enum Tier: "model" {
        /// Fast: up to five images a request.
        V2 => "v2",
        /// Best: one image a request.
        V3 => "v3",
    }
}

closed_set! {
    /// A size preset: the platform an image is made for, with its exact pixels.
    pub enum Preset: "preset" {
        /// Instagram post, 1080x1080.
        Square => "square",
        /// Instagram portrait, 1080x1350.
        Portrait => "portrait",
        /// Reels, Stories, Shorts, 1080x1920.
        Story => "story",
        /// YouTube thumbnail, 1280x720.
        Landscape => "landscape",
        /// X post, 1600x900.
        XPost => "x_post",
        /// Pinterest pin, 1000x1500.
        PinterestPin => "pinterest_pin",
        /// LinkedIn post, 1200x627.
        LinkedinPost => "linkedin_post",
        /// Any pixels within the tier's custom-size limits, given as `width` and `height`.
        Custom => "custom",
    }
}

closed_set! {
    /// Who may see an image besides its owner.
    pub enum Visibility: "visibility" {
        Private => "private",
        Public => "public",
    }
}

impl Preset {
    /// The platform's standard pixels of a named preset; `None` for [`Preset::Custom`], whose
    /// pixels each request gives. The catalogue names the presets it offers, and may give them
    /// other pixels; a job records the pixels it was asked for.
    pub fn size(self) -> Option<(u32, u32)> {
        match self {
            Self::Square => Some((1080, 1080)),
            Self::Portrait => Some((1080, 1350)),
            Self::Story => Some((1080, 1920)),
            Self::Landscape => Some((1280, 720)),
            Self::XPost => Some((1600, 900)),
            Self::PinterestPin => Some((1000, 1500)),
            Self::LinkedinPost => Some((1200, 627)),
            Self::Custom => None,
        }
    }
}

const TAG_MAX_CHARS: usize = 32;
pub const TAGS_MAX: usize = 10;

/// A tag: trimmed, lower-cased, 1 to 32 letters, digits, `-` or `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let tag = raw.trim().to_lowercase();
        if tag.is_empty() || tag.chars().count() > TAG_MAX_CHARS {
            return Err(FieldError::new(
                "tags",
                format!("each tag has 1 to {TAG_MAX_CHARS} characters"),
            ));
        }
        if !tag
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(FieldError::new(
                "tags",
                "a tag has only letters, digits, - and _",
            ));
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An image's tags: at most ten, distinct, in the order first given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(Vec<Tag>);

impl Tags {
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, FieldError> {
        let mut tags: Vec<Tag> = Vec::new();
        for item in raw {
            let tag = Tag::parse(item.as_ref())?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > TAGS_MAX {
            return Err(FieldError::new("tags", format!("at most {TAGS_MAX} tags")));
        }
        Ok(Self(tags))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }

    pub fn contains(&self, tag: &Tag) -> bool {
        self.0.contains(tag)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

closed_set! {
    /// The three stored files of an image.
    pub enum Variant: "variant" {
        /// What the provider returned, as returned.
        Original => "original",
        /// Cover-resized and centre-cropped to the preset's exact pixels.
        Preset => "preset",
        /// Longest side 384.
        Thumbnail => "thumbnail",
    }
}

/// A finished image's metadata. Its files live under [`Image::object_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub id: ImageId,
    pub owner: UserId,
    pub job: JobId,
    pub prompt: String,
    pub tier: Tier,
    pub style: Style,
    pub preset: Preset,
    pub quality: Quality,
    pub width: u32,
    pub height: u32,
    pub tags: Tags,
    pub visibility: Visibility,
    pub likes: u64,
    pub created_at: OffsetDateTime,
    /// The original's format, as the provider sent it.
    pub original_format: ImageFormat,
    /// The format of the preset variant and the thumbnail.
    pub variant_format: ImageFormat,
    /// The background asked for; a transparent image's files keep real alpha.
    pub background: Background,
    /// The source it was edited from and the image it remixes, if any.
    pub lineage: crate::edit::Lineage,
}

impl Image {
    /// The format of one of the image's files.
    pub fn format(&self, variant: Variant) -> ImageFormat {
        match variant {
            Variant::Original => self.original_format,
            Variant::Preset | Variant::Thumbnail => self.variant_format,
        }
    }

    /// `images/<userId>/<imageId>/{original.<ext>,<preset>.<ext>,thumbnail.<ext>}` (DESIGN §4).
    pub fn object_key(&self, variant: Variant) -> String {
        object_key(
            self.owner,
            self.id,
            self.preset,
            variant,
            self.format(variant),
        )
    }

    /// The MIME type of a variant's file.
    pub fn content_type(&self, variant: Variant) -> &'static str {
        self.format(variant).content_type()
    }

    /// A download's file name: `artforge-<preset>-<id>[-original|-thumbnail].<ext>`.
    pub fn download_name(&self, variant: Variant) -> String {
        let suffix = match variant {
            Variant::Preset => "",
            Variant::Original => "-original",
            Variant::Thumbnail => "-thumbnail",
        };
        format!(
            "artforge-{}-{}{suffix}.{}",
            self.preset,
            self.id.to_string().to_lowercase(),
            self.format(variant).ext()
        )
    }

    pub fn is_visible_to(&self, user: Option<UserId>) -> bool {
        self.visibility == Visibility::Public || user == Some(self.owner)
    }
}

/// The key of one file of an image, before the image exists (see [`Image::object_key`]).
pub fn object_key(
    owner: UserId,
    id: ImageId,
    preset: Preset,
    variant: Variant,
    format: ImageFormat,
) -> String {
    let ext = format.ext();
    let file = match variant {
        Variant::Original => format!("original.{ext}"),
        Variant::Preset => format!("{preset}.{ext}"),
        Variant::Thumbnail => format!("thumbnail.{ext}"),
    };
    format!("images/{owner}/{id}/{file}")
}

/// Which of a user's images a list shows; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFilter {
    pub tier: Option<Tier>,
    pub preset: Option<Preset>,
    pub tag: Option<Tag>,
    /// Words of the prompt or tags (`q`).
    pub search: Option<crate::Search>,
}

impl ImageFilter {
    pub fn matches(&self, image: &Image) -> bool {
        self.tier.is_none_or(|t| t == image.tier)
            && self.preset.is_none_or(|p| p == image.preset)
            && self.tag.as_ref().is_none_or(|t| image.tags.contains(t))
            && self.search.as_ref().is_none_or(|s| s.matches(image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_the_exact_pixels_of_their_platform() {
        let sizes: Vec<_> = Preset::ALL.iter().map(|p| (p.as_str(), p.size())).collect();
        assert_eq!(
            sizes,
            [
                ("square", Some((1080, 1080))),
                ("portrait", Some((1080, 1350))),
                ("story", Some((1080, 1920))),
                ("landscape", Some((1280, 720))),
                ("x_post", Some((1600, 900))),
                ("pinterest_pin", Some((1000, 1500))),
                ("linkedin_post", Some((1200, 627))),
                ("custom", None),
            ]
        );
    }

    #[test]
    fn unknown_catalogue_values_name_the_field_and_the_choices() {
        let err = Tier::parse("v4", "model").expect_err("unknown");
        assert_eq!(err.field, "model");
        assert!(err.message.contains("v2, v3"));
        assert!(
            Preset::parse("Square", "preset").is_err(),
            "spelling is exact"
        );
        assert_eq!("public".parse::<Visibility>(), Ok(Visibility::Public));
    }

    #[test]
    fn tags_are_normalised_deduplicated_and_bounded() {
        let tags = Tags::parse(&[" Sunset ", "sunset", "beach_2026", "été"]).expect("valid");
        let names: Vec<&str> = tags.iter().map(Tag::as_str).collect();
        assert_eq!(names, ["sunset", "beach_2026", "été"]);
        for bad in ["", "two words", "semi;colon", &"x".repeat(33)] {
            assert!(Tags::parse(&[bad]).is_err(), "{bad:?}");
        }
        let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert!(Tags::parse(&eleven).is_err());
        assert!(Tags::parse(&eleven[..10]).is_ok());
    }
}
