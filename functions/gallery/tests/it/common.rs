//! The gallery router over a fresh table and bucket in moto, built by the gallery's one wiring
//! (`gallery::App::build`). Images are made as the worker will make them: three files
//! uploaded, then the metadata recorded.

use artforge_aws::SdkConfig;
use artforge_domain::{
    Image, ImageFormat, ImageId, Images, JobId, Preset, Quality, Style, Tags, Tier, UserId,
    Variant, Visibility,
};
use artforge_dynamo::DynamoStore;
use artforge_s3::{BucketConfig, S3Files};
use axum::{Router, body::Body};
use gallery::Config;
use http::Request;
use time::OffsetDateTime;

pub const BASE_URL: &str = "https://artforge.example";

pub struct App {
    pub router: Router,
    pub store: DynamoStore,
    pub files: S3Files,
    /// The account queue archives are sent to.
    pub queue_url: String,
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

/// The gallery's configuration over `store`'s table and `files`' bucket (path-style, as moto
/// needs).
pub fn config(store: &DynamoStore, files: &S3Files, queue_url: &str) -> Config {
    Config {
        table_name: store.table().to_owned(),
        bucket: BucketConfig {
            bucket_name: files.bucket().to_owned(),
            force_path_style: true,
            presign_ttl: std::time::Duration::from_secs(300),
        },
        session: artforge_testkit::session_config(),
        public_base_url: BASE_URL.to_owned(),
        account_queue_url: queue_url.to_owned(),
        paid: artforge_domain::PaidLimits::default(),
    }
}

impl App {
    pub async fn new() -> Self {
        let store = artforge_testkit::fresh_store().await;
        let files = artforge_testkit::fresh_files().await;
        let queue_url = artforge_testkit::fresh_queue().await;
        let router = gallery::App::build(
            config(&store, &files, &queue_url),
            &artforge_testkit::sdk_config(),
        )
        .router();
        Self {
            router,
            store,
            files,
            queue_url,
        }
    }

    /// Another gallery over the same table and bucket, its own clients going through `aws`
    /// (e.g. a fault proxy's); the test's `store` and `files` keep going direct.
    pub fn router_via(&self, aws: &SdkConfig) -> Router {
        gallery::App::build(config(&self.store, &self.files, &self.queue_url), aws).router()
    }

    pub async fn user(&self) -> (UserId, String) {
        artforge_testkit::signed_in_user(&self.store).await
    }

    /// Uploads the three files of a new image of `owner`, then records it.
    pub async fn image(&self, owner: UserId, spec: Spec) -> Image {
        let image = new_image(owner, spec);
        for variant in Variant::ALL {
            let bytes = format!("{variant} of {}", image.id).into_bytes();
            self.files
                .put(
                    &image.object_key(*variant),
                    bytes,
                    image.content_type(*variant),
                )
                .await
                .expect("upload");
        }
        self.store.add(&image).await.expect("metadata");
        image
    }

    /// Records a new image of `owner` without files, for tests that only list.
    pub async fn record(&self, owner: UserId, spec: Spec) -> Image {
        let image = new_image(owner, spec);
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

/// A new image of `owner` as `spec` says: a PNG original, JPEG variants.
fn new_image(owner: UserId, spec: Spec) -> Image {
    let (width, height) = spec.preset.size().unwrap_or((1024, 1024));
    Image {
        id: ImageId::new(),
        owner,
        job: JobId::new(),
        prompt: format!("a lighthouse at dusk, {}", spec.preset),
        tier: spec.tier,
        style: Style::Vivid,
        preset: spec.preset,
        quality: Quality::Medium,
        width,
        height,
        tags: Tags::parse(spec.tags).expect("tags"),
        visibility: spec.visibility,
        likes: 0,
        created_at: OffsetDateTime::now_utc(),
        original_format: ImageFormat::Png,
        variant_format: ImageFormat::Jpeg,
        background: artforge_domain::Background::Auto,
        lineage: artforge_domain::edit::Lineage::default(),
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
