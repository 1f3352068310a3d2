//! The auth handlers. Each names the ports it uses; bodies are parsed into domain types at the
//! edge, and every failure is an `ApiError`.

use artforge_domain::{DisplayName, Email, Ledger, Password, User};
use artforge_http::{
    ApiError, ErrorCode, Json, Query, SignedIn,
    auth::MaybeSignedIn,
    client::{ClientIp, rate_limited},
    problem::ProblemBody,
    query::PageParams,
};
use axum::{
    extract::State,
    response::{IntoResponse, Response},
};
use http::{StatusCode, header};
use time::OffsetDateTime;
use tracing::instrument;

use crate::{
    Auth,
    leaving::Deleted,
    requests::{
        ChangePasswordBody, DeleteAccountBody, LoginBody, LogoutParams, RegisterBody, RenameBody,
    },
    usecases::{Limited, Logout, Refusal},
    views::{CreditsView, ExportView, SessionView, UserView},
};

/// The list name cursors of the ledger are sealed for.
const LEDGER_LIST: &str = "ledger";

/// All the field errors at once, so a form can show every problem in one round trip.
fn fields<const N: usize>(errors: [Option<artforge_domain::FieldError>; N]) -> ApiError {
    ApiError::validation(errors.into_iter().flatten().collect())
}

/// A refused or failed account action as the API answers it.
fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::WrongCredentials => ApiError::new(
            ErrorCode::InvalidCredentials,
            "the email or the password is wrong",
        ),
        Refusal::Throttled { retry_after } => {
            let seconds = u64::try_from(retry_after.whole_seconds()).unwrap_or(0) + 1;
            ApiError::new(
                ErrorCode::TooManyAttempts,
                format!("too many failed attempts; try again in {seconds} seconds"),
            )
            .retry_after(seconds)
        }
        Refusal::RateLimited { what, retry_after } => rate_limited(
            retry_after,
            match what {
                Limited::Signups => "sign-ups from this address",
                Limited::Logins => "logins from this address",
            },
        ),
        Refusal::NoAccount => {
            ApiError::new(ErrorCode::Unauthorized, "the account no longer exists")
        }
        Refusal::Revoked => ApiError::new(
            ErrorCode::Unauthorized,
            "the session was revoked while changing the password",
        ),
        e @ (Refusal::Hashing(_) | Refusal::Task(_) | Refusal::Queue(_)) => ApiError::internal(e),
        Refusal::Store(e) => e.into(),
    }
}

