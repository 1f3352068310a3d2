//! What clients send to the gallery: each route's JSON body and query parameters, as the serde
//! shapes `artforge_http`'s `Json` and `Query` extractors parse (unknown fields refused), and
//! their checks into domain types, every bad value named.

use artforge_domain::{FieldError, ImageFilter, Preset, Search, Tag, Tags, Tier, Visibility};
use serde::Deserialize;

use artforge_http::{ApiError, query::PageParams};

/// `GET /images?model=&preset=&tag=&liked=&q=&limit=&cursor=`.
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
    /// Words of the prompt or tags, in any case, with or without accents: every word must
    /// match, the last may begin a word. At most 200 characters and 8 words.
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
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
        match self.q.as_deref().map(search).transpose() {
            Ok(q) => filter.search = q,
            Err(e) => errors.push(e),
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

/// `q` as sent, checked; the empty string is refused as having no words.
fn search(raw: &str) -> Result<Search, FieldError> {
    Search::parse(raw, "q")
}

/// `GET /feed?q=&limit=&cursor=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// Words of the prompt or tags, as for `GET /images`.
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(value_type = Option<u16>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl FeedParams {
    /// The search asked for, if any (422 naming `q`).
    pub fn search(&self) -> Result<Option<Search>, ApiError> {
        self.q
            .as_deref()
            .map(search)
            .transpose()
            .map_err(|e| ApiError::validation(vec![e]))
    }

    pub fn paging(&self) -> PageParams {
        PageParams {
            limit: self.limit.clone(),
            cursor: self.cursor.clone(),
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

#[cfg(test)]
mod tests {
    use artforge_http::{ErrorCode, query};

    use super::ListParams;

    #[test]
    fn every_bad_image_filter_is_named_at_once() {
        let params: ListParams =
            query::parse("model=v4&preset=round&tag=a%20b&liked=maybe").expect("parsed");
        let err = params.filter().expect_err("bad filters");
        let fields: Vec<&str> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["model", "preset", "tag", "liked"]);
    }

    #[test]
    fn a_search_without_words_or_over_200_characters_is_a_422_naming_q() {
        for raw in ["q=", "q=%20-%20", &format!("q={}", "a".repeat(201))] {
            let params: ListParams = query::parse(raw).expect("parsed");
            let err = params.filter().expect_err("bad q");
            let fields: Vec<&str> = err.fields().iter().map(|f| f.field.as_str()).collect();
            assert_eq!(fields, ["q"], "{raw}");
        }
        let params: super::FeedParams = query::parse("q=").expect("parsed");
        assert_eq!(
            params.search().expect_err("no words").fields()[0].field,
            "q"
        );
    }

    #[test]
    fn unknown_query_parameters_are_a_422_naming_them() {
        let err = query::parse::<ListParams>("liked=true&colour=red").expect_err("unknown");
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        assert_eq!(
            err.fields().first().map(|f| f.field.as_str()),
            Some("colour")
        );
    }
}
