//! The image object as the API answers it (DESIGN §2), with presigned URLs and share links.

use crate::ApiError;
use artforge_domain::{
    Background, Image, ImageFiles, ImageFormat, Preset, Quality, Style, Tier, UserId, Variant,
    Visibility,
};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Urls {
    pub image: String,
    pub thumbnail: String,
    /// Only in single-image answers.
    pub original: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShareLinks {
    pub page: String,
    pub x: String,
    pub facebook: String,
    pub pinterest: String,
    pub reddit: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageView {
    pub id: String,
    pub prompt: String,
    pub model: Tier,
    pub style: Style,
    pub preset: Preset,
    pub quality: Quality,
    pub width: u32,
    pub height: u32,
    /// The sized image's and thumbnail's format.
    pub format: ImageFormat,
    /// `transparent`: the files keep real alpha.
    pub background: Background,
    pub tags: Vec<String>,
    pub visibility: Visibility,
    pub likes: u64,
    pub liked_by_me: bool,
    pub created_at: String,
    /// The owner's job; not shown to others.
    pub job_id: Option<String>,
    pub urls: Urls,
    /// Share links, for public images.
    pub share: Option<ShareLinks>,
    /// The image this one remixes (`remixOf` of its request), or null.
    pub remix_of: Option<String>,
    /// Whether it was made by editing sources (`sources` of its request).
    pub edited: bool,
    /// The image it was edited from (its job's first source), when that was an image; null for
    /// an upload or a generated image.
    pub edited_from: Option<String>,
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Share links for a public image: its page on the web client, and the networks' share intents.
pub fn share_links(base: &str, image: &Image) -> ShareLinks {
    let page = format!("{base}/i/{}", image.id);
    let url = encode(&page);
    let text = encode(&image.prompt.chars().take(200).collect::<String>());
    ShareLinks {
        x: format!("https://x.com/intent/post?url={url}&text={text}"),
        facebook: format!("https://www.facebook.com/sharer/sharer.php?u={url}"),
        pinterest: format!(
            "https://www.pinterest.com/pin/create/button/?url={url}&description={text}"
        ),
        reddit: format!("https://www.reddit.com/submit?url={url}&title={text}"),
        page,
    }
}

/// How much of an image a view shows.
#[derive(Debug, Clone, Copy)]
pub struct Detail {
    pub viewer: Option<UserId>,
    pub liked_by_me: bool,
    /// Single-image answers also carry the original's URL.
    pub with_original: bool,
}

pub async fn view<F: ImageFiles>(
    files: &F,
    base: &str,
    image: &Image,
    detail: Detail,
) -> Result<ImageView, ApiError> {
    let url = |variant| files.url_for(image, variant);
    let original = match detail.with_original {
        true => Some(url(Variant::Original).await?),
        false => None,
    };
    Ok(ImageView {
        id: image.id.to_string(),
        prompt: image.prompt.clone(),
        model: image.tier,
        style: image.style,
        preset: image.preset,
        quality: image.quality,
        width: image.width,
        height: image.height,
        format: image.variant_format,
        background: image.background,
        tags: image.tags.iter().map(|t| t.as_str().to_owned()).collect(),
        visibility: image.visibility,
        likes: image.likes,
        liked_by_me: detail.liked_by_me,
        created_at: image.created_at.format(&Rfc3339).unwrap_or_default(),
        job_id: (detail.viewer == Some(image.owner)).then(|| image.job.to_string()),
        urls: Urls {
            image: url(Variant::Preset).await?,
            thumbnail: url(Variant::Thumbnail).await?,
            original,
        },
        share: (image.visibility == Visibility::Public).then(|| share_links(base, image)),
        remix_of: image.lineage.remix_of.map(|id| id.to_string()),
        edited: image.lineage.edited(),
        edited_from: image
            .lineage
            .edited_from
            .and_then(|source| source.image())
            .map(|id| id.to_string()),
    })
}

/// Presigned URLs of an image's files.
trait UrlFor {
    async fn url_for(&self, image: &Image, variant: Variant) -> Result<String, ApiError>;
}

impl<F: ImageFiles> UrlFor for F {
    async fn url_for(&self, image: &Image, variant: Variant) -> Result<String, ApiError> {
        Ok(self.url(&image.object_key(variant), None).await?)
    }
}

#[cfg(test)]
mod tests {
    use artforge_domain::{Preset, UserId, Visibility};
    use artforge_fakes::{MemoryFiles, contract::image};

    use super::*;

    const BASE: &str = "https://artforge.example";

    #[tokio::test]
    async fn the_owner_sees_the_job_and_others_see_only_what_is_public() {
        let files = MemoryFiles::new();
        let owner = UserId::new();
        let private = image(owner, Preset::Story, &["sea"]);
        let detail = |viewer| Detail {
            viewer,
            liked_by_me: false,
            with_original: false,
        };
        let own = view(&files, BASE, &private, detail(Some(owner)))
            .await
            .expect("a view");
        assert_eq!(own.job_id, Some(private.job.to_string()));
        assert!(own.share.is_none(), "a private image has no share links");
        assert!(own.urls.original.is_none(), "lists carry no original");
        assert!(
            own.urls.image.ends_with("/story.jpeg"),
            "{}",
            own.urls.image
        );
        assert!(own.urls.thumbnail.ends_with("/thumbnail.jpeg"));

        let public = Image {
            visibility: Visibility::Public,
            ..private
        };
        let theirs = view(
            &files,
            BASE,
            &public,
            Detail {
                with_original: true,
                ..detail(Some(UserId::new()))
            },
        )
        .await
        .expect("a view");
        assert_eq!(theirs.job_id, None, "the job is the owner's business");
        assert!(
            theirs
                .urls
                .original
                .as_deref()
                .is_some_and(|u| u.ends_with("/original.png"))
        );
        let share = theirs.share.expect("share links");
        assert_eq!(share.page, format!("{BASE}/i/{}", public.id));
        assert!(
            share
                .x
                .starts_with("https://x.com/intent/post?url=https%3A%2F%2F")
        );
    }

    #[tokio::test]
    async fn an_image_shows_what_it_remixes_and_the_image_it_was_edited_from_but_no_upload() {
        use artforge_domain::{
            ImageId, UploadId,
            edit::{Lineage, SourceRef},
        };
        let files = MemoryFiles::new();
        let owner = UserId::new();
        let (remixed, source) = (ImageId::new(), ImageId::new());
        let detail = Detail {
            viewer: Some(owner),
            liked_by_me: false,
            with_original: false,
        };
        let from_image = Image {
            lineage: Lineage {
                edited_from: Some(SourceRef::Image(source)),
                remix_of: Some(remixed),
            },
            ..image(owner, Preset::Square, &[])
        };
        let json = serde_json::to_value(
            view(&files, BASE, &from_image, detail)
                .await
                .expect("a view"),
        )
        .expect("serialises");
        assert_eq!(json["remixOf"], remixed.to_string());
        assert_eq!(json["edited"], true);
        assert_eq!(json["editedFrom"], source.to_string());

        let from_upload = Image {
            lineage: Lineage {
                edited_from: Some(SourceRef::Upload(UploadId::new())),
                remix_of: None,
            },
            ..image(owner, Preset::Square, &[])
        };
        let json = serde_json::to_value(
            view(&files, BASE, &from_upload, detail)
                .await
                .expect("a view"),
        )
        .expect("serialises");
        assert_eq!(json["edited"], true);
        assert!(
            json["editedFrom"].is_null() && json["remixOf"].is_null(),
            "{json}"
        );
    }
}
