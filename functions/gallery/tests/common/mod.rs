//! The gallery router over a fresh table and bucket in moto. Images are made as the worker
//! will make them: three files uploaded, then the metadata recorded.

#![allow(dead_code)]

use artforge_domain::{
    Image, ImageId, Images, JobId, Preset, Tags, Tier, UserId, Variant, Visibility,
};
use artforge_dynamo::DynamoStore;
use artforge_s3::S3Files;
use axum::{Router, body::Body};
use gallery::{Config, GalleryState};
use http::Request;
use time::OffsetDateTime;

pub const BASE_URL: &str = "https://artforge.example";

pub struct App {
    pub router: Router,
    pub store: DynamoStore,
    pub files: S3Files,
}

pub use artforge_testkit::http::Answer;

pub struct Spec {
    pub tier: Tier,
    pub preset: Preset,
    pub tags: &'static [&'static str],
    pub visibility: Visibility,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            tier: Tier::V2,
            preset: Preset::Square,
            tags: &[],
            visibility: Visibility::Private,
        }
    }
}

impl App {
    pub async fn new() -> Self {
        let store = artforge_testkit::fresh_store().await;
        let files = artforge_testkit::fresh_files().await;
        let config = Config {
            table_name: store.table().to_owned(),
            bucket_name: files.bucket().to_owned(),
            session: artforge_testkit::session_config(),
            presign_ttl: std::time::Duration::from_secs(300),
            public_base_url: BASE_URL.to_owned(),
            s3_force_path_style: true,
        };
        let router = gallery::router(GalleryState::new(&config, store.clone(), files.clone()));
        Self {
            router,
            store,
            files,
        }
    }

    pub async fn user(&self) -> (UserId, String) {
        artforge_testkit::signed_in_user(&self.store).await
    }

    /// Uploads the three files of a new image of `owner`, then records it.
    pub async fn image(&self, owner: UserId, spec: Spec) -> Image {
        let image = self.record(owner, spec).await;
        for variant in [Variant::Original, Variant::Preset, Variant::Thumbnail] {
            let bytes = format!("{variant} of {}", image.id).into_bytes();
            self.files
                .put(
                    &image.object_key(variant),
                    bytes,
                    image.content_type(variant),
                )
                .await
                .expect("upload");
        }
        image
    }

    /// Records a new image of `owner` without files, for tests that only list.
    pub async fn record(&self, owner: UserId, spec: Spec) -> Image {
        let (width, height) = spec.preset.size();
        let image = Image {
            id: ImageId::new(),
            owner,
            job: JobId::new(),
            prompt: format!("a lighthouse at dusk, {}", spec.preset),
            tier: spec.tier,
            style: "vivid".into(),
            preset: spec.preset,
            quality: "medium".into(),
            width,
            height,
            tags: Tags::parse(spec.tags).expect("tags"),
            visibility: spec.visibility,
            likes: 0,
            created_at: OffsetDateTime::now_utc(),
            original_ext: "png".into(),
            variant_ext: "jpeg".into(),
        };
        for variant in [Variant::Original, Variant::Preset, Variant::Thumbnail] {
            let bytes = format!("{variant} of {}", image.id).into_bytes();
            self.files
                .put(
                    &image.object_key(variant),
                    bytes,
                    image.content_type(variant),
                )
                .await
                .expect("upload");
        }
        self.store.add(&image).await.expect("metadata");
        image
    }

    pub async fn objects(&self, image: &Image) -> Vec<String> {
        let out = self
            .files
            .client()
            .list_objects_v2()
            .bucket(self.files.bucket())
            .prefix(format!("images/{}/{}/", image.owner, image.id))
            .send()
            .await
            .expect("list");
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        artforge_testkit::http::send(&self.router, request).await
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        self.send(artforge_testkit::http::request(method, path, token, body))
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call("GET", path, Some(token), None).await
    }
}

/// Follows a presigned URL to moto: the status, the headers and the body.
pub async fn fetch(url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = artforge_devstack::http_client()
        .build()
        .expect("a client")
        .get(url)
        .send()
        .await
        .expect("moto answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}
