//! The auth handlers. Each names the ports it uses; bodies are parsed into domain types at the
//! edge, and every failure is an `ApiError`.

use artforge_domain::{
    Accounts, DisplayName, Email, Ledger, LoginThrottle, Password, PasswordHash, Sessions, User,
    ports::NewAccount,
};
use artforge_http::{
    ApiError, ErrorCode, Json, Query, SignedIn,
    auth::MaybeSignedIn,
    problem::ProblemBody,
    query::PageParams,
    requests::auth::{ChangePasswordBody, LoginBody, LogoutParams, RegisterBody, RenameBody},
};
use axum::{
    extract::State,
    response::{IntoResponse, Response},
};
use http::{StatusCode, header};
use time::OffsetDateTime;
use tracing::{info, instrument};

use crate::{
    AuthState,
    views::{CreditsView, SessionView, UserView},
};

/// The list name cursors of the ledger are sealed for.
const LEDGER_LIST: &str = "ledger";

#[derive(Debug, thiserror::Error)]
#[error("a blocking task failed")]
struct JoinFailure(#[from] tokio::task::JoinError);

/// Runs password hashing off the async workers: it takes tens of milliseconds of CPU.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(JoinFailure(e)))
}

/// All the field errors at once, so a form can show every problem in one round trip.
fn fields<const N: usize>(errors: [Option<artforge_domain::FieldError>; N]) -> ApiError {
    ApiError::validation(errors.into_iter().flatten().collect())
}

/// A session for `user`: the token in the body and in the cookie.
fn session<S>(state: &AuthState<S>, user: &User, status: StatusCode) -> Result<Response, ApiError> {
    let issued = state
        .tokens
        .issue(user.id, user.token_version, OffsetDateTime::now_utc())
        .map_err(ApiError::internal)?;
    let cookie = state.cookie.set(&issued.token, state.tokens.ttl());
    let body = SessionView::new(user, issued.token, issued.expires_at);
    Ok((status, [(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

#[utoipa::path(post, path = "/auth/register", tag = "auth", operation_id = "register",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "The account, with the signup credits, and a session (also set as the cookie).", body = SessionView,
            links(("GetMe" = (operation_id = "getMe")))),
        (status = 409, description = "email_taken: an account already uses this email.", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
pub async fn register<S>(
    State(state): State<AuthState<S>>,
    Json(body): Json<RegisterBody>,
) -> Result<Response, ApiError>
where
    S: Accounts + Clone,
{
    let email = Email::parse(&body.email);
    let password = Password::parse(body.password, "password");
    let name = body.name.as_deref().map(DisplayName::parse).transpose();
    let (email, password, name) = match (email, password, name) {
        (Ok(e), Ok(p), Ok(n)) => (e, p, n),
        (e, p, n) => return Err(fields([e.err(), p.err(), n.err()])),
    };
    let hasher = state.hasher.clone();
    let hash = blocking(move || hasher.hash(&password))
        .await?
        .map_err(ApiError::internal)?;
    let user = state
        .store
        .create(NewAccount {
            id: artforge_domain::UserId::new(),
            email,
            name,
            password_hash: hash,
            signup_credits: state.signup_credits,
            created_at: OffsetDateTime::now_utc(),
        })
        .await?;
    info!(user_id = %user.id, "account opened");
    session(&state, &user, StatusCode::CREATED)
}

fn wrong_credentials() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidCredentials,
        "the email or the password is wrong",
    )
}

fn too_many_attempts(wait: time::Duration) -> ApiError {
    let seconds = u64::try_from(wait.whole_seconds()).unwrap_or(0) + 1;
    ApiError::new(
        ErrorCode::TooManyAttempts,
        format!("too many failed attempts for this account; try again in {seconds} seconds"),
    )
    .retry_after(seconds)
}

/// Checks `password` against `stored` (or against nothing, at the same cost, when the account
/// does not exist), counting failures and refusing while the account is throttled.
async fn check_password<S>(
    state: &AuthState<S>,
    email: &Email,
    password: Password,
    stored: Option<PasswordHash>,
) -> Result<(), ApiError>
where
    S: LoginThrottle,
{
    let window = state.store.failures(email).await?;
    if let Some(wait) = state
        .throttle
        .retry_after(window, OffsetDateTime::now_utc())
    {
        return Err(too_many_attempts(wait));
    }
    let hasher = state.hasher.clone();
    let matches = blocking(move || match stored {
        Some(hash) => hasher.verify(&password, &hash),
        None => Ok(hasher.verify_nobody(&password)),
    })
    .await?
    .map_err(ApiError::internal)?;
    if matches {
        if window.is_some() {
            state.store.clear(email).await?;
        }
        return Ok(());
    }
    state
        .store
        .record_failure(email, OffsetDateTime::now_utc(), state.throttle.window)
        .await?;
    Err(wrong_credentials())
}

#[utoipa::path(post, path = "/auth/login", tag = "auth", operation_id = "login",
    request_body = LoginBody,
    responses(
        (status = 200, description = "A session (also set as the cookie).", body = SessionView),
        (status = 401, description = "invalid_credentials: the email or the password is wrong.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts: too many failed logins for this email (`Retry-After`).", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
pub async fn login<S>(
    State(state): State<AuthState<S>>,
    Json(body): Json<LoginBody>,
) -> Result<Response, ApiError>
where
    S: Accounts + LoginThrottle + Clone,
{
    let email = Email::parse(&body.email);
    let password = Password::candidate(body.password, "password");
    let (email, password) = match (email, password) {
        (Ok(e), Ok(p)) => (e, p),
        (e, p) => return Err(fields([e.err(), p.err()])),
    };
    let account = state.store.credentials(&email).await?;
    let (user, hash) = match account {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    check_password(&state, &email, password, hash).await?;
    let user = user.ok_or_else(wrong_credentials)?;
    info!(user_id = %user.id, "signed in");
    session(&state, &user, StatusCode::OK)
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
pub async fn logout<S>(
    State(state): State<AuthState<S>>,
    MaybeSignedIn(caller): MaybeSignedIn,
    Query(params): Query<LogoutParams>,
) -> Result<Response, ApiError>
where
    S: Accounts + Sessions + Clone,
{
    match (caller, params.everywhere) {
        (Some(caller), true) => {
            state.store.revoke_all_tokens(caller.user).await?;
            info!(user_id = %caller.user, "signed out everywhere");
        }
        (Some(caller), false) => {
            let expires = OffsetDateTime::from_unix_timestamp(caller.claims.exp)
                .unwrap_or_else(|_| OffsetDateTime::now_utc());
            state
                .store
                .revoke(caller.user, &caller.claims.jti, expires)
                .await?;
            info!(user_id = %caller.user, "signed out");
        }
        (None, true) => {
            return Err(ApiError::new(
                ErrorCode::Unauthorized,
                "sign in to sign out everywhere",
            ));
        }
        (None, false) => {}
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, state.cookie.clear())],
    )
        .into_response())
}

async fn current_user<S: Accounts>(
    state: &AuthState<S>,
    caller: &SignedIn,
) -> Result<User, ApiError> {
    state
        .store
        .get(caller.user)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "the account no longer exists"))
}

#[utoipa::path(get, path = "/me", tag = "auth", operation_id = "getMe", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The signed-in user.", body = UserView)))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn me<S>(
    State(state): State<AuthState<S>>,
    caller: SignedIn,
) -> Result<Json<UserView>, ApiError>
where
    S: Accounts + Clone,
{
    Ok(Json(UserView::from(&current_user(&state, &caller).await?)))
}

#[utoipa::path(patch, path = "/me", tag = "auth", operation_id = "renameMe", security(("bearer" = []), ("cookie" = [])),
    request_body = RenameBody,
    responses((status = 200, description = "The user, renamed.", body = UserView)))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn rename<S>(
    State(state): State<AuthState<S>>,
    caller: SignedIn,
    Json(body): Json<RenameBody>,
) -> Result<Json<UserView>, ApiError>
where
    S: Accounts + Clone,
{
    let name = DisplayName::parse(&body.name)?;
    let user = state.store.rename(caller.user, &name).await?;
    Ok(Json(UserView::from(&user)))
}

