//! Who is calling: the [`SignedIn`] extractor takes a bearer token or the session cookie,
//! verifies it, and checks with the store that it was not revoked. Any failure is a 401.

use std::{future::Future, pin::Pin, sync::Arc};

use artforge_domain::{Sessions, StoreError, UserId};
use axum::extract::{FromRef, FromRequestParts};
use http::{header, request::Parts};

use crate::{
    ApiError, ErrorCode,
    cookie::SessionCookie,
    token::{Claims, TokenError, TokenKeys},
};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe face of [`Sessions::is_active`], so the extractor needs no type parameter.
pub trait SessionCheck: Send + Sync + 'static {
    fn is_active<'a>(
        &'a self,
        user: UserId,
        version: u64,
        token_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
}

impl<T: Sessions + 'static> SessionCheck for T {
    fn is_active<'a>(
        &'a self,
        user: UserId,
        version: u64,
        token_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(Sessions::is_active(self, user, version, token_id))
    }
}

/// Everything needed to authenticate a request. Put it in the router state.
#[derive(Clone)]
pub struct Authenticator {
    pub keys: Arc<TokenKeys>,
    pub cookie: SessionCookie,
    pub sessions: Arc<dyn SessionCheck>,
}

/// A signed-in caller: a verified, unrevoked token.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: UserId,
    pub claims: Claims,
}

/// Where the request's token is, if anywhere. A malformed `Authorization` header is an error,
/// not an absence.
pub fn token_of(parts: &Parts, cookie: SessionCookie) -> Result<Option<String>, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "the Authorization header must be Bearer <token>",
                )
            })?;
        return Ok(Some(token.to_owned()));
    }
    Ok(cookie.read(&parts.headers))
}

impl Authenticator {
    /// Verifies `token` and checks it is still active.
    pub async fn authenticate(&self, token: &str) -> Result<SignedIn, ApiError> {
        let claims = self.keys.verify(token).map_err(|e| match e {
            TokenError::Expired => ApiError::new(
                ErrorCode::TokenExpired,
                "the session has expired; log in again",
            ),
            TokenError::Invalid => {
                ApiError::new(ErrorCode::Unauthorized, "the session token is not valid")
            }
        })?;
        let user: UserId = claims.sub.parse().map_err(|_| {
            ApiError::new(ErrorCode::Unauthorized, "the session token is not valid")
        })?;
        match self.sessions.is_active(user, claims.ver, &claims.jti).await {
            Ok(true) => {
                tracing::Span::current().record("user_id", tracing::field::display(user));
                Ok(SignedIn { user, claims })
            }
            Ok(false) => Err(ApiError::new(
                ErrorCode::Unauthorized,
                "the session has been revoked; log in again",
            )),
            Err(err) => Err(ApiError::unavailable(err)),
        }
    }
}

impl<S> FromRequestParts<S> for SignedIn
where
    S: Send + Sync,
    Authenticator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Authenticator::from_ref(state);
        let token = token_of(parts, auth.cookie)?
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "sign in to use this route"))?;
        auth.authenticate(&token).await
    }
}

/// A caller who may or may not be signed in; an invalid token counts as none.
#[derive(Debug, Clone)]
pub struct MaybeSignedIn(pub Option<SignedIn>);

impl<S> FromRequestParts<S> for MaybeSignedIn
where
    S: Send + Sync,
    Authenticator: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Authenticator::from_ref(state);
        let Ok(Some(token)) = token_of(parts, auth.cookie) else {
            return Ok(Self(None));
        };
        match auth.authenticate(&token).await {
            Ok(signed_in) => Ok(Self(Some(signed_in))),
            Err(err) if err.code() == ErrorCode::ServiceUnavailable => Err(err),
            Err(_) => Ok(Self(None)),
        }
    }
}
