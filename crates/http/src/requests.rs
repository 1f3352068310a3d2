//! What clients send: every route's JSON body and query parameters, as the serde shapes the
//! [`crate::Json`] and [`crate::Query`] extractors parse (unknown fields refused). The handlers
//! then check the values into domain types (`Email::parse`, `Catalog::validate`, ...).
//!
//! They live here, beside the response views, rather than in each function's `routes.rs`, so
//! that the fuzz targets (`fuzz/`) parse exactly these types without building the functions'
//! AWS and Stripe SDKs.

/// The auth function's requests.
pub mod auth {
    use serde::Deserialize;

    /// `POST /auth/register`.
    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    #[schema(example = json!({"email": "ada@example.com", "password": "correct horse battery", "name": "Ada"}))]
    pub struct RegisterBody {
        #[schema(max_length = 254)]
        pub email: String,
        #[schema(min_length = 8, max_length = 128)]
        pub password: String,
        #[serde(default)]
        #[schema(min_length = 1, max_length = 80)]
        pub name: Option<String>,
    }

    /// `POST /auth/login`.
    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct LoginBody {
        pub email: String,
        pub password: String,
    }

    /// `POST /auth/logout?everywhere=`.
    #[derive(Debug, Deserialize, utoipa::IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(deny_unknown_fields)]
    pub struct LogoutParams {
        #[serde(default)]
        pub everywhere: bool,
    }

    /// `PATCH /me`.
    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct RenameBody {
        #[schema(min_length = 1, max_length = 80)]
        pub name: String,
    }

    /// `PUT /me/password`.
    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct ChangePasswordBody {
        pub current_password: String,
        #[schema(min_length = 8, max_length = 128)]
        pub new_password: String,
    }
}

/// The generation API's requests.
pub mod generate {
    use artforge_domain::RawGeneration;
    use serde::Deserialize;

    /// The body of `POST /generations`; missing fields are reported by the catalogue's check.
    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[schema(example = json!({"prompt": "a lighthouse at dawn, fog over the sea", "model": "v2",
        "style": "natural", "preset": "square", "quality": "low", "count": 1, "tags": ["sea"]}))]
    pub struct GenerationBody {
        pub prompt: Option<String>,
        pub model: Option<String>,
        pub style: Option<String>,
        pub preset: Option<String>,
        pub quality: Option<String>,
        pub count: Option<u64>,
        pub tags: Option<Vec<String>>,
    }

    impl From<GenerationBody> for RawGeneration {
        fn from(b: GenerationBody) -> Self {
            Self {
                prompt: b.prompt,
                model: b.model,
                style: b.style,
                preset: b.preset,
                quality: b.quality,
                count: b.count,
                tags: b.tags,
            }
        }
    }
}

/// The gallery's requests.
pub mod gallery {
    use artforge_domain::{FieldError, ImageFilter, Preset, Tag, Tags, Tier, Visibility};
    use serde::Deserialize;

    use crate::ApiError;

    /// `GET /images?model=&preset=&tag=&liked=&limit=&cursor=`.
    #[derive(Debug, Deserialize, utoipa::IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(deny_unknown_fields)]
    pub struct ListParams {
        /// Only this tier's images (`v2`, `v3`).
        pub model: Option<String>,
        /// Only this preset's images.
        pub preset: Option<String>,
        /// Only images with this tag.
        pub tag: Option<String>,
        /// `true`: the images the caller likes instead of their own.
        #[param(value_type = Option<bool>)]
        pub liked: Option<String>,
        /// Items per page, 1 to 100 (default 20).
        #[param(value_type = Option<u16>, minimum = 1, maximum = 100)]
        pub limit: Option<String>,
        /// The `nextCursor` of the previous page.
        pub cursor: Option<String>,
    }

    impl ListParams {
        /// The filter asked for and whether to list liked images, every bad value named (422).
        pub fn filter(&self) -> Result<(ImageFilter, bool), ApiError> {
            let mut errors = Vec::new();
            let mut filter = ImageFilter::default();
            match self
                .model
                .as_deref()
                .map(|m| Tier::parse(m, "model"))
                .transpose()
            {
                Ok(tier) => filter.tier = tier,
                Err(e) => errors.push(e),
            }
            match self
                .preset
                .as_deref()
                .map(|p| Preset::parse(p, "preset"))
                .transpose()
            {
                Ok(preset) => filter.preset = preset,
                Err(e) => errors.push(e),
            }
            match self.tag.as_deref().map(Tag::parse).transpose() {
                Ok(tag) => filter.tag = tag,
                Err(e) => errors.push(FieldError::new("tag", e.message)),
            }
            let liked = match self.liked.as_deref() {
                None | Some("false") => false,
                Some("true") => true,
                Some(_) => {
                    errors.push(FieldError::new("liked", "must be true or false"));
                    false
                }
            };
            if errors.is_empty() {
                Ok((filter, liked))
            } else {
                Err(ApiError::validation(errors))
            }
        }
    }

    /// `PATCH /images/{id}`.
    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    #[schema(example = json!({"tags": ["sea", "dawn"], "visibility": "public"}))]
    pub struct UpdateBody {
        pub tags: Option<Vec<String>>,
        pub visibility: Option<String>,
    }

    impl UpdateBody {
        /// The new tags and visibility asked for (`None`: unchanged), every bad value named
        /// (422).
        pub fn changes(&self) -> Result<(Option<Tags>, Option<Visibility>), ApiError> {
            let tags = self.tags.as_deref().map(Tags::parse).transpose();
            let visibility = self
                .visibility
                .as_deref()
                .map(|v| Visibility::parse(v, "visibility"))
                .transpose();
            match (tags, visibility) {
                (Ok(t), Ok(v)) => Ok((t, v)),
                (t, v) => Err(ApiError::validation(
                    [t.err(), v.err()].into_iter().flatten().collect(),
                )),
            }
        }
    }

    /// `GET /images/{id}/download?variant=`.
    #[derive(Debug, Deserialize, utoipa::IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(deny_unknown_fields)]
    pub struct DownloadParams {
        /// `preset` (default), `original` or `thumbnail`.
        pub variant: Option<String>,
    }
}

/// The billing function's requests.
pub mod billing {
    use serde::Deserialize;

    /// `POST /billing/checkout`.
    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    #[schema(example = json!({"pack": "starter"}))]
    pub struct CheckoutBody {
        pub pack: String,
    }
}

#[cfg(test)]
mod tests {
    use super::{auth::LogoutParams, gallery::ListParams};
    use crate::{ErrorCode, query};

    #[test]
    fn every_bad_image_filter_is_named_at_once() {
        let params: ListParams =
            query::parse("model=v4&preset=round&tag=a%20b&liked=maybe").expect("parsed");
        let err = params.filter().expect_err("bad filters");
        let fields: Vec<&str> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["model", "preset", "tag", "liked"]);
    }

    #[test]
    fn unknown_and_mistyped_query_parameters_are_a_422_naming_them() {
        let err = query::parse::<ListParams>("liked=true&colour=red").expect_err("unknown");
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        assert_eq!(
            err.fields().first().map(|f| f.field.as_str()),
            Some("colour")
        );
        let err = query::parse::<LogoutParams>("everywhere=yes").expect_err("not a bool");
        assert_eq!(
            err.fields().first().map(|f| f.field.as_str()),
            Some("everywhere")
        );
    }
}
