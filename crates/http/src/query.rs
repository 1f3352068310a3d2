//! Query strings: parsed into typed structs whose bad values are a 422 naming the parameter,
//! and the shared `limit`/`cursor` paging parameters.

use artforge_domain::{FieldError, PageRequest};
use axum::extract::FromRequestParts;
use http::request::Parts;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{ApiError, cursor::Cursors};

pub const DEFAULT_LIMIT: u16 = 20;
pub const MAX_LIMIT: u16 = 100;

/// A query string parsed as `T` (use `#[serde(deny_unknown_fields)]` to reject strangers).
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse(parts.uri.query().unwrap_or_default()).map(Query)
    }
}

/// Parses a raw query string (without the `?`) as `T`; a bad value is a 422 naming the
/// parameter.
pub fn parse<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let field = if path == "." {
            message.split('`').nth(1).unwrap_or("query").to_owned()
        } else {
            path
        };
        ApiError::validation(vec![FieldError::new(field, message)])
    })
}

/// `?limit=&cursor=` as sent; [`PageParams::page`] validates them.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 100 (default 20).
    #[param(value_type = Option<u16>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page asked for: `limit` 1 to 100 (default 20, else 422) and a cursor sealed for
    /// this owner and list (else 400).
    pub fn page(
        &self,
        cursors: &Cursors,
        owner: &str,
        list: &str,
    ) -> Result<PageRequest, ApiError> {
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<u16>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    FieldError::new(
                        "limit",
                        format!("must be a whole number from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        let after = self
            .cursor
            .as_deref()
            .map(|c| cursors.open(owner, list, c))
            .transpose()?;
        Ok(PageRequest { limit, after })
    }
}

/// A page of a list as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
