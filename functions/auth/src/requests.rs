//! What clients send to the auth function: each route's JSON body and query parameters, as
//! the serde shapes `artforge_http`'s `Json` and `Query` extractors parse (unknown fields
//! refused). The handlers check the values into domain types (`Email::parse`, ...).

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

/// `DELETE /me`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccountBody {
    /// The current password.
    pub password: String,
}

#[cfg(test)]
mod tests {
    use artforge_http::query;

    use super::LogoutParams;

    #[test]
    fn a_mistyped_query_parameter_is_a_422_naming_it() {
        let err = query::parse::<LogoutParams>("everywhere=yes").expect_err("not a bool");
        assert_eq!(
            err.fields().first().map(|f| f.field.as_str()),
            Some("everywhere")
        );
    }
}
