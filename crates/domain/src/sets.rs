//! Closed sets: the values a field can take, each an enum with one spelling. The spelling is
//! the API's, the store's and the configuration's alike; serde reads and writes it, `parse`
//! names the field when a value is not in the set, and with the `openapi` feature each set is
//! an OpenAPI enum schema of the same spellings.

/// Declares a closed set: the enum, its spellings, `ALL`, `as_str`, `parse(raw, field)`,
/// `Display`, `FromStr` (naming `$field`), and serde (and OpenAPI) under the same spellings.
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        pub enum $ty:ident : $field:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
        )]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        // Every spelling is its variant's name in snake case (a test holds them equal): an
        // attribute written here, not passed in, is one the OpenAPI derive can read.
        #[serde(rename_all = "snake_case")]
        pub enum $ty {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }

            /// Parses the one spelling; `field` names the input in the error.
            pub fn parse(raw: &str, field: &str) -> Result<Self, $crate::FieldError> {
                match raw {
                    $($text => Ok($ty::$variant),)+
                    _ => Err($crate::FieldError::new(
                        field,
                        format!("must be one of {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::FieldError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s, $field)
            }
        }
    };
}

pub(crate) use closed_set;

closed_set! {
    /// An image file's encoding: the provider's answer, the stored original, the sized
    /// variant and the thumbnail. One spelling everywhere, which is also the file extension.
    pub enum ImageFormat: "format" {
        Png => "png",
        Jpeg => "jpeg",
        Webp => "webp",
    }
}

impl ImageFormat {
    /// The file extension, as in S3 keys (`preset.jpeg`).
    pub const fn ext(self) -> &'static str {
        self.as_str()
    }

    /// The `Content-Type` of a file in this format.
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }

    /// Whether the format keeps an alpha channel.
    pub const fn has_alpha(self) -> bool {
        !matches!(self, Self::Jpeg)
    }
}

closed_set! {
    /// What the provider is asked to do with an image's background.
    pub enum Background: "background" {
        /// The provider chooses.
        Auto => "auto",
        Opaque => "opaque",
        /// Real alpha: needs a format that keeps it (PNG or WebP).
        Transparent => "transparent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde reads and writes exactly `as_str`'s spelling of every value of `T`.
    fn one_spelling<T>(all: &[T], as_str: fn(T) -> &'static str)
    where
        T: Copy + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
    {
        for value in all {
            let json = serde_json::to_string(value).expect("serialises");
            assert_eq!(json, format!("\"{}\"", as_str(*value)), "{value:?}");
            assert_eq!(serde_json::from_str::<T>(&json).ok(), Some(*value));
        }
    }

    #[test]
    fn serde_writes_and_reads_the_one_spelling_of_every_closed_set() {
        use crate::{
            JobErrorCode, JobStatus, Preset, PurchaseStatus, Quality, Style, Tier, Variant,
            Visibility,
        };
        one_spelling(ImageFormat::ALL, ImageFormat::as_str);
        one_spelling(Background::ALL, Background::as_str);
        one_spelling(Tier::ALL, Tier::as_str);
        one_spelling(Preset::ALL, Preset::as_str);
        one_spelling(Visibility::ALL, Visibility::as_str);
        one_spelling(Variant::ALL, Variant::as_str);
        one_spelling(Style::ALL, Style::as_str);
        one_spelling(Quality::ALL, Quality::as_str);
        one_spelling(JobStatus::ALL, JobStatus::as_str);
        one_spelling(JobErrorCode::ALL, JobErrorCode::as_str);
        one_spelling(PurchaseStatus::ALL, PurchaseStatus::as_str);
        assert!(serde_json::from_str::<ImageFormat>("\"jpg\"").is_err());
        assert!(serde_json::from_str::<Background>("\"Transparent\"").is_err());
    }

    #[test]
    fn a_value_outside_the_set_names_the_field_and_the_choices() {
        let err = "gif".parse::<ImageFormat>().expect_err("not in the set");
        assert_eq!(err.field, "format");
        assert_eq!(err.message, "must be one of png, jpeg, webp");
        assert_eq!(
            Background::parse("transparent", "background"),
            Ok(Background::Transparent)
        );
    }

    #[test]
    fn only_jpeg_drops_alpha() {
        let with_alpha: Vec<_> = ImageFormat::ALL.iter().filter(|f| f.has_alpha()).collect();
        assert_eq!(with_alpha, [&ImageFormat::Png, &ImageFormat::Webp]);
        assert_eq!(ImageFormat::Jpeg.content_type(), "image/jpeg");
    }
}