/// A session for `user`: the token in the body and in the cookie.
fn session(app: &Auth, user: &User, status: StatusCode) -> Result<Response, ApiError> {
    let issued = app
        .tokens
        .issue(user.id, user.token_version, OffsetDateTime::now_utc())
        .map_err(ApiError::internal)?;
    let cookie = app.cookie.set(&issued.token, app.tokens.ttl());
    let body = SessionView::new(user, issued.token, issued.expires_at);
    Ok((status, [(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

#[utoipa::path(post, path = "/auth/register", tag = "auth", operation_id = "register",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "The account, with the signup credits, and a session (also set as the cookie).", body = SessionView,
            links(("GetMe" = (operation_id = "getMe")))),
        (status = 409, description = "email_taken: an account already uses this email.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "rate_limited: too many sign-ups from this client address (`Retry-After`).", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
pub async fn register(
    State(app): State<Auth>,
    ClientIp(from): ClientIp,
    Json(body): Json<RegisterBody>,
) -> Result<Response, ApiError> {
    let email = Email::parse(&body.email);
    let password = Password::parse(body.password, "password");
    let name = body.name.as_deref().map(DisplayName::parse).transpose();
    let (email, password, name) = match (email, password, name) {
        (Ok(e), Ok(p), Ok(n)) => (e, p, n),
        (e, p, n) => return Err(fields([e.err(), p.err(), n.err()])),
    };
    let user = app
        .identity
        .register(email, password, name, from, OffsetDateTime::now_utc())
        .await
        .map_err(refused)?;
    session(&app, &user, StatusCode::CREATED)
}

#[utoipa::path(post, path = "/auth/login", tag = "auth", operation_id = "login",
    request_body = LoginBody,
    responses(
        (status = 200, description = "A session (also set as the cookie).", body = SessionView),
        (status = 401, description = "invalid_credentials: the email or the password is wrong.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts: too many failed logins for this email from this client address (`Retry-After`); rate_limited: too many logins from this client address (`Retry-After`).", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
pub async fn login(
    State(app): State<Auth>,
    ClientIp(from): ClientIp,
    Json(body): Json<LoginBody>,
) -> Result<Response, ApiError> {
    let email = Email::parse(&body.email);
    let password = Password::candidate(body.password, "password");
    let (email, password) = match (email, password) {
        (Ok(e), Ok(p)) => (e, p),
        (e, p) => return Err(fields([e.err(), p.err()])),
    };
    let user = app
        .identity
        .log_in(&email, password, from, OffsetDateTime::now_utc())
        .await
        .map_err(refused)?;
    session(&app, &user, StatusCode::OK)
}

/// Clears the cookie and revokes this token; `?everywhere=true` revokes every token of the user.
/// Without a valid session there is nothing to revoke, and the cookie is cleared all the same.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", operation_id = "logout",
    params(LogoutParams), security((), ("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Signed out; the cookie is cleared."),
        (status = 401, description = "unauthorized: `everywhere=true` without a session.", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
pub async fn logout(
    State(app): State<Auth>,
    MaybeSignedIn(caller): MaybeSignedIn,
    Query(params): Query<LogoutParams>,
) -> Result<Response, ApiError> {
    match (caller, params.everywhere) {
        (Some(caller), true) => app.identity.log_out(caller.user, Logout::Everywhere).await,
        (Some(caller), false) => {
            let expires_at = OffsetDateTime::from_unix_timestamp(caller.claims.exp)
                .unwrap_or_else(|_| OffsetDateTime::now_utc());
            let this = Logout::This {
                token_id: caller.claims.jti.clone(),
                expires_at,
            };
            app.identity.log_out(caller.user, this).await
        }
        (None, true) => {
            return Err(ApiError::new(
                ErrorCode::Unauthorized,
                "sign in to sign out everywhere",
            ));
        }
        (None, false) => Ok(()),
    }
    .map_err(refused)?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, app.cookie.clear())],
    )
        .into_response())
}

#[utoipa::path(get, path = "/me", tag = "auth", operation_id = "getMe", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The signed-in user.", body = UserView)))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn me(State(app): State<Auth>, caller: SignedIn) -> Result<Json<UserView>, ApiError> {
    let user = app.identity.me(caller.user).await.map_err(refused)?;
    Ok(Json(UserView::from(&user)))
}

#[utoipa::path(patch, path = "/me", tag = "auth", operation_id = "renameMe", security(("bearer" = []), ("cookie" = [])),
    request_body = RenameBody,
    responses((status = 200, description = "The user, renamed.", body = UserView)))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn rename(
    State(app): State<Auth>,
    caller: SignedIn,
    Json(body): Json<RenameBody>,
) -> Result<Json<UserView>, ApiError> {
    let name = DisplayName::parse(&body.name)?;
    let user = app
        .identity
        .rename(caller.user, &name)
        .await
        .map_err(refused)?;
    Ok(Json(UserView::from(&user)))
}

/// Replaces the password after checking the current one, revokes every other session, and
/// answers a new session for this one.
#[utoipa::path(put, path = "/me/password", tag = "auth", operation_id = "changePassword", security(("bearer" = []), ("cookie" = [])),
    request_body = ChangePasswordBody,
    responses(
        (status = 200, description = "Changed; every other session is revoked and this one renewed.", body = SessionView),
        (status = 401, description = "invalid_credentials: the current password is wrong; unauthorized, token_expired: no valid session.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts: too many checks of the current password by this user (`Retry-After`); logins never count here.", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn change_password(
    State(app): State<Auth>,
    caller: SignedIn,
    Json(body): Json<ChangePasswordBody>,
) -> Result<Response, ApiError> {
    let current = Password::candidate(body.current_password, "currentPassword");
    let new = Password::parse(body.new_password, "newPassword");
    let (current, new) = match (current, new) {
        (Ok(c), Ok(n)) => (c, n),
        (c, n) => return Err(fields([c.err(), n.err()])),
    };
    let user = app
        .identity
        .change_password(
            caller.user,
            caller.claims.ver,
            current,
            new,
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(refused)?;
    session(&app, &user, StatusCode::OK)
}

#[utoipa::path(get, path = "/me/credits", tag = "auth", operation_id = "listCredits", security(("bearer" = []), ("cookie" = [])),
    params(PageParams),
    responses((status = 200, description = "The balance and a page of the ledger, newest first.", body = CreditsView)))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn credits(
    State(app): State<Auth>,
    caller: SignedIn,
    Query(params): Query<PageParams>,
) -> Result<Json<CreditsView>, ApiError> {
    let owner = caller.user.to_string();
    let page = params.page(&app.cursors, &owner, LEDGER_LIST)?;
    let user = app.identity.me(caller.user).await.map_err(refused)?;
    let entries = app.identity.store.history(caller.user, page).await?;
    Ok(Json(CreditsView {
        balance: user.credits.get(),
        next_cursor: entries
            .next
            .map(|p| app.cursors.seal(&owner, LEDGER_LIST, &p)),
        items: entries.items.into_iter().map(Into::into).collect(),
    }))
}

/// Deletes the account after checking the current password (DESIGN §11): every session ends
/// at once, the email is free, and every image, file, like, job, upload and archive is gone
/// before the answer; purchases and the credit ledger are kept, without email or name.
#[utoipa::path(delete, path = "/me", tag = "auth", operation_id = "deleteMe", security(("bearer" = []), ("cookie" = [])),
    request_body = DeleteAccountBody,
    responses(
        (status = 204, description = "Deleted: signed out everywhere (the cookie is cleared), every file and item of the account gone but the kept ledger and purchases."),
        (status = 202, description = "Closed and signed out everywhere; part of its data is still being erased, within minutes."),
        (status = 401, description = "invalid_credentials: the password is wrong; unauthorized, token_expired: no valid session.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts: too many checks of the current password by this user (`Retry-After`).", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn delete_account(
    State(app): State<Auth>,
    caller: SignedIn,
    Json(body): Json<DeleteAccountBody>,
) -> Result<Response, ApiError> {
    let password = Password::candidate(body.password, "password")?;
    let deleted = app
        .leaving
        .delete(caller.user, password, OffsetDateTime::now_utc())
        .await
        .map_err(refused)?;
    let status = match deleted {
        Deleted::Erased => StatusCode::NO_CONTENT,
        Deleted::Closing => StatusCode::ACCEPTED,
    };
    Ok((status, [(header::SET_COOKIE, app.cookie.clear())]).into_response())
}

/// Everything the service holds about the signed-in user, as one JSON document.
#[utoipa::path(get, path = "/me/export", tag = "auth", operation_id = "exportMe", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The account, balance, whole ledger, purchases, images (with presigned URLs), liked image ids and jobs.", body = ExportView)))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn export(State(app): State<Auth>, caller: SignedIn) -> Result<Response, ApiError> {
    let export = app.leaving.export(caller.user).await.map_err(refused)?;
    let view = ExportView::render(&app.files, &app.public_base_url, export).await?;
    let name = format!(
        "attachment; filename=\"artforge-export-{}.json\"",
        caller.user.to_string().to_lowercase()
    );
    Ok((
        [
            (header::CONTENT_DISPOSITION, name),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Json(view),
    )
        .into_response())
}
