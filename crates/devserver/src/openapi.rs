//! The whole API's OpenAPI 3.1 document: every function's description (written beside its
//! handlers with `#[utoipa::path]`) merged, with the session's security schemes and the
//! problems each operation can answer. The local server serves it at `/openapi.json`, and
//! `openapi.json` at the repository's root is a copy a test holds equal to it.

use artforge_http::cookie::SessionCookie;
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, ServerBuilder, tag::TagBuilder};

/// The document, as deployed (the session cookie as browsers get it over HTTPS).
pub fn document() -> OpenApi {
    let info = InfoBuilder::new()
        .title("Artforge API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Sign up, generate images from prompts at a size preset, keep them in a gallery, \
             share them, and buy credits. Every error is `application/problem+json` with a \
             stable `code`.",
        ))
        .build();
    let mut doc = OpenApiBuilder::new()
        .info(info)
        .servers(Some([ServerBuilder::new().url("/").build()]))
        .build();
    for part in [
        auth::openapi(),
        generate::openapi(),
        gallery::openapi(),
        stripe_webhook::openapi(),
    ] {
        doc.merge(part);
    }
    doc.tags = Some(
        [
            (
                "auth",
                "Accounts, sessions and the credit ledger (functions/auth).",
            ),
            (
                "generate",
                "The model catalogue and generation jobs (functions/generate).",
            ),
            (
                "gallery",
                "Images: list, filter, tag, like, share, download, delete (functions/gallery).",
            ),
            (
                "billing",
                "Credit packs, Stripe Checkout and its webhook (functions/stripe-webhook).",
            ),
        ]
        .map(|(name, description)| {
            TagBuilder::new()
                .name(name)
                .description(Some(description))
                .build()
        })
        .into(),
    );
    artforge_http::openapi::finish(&mut doc, SessionCookie::new(true).name());
    doc
}

/// The document as served and committed: pretty JSON and a final newline.
pub fn json() -> Result<String, serde_json::Error> {
    let mut doc = serde_json::to_value(document())?;
    camel_case_links(&mut doc);
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}

/// utoipa 5.5 serialises a Link object's fields in snake case (`operation_id`); OpenAPI spells
/// them `operationId`, `operationRef`, `requestBody`, and tools ignore links spelled otherwise.
fn camel_case_links(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    let links = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(|r| r.as_object_mut()))
        .flat_map(|responses| responses.values_mut())
        .filter_map(|response| response.get_mut("links").and_then(|l| l.as_object_mut()))
        .flat_map(|links| links.values_mut())
        .filter_map(|link| link.as_object_mut());
    for link in links {
        for (snake, camel) in [
            ("operation_id", "operationId"),
            ("operation_ref", "operationRef"),
            ("request_body", "requestBody"),
        ] {
            if let Some(value) = link.remove(snake) {
                link.insert(camel.to_owned(), value);
            }
        }
    }
}
