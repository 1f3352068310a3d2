//! Share pages for crawlers (issue 19): `GET /i/{id}` of a public image is an HTML page with
//! Open Graph and Twitter card tags, so a link pasted into a chat or a social network shows the
//! picture; `GET /i/{id}/image` is the stable image URL those tags name, a redirect to a fresh
//! presigned URL (a presigned URL itself would expire in minutes, long before a network
//! fetches the preview again). A private or unknown image is a 404 on both (an HTML page on
//! the first). Everything from the prompt is escaped.
//!
//! In AWS the API is under `/api` on the site's origin (ADR 0029): the page is
//! `<PUBLIC_BASE_URL>/api/i/<id>`, and links to the web client's own page `/i/<id>`.

use artforge_domain::{Image, ImageFiles, ImageId, Images, Variant};
use artforge_http::{ApiError, ErrorCode};
use axum::{
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use http::{StatusCode, header};
use tracing::instrument;

use crate::App;

/// How long a crawler or a browser may keep a page or a redirect: well inside a presigned
/// URL's lifetime (`PRESIGN_TTL_SECONDS`, 300 by default).
const CACHE: &str = "public, max-age=60";
/// Characters of the prompt in a title; the whole prompt is in the description.
const TITLE_CHARS: usize = 70;

/// Text made safe inside HTML text and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn title(prompt: &str) -> String {
    let prompt = prompt.trim();
    if prompt.chars().count() <= TITLE_CHARS {
        return prompt.to_owned();
    }
    let cut: String = prompt.chars().take(TITLE_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Where a share page, its image and the web client's page of `id` are, under `base`.
pub struct ShareUrls {
    pub page: String,
    pub image: String,
    pub app: String,
}

impl ShareUrls {
    pub fn of(base: &str, id: ImageId) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            page: format!("{base}/api/i/{id}"),
            image: format!("{base}/api/i/{id}/image"),
            app: format!("{base}/i/{id}"),
        }
    }
}

/// The page of a public image.
pub fn page(base: &str, image: &Image) -> String {
    let urls = ShareUrls::of(base, image.id);
    let (title, prompt) = (escape(&title(&image.prompt)), escape(&image.prompt));
    let (page, img, app) = (escape(&urls.page), escape(&urls.image), escape(&urls.app));
    let kind = image.content_type(Variant::Preset);
    let (w, h) = (image.width, image.height);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Artforge</title>
<meta name="description" content="{prompt}">
<link rel="canonical" href="{page}">
<meta property="og:type" content="website">
<meta property="og:site_name" content="Artforge">
<meta property="og:title" content="{title}">
<meta property="og:description" content="{prompt}">
<meta property="og:url" content="{page}">
<meta property="og:image" content="{img}">
<meta property="og:image:type" content="{kind}">
<meta property="og:image:width" content="{w}">
<meta property="og:image:height" content="{h}">
<meta property="og:image:alt" content="{prompt}">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:title" content="{title}">
<meta name="twitter:description" content="{prompt}">
<meta name="twitter:image" content="{img}">
<meta name="twitter:image:alt" content="{prompt}">
<style>body{{font-family:system-ui,sans-serif;margin:0;padding:1rem;text-align:center;background:#111;color:#eee}}img{{max-width:100%;height:auto}}a{{color:#9cf}}</style>
</head>
<body>
<main>
<h1>{title}</h1>
<img src="{img}" alt="{prompt}" width="{w}" height="{h}">
<p><a href="{app}">Open in Artforge</a></p>
</main>
</body>
</html>
"#
    )
}

/// The page answered for a private or unknown image.
const NOT_FOUND_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Not found · Artforge</title></head>
<body><main><h1>This image is private or does not exist.</h1></main></body>
</html>
"#;

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; img-src https: http:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

async fn public(app: &App, id: &str) -> Result<Option<Image>, ApiError> {
    let Ok(id) = id.parse::<ImageId>() else {
        return Ok(None);
    };
    Ok(app.gallery.store.public_image(id).await?)
}

/// `GET /i/{id}`: the share page of a public image (no session).
#[utoipa::path(get, path = "/i/{id}", tag = "gallery", operation_id = "sharePage", security(()),
    params(("id" = String, Path, description = "The image's id.")),
    responses(
        (status = 200, description = "An HTML page with Open Graph and Twitter card tags.", content_type = "text/html"),
        (status = 404, description = "The image is private or unknown (an HTML page).", content_type = "text/html"),
    ))]
#[instrument(skip_all)]
pub async fn share_page(State(app): State<App>, Path(id): Path<String>) -> Response {
    match public(&app, &id).await {
        Ok(Some(image)) => html(StatusCode::OK, page(&app.public_base_url, &image)),
        Ok(None) => html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE.to_owned()),
        Err(e) => e.into_response(),
    }
}

/// `GET /i/{id}/image`: a redirect to a fresh presigned URL of a public image's sized file.
#[utoipa::path(get, path = "/i/{id}/image", tag = "gallery", operation_id = "shareImage", security(()),
    params(("id" = String, Path, description = "The image's id.")),
    responses(
        (status = 302, description = "To a fresh presigned URL of the image.",
            headers(("Location" = String, description = "The presigned URL."))),
        (status = 404, description = "not_found: the image is private or unknown.", body = artforge_http::problem::ProblemBody, content_type = "application/problem+json"),
    ))]
#[instrument(skip_all)]
pub async fn share_image(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let image = public(&app, &id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such image"))?;
    let url = app
        .gallery
        .files
        .url(&image.object_key(Variant::Preset), None)
        .await?;
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, url),
            (header::CACHE_CONTROL, CACHE.to_owned()),
        ],
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use artforge_domain::{Preset, UserId};
    use artforge_fakes::contract::image;

    use super::*;

    #[test]
    fn everything_from_the_prompt_is_escaped() {
        let mut evil = image(UserId::new(), Preset::Square, &[]);
        evil.prompt = r#""><script>alert('x')</script> & <img src=x onerror=1>"#.into();
        let html = page("https://artforge.example", &evil);
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(!html.contains(r#""><"#), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp;"));
    }

    #[test]
    fn the_card_names_a_stable_image_url_on_the_api_and_the_apps_page() {
        let shared = image(UserId::new(), Preset::Landscape, &[]);
        let html = page("https://artforge.example/", &shared);
        let img = format!("https://artforge.example/api/i/{}/image", shared.id);
        for tag in [
            format!(r#"<meta property="og:image" content="{img}">"#),
            format!(r#"<meta name="twitter:image" content="{img}">"#),
            r#"<meta name="twitter:card" content="summary_large_image">"#.to_owned(),
            r#"<meta property="og:image:width" content="1280">"#.to_owned(),
            format!(
                r#"<meta property="og:url" content="https://artforge.example/api/i/{}">"#,
                shared.id
            ),
            format!(r#"<a href="https://artforge.example/i/{}">"#, shared.id),
        ] {
            assert!(html.contains(&tag), "{tag} in {html}");
        }
    }

    #[test]
    fn a_long_prompt_is_cut_in_the_title_only() {
        let long = "a ".repeat(100);
        let t = title(&long);
        assert!(t.chars().count() <= TITLE_CHARS, "{t:?}");
        assert!(t.ends_with('…'));
        assert_eq!(title(" short "), "short");
    }
}
