//! The session cookie: HttpOnly, SameSite=Lax, Path=/, and Secure with the `__Host-` prefix
//! everywhere but plain-http local development.

use cookie::{Cookie, SameSite};
use http::{HeaderMap, HeaderValue, header};
use time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCookie {
    secure: bool,
}

impl SessionCookie {
    pub const SECURE_NAME: &'static str = "__Host-artforge_session";
    pub const PLAIN_NAME: &'static str = "artforge_session";

    pub fn new(secure: bool) -> Self {
        Self { secure }
    }

    pub fn name(self) -> &'static str {
        if self.secure {
            Self::SECURE_NAME
        } else {
            Self::PLAIN_NAME
        }
    }

    fn build(self, value: String, max_age: Duration) -> HeaderValue {
        let cookie = Cookie::build((self.name(), value))
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .path("/")
            .max_age(max_age)
            .build();
        // A JWT and the fixed attributes are always valid header text.
        HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// `Set-Cookie` carrying a session token for `max_age`.
    pub fn set(self, token: &str, max_age: Duration) -> HeaderValue {
        self.build(token.to_owned(), max_age)
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn clear(self) -> HeaderValue {
        self.build(String::new(), Duration::ZERO)
    }

    /// The session token in the request's cookies, if any.
    pub fn read(self, headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == self.name())
            .map(|c| c.value().to_owned())
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secure_session_cookie_has_every_protective_attribute() {
        let value = SessionCookie::new(true).set("tok", Duration::hours(1));
        let text = value.to_str().expect("ascii");
        for part in [
            "__Host-artforge_session=tok",
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=3600",
        ] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
    }

    #[test]
    fn local_plain_http_drops_secure_and_the_host_prefix() {
        let text = SessionCookie::new(false)
            .set("tok", Duration::hours(1))
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            text.starts_with("artforge_session=tok") && !text.contains("Secure"),
            "{text}"
        );
    }

    #[test]
    fn clearing_expires_the_cookie_now() {
        let text = SessionCookie::new(true)
            .clear()
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(text.contains("Max-Age=0"), "{text}");
    }

    #[test]
    fn the_token_is_read_from_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; __Host-artforge_session=abc.def.ghi; x=1"),
        );
        assert_eq!(
            SessionCookie::new(true).read(&headers),
            Some("abc.def.ghi".into())
        );
        assert_eq!(SessionCookie::new(false).read(&headers), None);
    }
}