/// Replaces the password after checking the current one, revokes every other session, and
/// answers a new session for this one.
#[utoipa::path(put, path = "/me/password", tag = "auth", operation_id = "changePassword", security(("bearer" = []), ("cookie" = [])),
    request_body = ChangePasswordBody,
    responses(
        (status = 200, description = "Changed; every other session is revoked and this one renewed.", body = SessionView),
        (status = 401, description = "invalid_credentials: the current password is wrong; unauthorized, token_expired: no valid session.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts: too many wrong current passwords (`Retry-After`).", body = ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn change_password<S>(
    State(state): State<AuthState<S>>,
    caller: SignedIn,
    Json(body): Json<ChangePasswordBody>,
) -> Result<Response, ApiError>
where
    S: Accounts + LoginThrottle + Clone,
{
    let current = Password::candidate(body.current_password, "currentPassword");
    let new = Password::parse(body.new_password, "newPassword");
    let (current, new) = match (current, new) {
        (Ok(c), Ok(n)) => (c, n),
        (c, n) => return Err(fields([c.err(), n.err()])),
    };
    let (user, hash) = state
        .store
        .credentials_of(caller.user)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "the account no longer exists"))?;
    check_password(&state, &user.email, current, Some(hash)).await?;
    let hasher = state.hasher.clone();
    let new_hash = blocking(move || hasher.hash(&new))
        .await?
        .map_err(ApiError::internal)?;
    let user = state
        .store
        .change_password(caller.user, &new_hash, caller.claims.ver)
        .await
        .map_err(|e| match e {
            artforge_domain::StoreError::Contention => ApiError::new(
                ErrorCode::Unauthorized,
                "the session was revoked while changing the password",
            ),
            other => other.into(),
        })?;
    info!("password changed; other sessions revoked");
    session(&state, &user, StatusCode::OK)
}

#[utoipa::path(get, path = "/me/credits", tag = "auth", operation_id = "listCredits", security(("bearer" = []), ("cookie" = [])),
    params(PageParams),
    responses((status = 200, description = "The balance and a page of the ledger, newest first.", body = CreditsView)))]
#[instrument(skip_all, fields(user_id = %caller.user))]
pub async fn credits<S>(
    State(state): State<AuthState<S>>,
    caller: SignedIn,
    Query(params): Query<PageParams>,
) -> Result<Json<CreditsView>, ApiError>
where
    S: Accounts + Ledger + Clone,
{
    let owner = caller.user.to_string();
    let page = params.page(&state.cursors, &owner, LEDGER_LIST)?;
    let user = current_user(&state, &caller).await?;
    let entries = state.store.history(caller.user, page).await?;
    Ok(Json(CreditsView {
        balance: user.credits.get(),
        next_cursor: entries
            .next
            .map(|p| state.cursors.seal(&owner, LEDGER_LIST, &p)),
        items: entries.items.into_iter().map(Into::into).collect(),
    }))
}
