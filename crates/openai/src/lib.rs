//! The image provider adapter: [`OpenAiProvider`] implements the domain's
//! [`ImageProvider`] for any OpenAI-compatible images endpoint (`OPENAI_BASE_URL`) through the
//! `async-openai` client (DESIGN §3).
//!
//! - One `POST /images/generations` per job asks for `n` = the job's count, or, when the model
//!   makes fewer per request ([`ProviderRequest::images_per_request`]), for that many in turns
//!   until the count is reached. `size`, `quality` and `output_format` are the request's; the
//!   model id is sent as given (`ImageModel::Other`), so renamed models need no release.
//! - An answered image is base64 (`b64_json`, decoded here) or a URL, downloaded with
//!   `reqwest` from allowed hosts only (the API's host and [`ProviderConfig::download_hosts`];
//!   https, plain http on loopback only), within the request timeout and the job's deadline,
//!   and stopped at [`ProviderConfig::max_download_bytes`]. The bytes are returned as given:
//!   the adapter does not decode them, the image pipeline does (and says so when it cannot).
//! - The answer is one result per image asked for: a missing image, bad base64 or a failed
//!   download fails that image alone ([`ProviderError::BadAnswer`]). When a later turn fails,
//!   the images of the earlier turns are kept and the rest carry that turn's error; when the
//!   first turn fails, the whole call fails.
//! - Retries, with exponential backoff and full jitter (module `retry`), honouring `Retry-After`,
//!   until the job's [`ProviderConfig::deadline`]: 429 `rate_limit_exceeded`, 408, 5xx,
//!   transport failures and per-attempt timeouts ([`ProviderConfig::request_timeout`]). Never
//!   retried: `insufficient_quota` ([`ProviderError::QuotaExceeded`]), content policy
//!   ([`ProviderError::ContentPolicy`]) and any other 4xx ([`ProviderError::Rejected`]). A job
//!   still failing when the next wait would end past the deadline gives up at once with
//!   [`ProviderError::Unavailable`] (the last failure as its source); a job whose attempt is
//!   still running at the deadline ends with [`ProviderError::DeadlineExceeded`].
//! - async-openai's own retry is switched off, and the status and `Retry-After` of a failed
//!   answer kept: see module `transport`.
//! - Live previews ([`ImageProvider::generate_with_previews`] and
//!   [`ImageProvider::edit_with_previews`], module `stream`): the job's first image is asked
//!   for alone with `stream: true` and the partial images wanted (a streamed request makes one
//!   image; `generate_stream` or `edit_stream`), the others in the usual turns at the same time; each
//!   partial image is handed on as it arrives. A streamed attempt is retried as any other (a
//!   stream cut short is transient); a model that refuses `stream` (400 naming `stream` or
//!   `partial_images`) or a provider that answers no event stream is asked again without
//!   streaming, and yields no previews.
//! - `Rejected { status: 0 }` means refused here, before sending: a quality or output format
//!   the images API does not have.
//! - `tracing`: a span per job (model, size, count) and per attempt (n, attempt); the API key
//!   is never logged, nor a download URL's query (it may be a signature).

mod classify;
mod download;
mod retry;
mod stream;
mod transport;

use std::{fmt, sync::Arc, time::Duration};

use artforge_domain::{
    Background, ImageProvider, ListedModel, Partials, ProviderError, ProviderModels,
    ProviderRequest, edit::EditFiles,
};
use async_openai::{
    Client,
    config::OpenAIConfig,
    error::OpenAIError,
    types::{
        InputSource,
        images::{
            CreateImageEditRequest, CreateImageRequest, Image, ImageEditInput, ImageInput,
            ImageModel, ImageSize, ImagesResponse,
        },
    },
};
use backon::Retryable;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;
use tracing::Instrument;

use crate::{
    classify::{Failure, classify},
    download::{AllowedHosts, Downloader},
    stream::Streamed,
    transport::Transport,
};

/// OpenAI's own API.
pub const DEFAULT_API_BASE: &str = "https://api.openai.com/v1";
/// How long a job may spend on the provider, retries included.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(240);
/// How long one HTTP attempt may take.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// The largest image a URL answer may be.
pub const DEFAULT_MAX_DOWNLOAD_BYTES: usize = 32 * 1024 * 1024;

/// The most images the images API makes per request.
const MAX_N: u8 = 10;

/// How to reach the provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// `OPENAI_BASE_URL`, e.g. [`DEFAULT_API_BASE`].
    pub api_base: String,
    /// `OPENAI_API_KEY`.
    pub api_key: SecretString,
    /// Per job, retries and turns included.
    pub deadline: Duration,
    /// Per HTTP attempt (API call or download).
    pub request_timeout: Duration,
    /// The cap on a downloaded image.
    pub max_download_bytes: usize,
    /// Hosts URL answers may point at, beside the API's own host.
    pub download_hosts: Vec<String>,
}

impl ProviderConfig {
    /// OpenAI's API with `api_key` and the defaults above.
    pub fn new(api_key: SecretString) -> Self {
        Self {
            api_base: DEFAULT_API_BASE.to_owned(),
            api_key,
            deadline: DEFAULT_DEADLINE,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_download_bytes: DEFAULT_MAX_DOWNLOAD_BYTES,
            download_hosts: Vec::new(),
        }
    }
}

/// The image provider. Built once at init; clones share the HTTP clients.
#[derive(Clone)]
pub struct OpenAiProvider {
    inner: Arc<Inner>,
}

struct Inner {
    api_base: String,
    client: Client<OpenAIConfig>,
    downloads: Downloader,
    deadline: Duration,
}

impl fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("api_base", &self.inner.api_base)
            .field("deadline", &self.inner.deadline)
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// # Panics
    /// At init, on configuration that could never work: an `api_base` that is not an http(s)
    /// URL, an API key an HTTP header cannot carry (async-openai would panic on every request
    /// instead), or an HTTP client that cannot be built.
    pub fn new(config: ProviderConfig) -> Self {
        let api_base = config.api_base.trim().trim_end_matches('/').to_owned();
        let base_is_http = reqwest::Url::parse(&api_base)
            .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host());
        if !base_is_http {
            panic!("OPENAI_BASE_URL {api_base:?} is not an http(s) URL");
        }
        let api_key = config.api_key.expose_secret().trim();
        if reqwest::header::HeaderValue::from_str(&format!("Bearer {api_key}")).is_err() {
            panic!("OPENAI_API_KEY has characters an HTTP header cannot carry");
        }
        let tls = artforge_tls::client_config();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls.clone())
            .user_agent(concat!("artforge/", env!("CARGO_PKG_VERSION")))
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .build()
            .unwrap_or_else(|e| panic!("the image provider's HTTP client cannot be built: {e}"));
        let client = Client::build(
            http.clone(),
            OpenAIConfig::new()
                .with_api_base(&api_base)
                .with_api_key(api_key),
        )
        // Replaces async-openai's default stack and its built-in retry (see `transport`).
        .with_http_service(Transport::new(http));
        let downloads = Downloader::new(
            tls,
            AllowedHosts::new(&api_base, &config.download_hosts),
            config.request_timeout,
            config.max_download_bytes,
        )
        .unwrap_or_else(|e| panic!("the image download client cannot be built: {e}"));
        Self {
            inner: Arc::new(Inner {
                api_base,
                client,
                downloads,
                deadline: config.deadline,
            }),
        }
    }
}

impl ImageProvider for OpenAiProvider {
    #[tracing::instrument(
        name = "provider_generate",
        skip_all,
        fields(model = %request.model, size = %request.size, count = request.count)
    )]
    async fn generate(
        &self,
        request: &ProviderRequest,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError> {
        self.inner.generate(request).await
    }

    #[tracing::instrument(
        name = "provider_generate",
        skip_all,
        fields(model = %request.model, size = %request.size, count = request.count, partials = partials.wanted())
    )]
    async fn generate_with_previews(
        &self,
        request: &ProviderRequest,
        partials: &Partials,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError> {
        if partials.wanted() == 0 {
            return self.inner.generate(request).await;
        }
        self.inner.generate_streaming_first(request, partials).await
    }

    #[tracing::instrument(
        name = "provider_edit",
        skip_all,
        fields(model = %request.model, size = %request.size, count = request.count, sources = files.sources.len(), mask = files.mask.is_some())
    )]
    async fn edit(
        &self,
        request: &ProviderRequest,
        files: &EditFiles,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError> {
        self.inner.edit(request, files).await
    }

    #[tracing::instrument(
        name = "provider_edit",
        skip_all,
        fields(model = %request.model, size = %request.size, count = request.count, sources = files.sources.len(), mask = files.mask.is_some(), partials = partials.wanted())
    )]
    async fn edit_with_previews(
        &self,
        request: &ProviderRequest,
        files: &EditFiles,
        partials: &Partials,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError> {
        if partials.wanted() == 0 {
            return self.inner.edit(request, files).await;
        }
        self.inner
            .edit_streaming_first(request, files, partials)
            .await
    }
}

impl ProviderModels for OpenAiProvider {
    /// `GET /models`, retried as image requests are, within one deadline. A `shutdown_date`
    /// that is not an ISO date (`YYYY-MM-DD`) is read as none announced, and logged.
    #[tracing::instrument(name = "provider_models", skip_all)]
    async fn models(&self) -> Result<Vec<ListedModel>, ProviderError> {
        let deadline = Instant::now() + self.inner.deadline;
        let client = &self.inner.client;
        let attempts = || async { client.models().list().await.map_err(classify) };
        let retried = attempts
            .retry(retry::backoff())
            .when(Failure::is_transient)
            .adjust(move |failure: &Failure, backoff| {
                let remaining = deadline.saturating_duration_since(Instant::now());
                retry::next_delay(backoff?, failure.retry_after(), remaining)
            });
        let listed = match tokio::time::timeout_at(deadline, retried).await {
            Ok(Ok(listed)) => listed,
            Ok(Err(failure)) => return Err(failure.into_provider_error()),
            Err(_elapsed) => return Err(ProviderError::DeadlineExceeded),
        };
        Ok(listed
            .data
            .into_iter()
            .map(|model| {
                let shutdown = model.shutdown_date.as_deref().and_then(|raw| {
                    let parsed = shutdown_date(raw);
                    if parsed.is_none() {
                        tracing::warn!(model = %model.id, raw, "an unreadable shutdown_date");
                    }
                    parsed
                });
                ListedModel {
                    id: model.id,
                    shutdown,
                }
            })
            .collect())
    }
}

/// A `shutdown_date` as OpenAI writes it: `YYYY-MM-DD` (a longer timestamp keeps its date).
fn shutdown_date(raw: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw.get(..10)?, &format).ok()
}

impl Inner {
    async fn generate(
        &self,
        request: &ProviderRequest,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError> {
        let deadline = Instant::now() + self.deadline;
        let template = image_request(request)?;
        self.turns(request, usize::from(request.count), deadline, |n| {
            self.generation(&template, n, deadline)
        })
        .await
    }

    /// A generation whose first image is streamed (`generate_stream`, `image_generation.*`
    /// events), the others asked for in the usual turns meanwhile.
    async fn generate_streaming_first(
        &self,
        request: &ProviderRequest,
        partials: &Partials,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError> {
        let deadline = Instant::now() + self.deadline;
        let template = image_request(request)?;
        let client = &self.client;
        let streamed = CreateImageRequest {
            n: Some(1),
            stream: Some(true),
            partial_images: Some(partials.wanted()),
            ..template.clone()
        };
        self.streaming_first(
            request,
            partials,
            deadline,
            || {
                let ask = streamed.clone();
                async move { client.images().generate_stream(ask).await }
            },
            |n| self.generation(&template, n, deadline),
        )
        .await
    }

    /// An edit (`POST /images/edits`, multipart), asked for in turns as generations are.
    async fn edit(
        &self,
        request: &ProviderRequest,
        files: &EditFiles,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError> {
        let deadline = Instant::now() + self.deadline;
        let template = edit_request(request, files)?;
        self.turns(request, usize::from(request.count), deadline, |n| {
            self.edition(&template, n, deadline)
        })
        .await
    }

    /// An edit whose first image is streamed alone (`edit_stream`, `image_edit.*` events), as
    /// [`Inner::generate_streaming_first`] does for generations.
    async fn edit_streaming_first(
        &self,
        request: &ProviderRequest,
        files: &EditFiles,
        partials: &Partials,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError> {
        let deadline = Instant::now() + self.deadline;
        let template = edit_request(request, files)?;
        let client = &self.client;
        let streamed = CreateImageEditRequest {
            n: Some(1),
            stream: Some(true),
            partial_images: Some(partials.wanted()),
            ..template.clone()
        };
        self.streaming_first(
            request,
            partials,
            deadline,
            || {
                let ask = streamed.clone();
                async move { client.images().edit_stream(ask).await }
            },
            |n| self.edition(&template, n, deadline),
        )
        .await
    }

    /// The first image streamed alone (`open` starts one streamed attempt), with its partial
    /// images handed to `partials`; the others asked for in turns (`ask(n)`, a plain request
    /// of `n`) meanwhile. The call fails as a whole only when the first image and the rest (if
    /// any) both fail.
    async fn streaming_first<Open, Opened, Events, E, Ask, Asked>(
        &self,
        request: &ProviderRequest,
        partials: &Partials,
        deadline: Instant,
        open: Open,
        ask: Ask,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError>
    where
        Open: Fn() -> Opened,
        Opened: Future<Output = Result<Events, OpenAIError>>,
        Events: futures::Stream<Item = Result<E, OpenAIError>>,
        E: Into<stream::Event>,
        Ask: Fn(u8) -> Asked,
        Asked: Future<Output = Result<ImagesResponse, ProviderError>>,
    {
        let others = usize::from(request.count).saturating_sub(1);
        let (first, rest) = futures::join!(
            self.stream_one(partials, deadline, open, || ask(1)),
            self.turns(request, others, deadline, &ask)
        );
        match (first, rest) {
            (Err(error), Ok(rest)) if rest.is_empty() => Err(error),
            (Err(error), Err(_)) => Err(error),
            (first, Ok(rest)) => Ok(std::iter::once(first).chain(rest).collect()),
            (first, Err(error)) => {
                tracing::warn!(error = %error, "the images beside the streamed one failed");
                let missing = fan_out(error, others).into_iter().map(Err);
                Ok(std::iter::once(first).chain(missing).collect())
            }
        }
    }

    /// One image, streamed (`open` starts one streamed attempt); asked again without streaming
    /// (`plain`, a request of one image) when the model does not stream.
    async fn stream_one<Open, Opened, Events, E, Plain, Answered>(
        &self,
        partials: &Partials,
        deadline: Instant,
        open: Open,
        plain: Plain,
    ) -> Result<Vec<u8>, ProviderError>
    where
        Open: Fn() -> Opened,
        Opened: Future<Output = Result<Events, OpenAIError>>,
        Events: futures::Stream<Item = Result<E, OpenAIError>>,
        E: Into<stream::Event>,
        Plain: FnOnce() -> Answered,
        Answered: Future<Output = Result<ImagesResponse, ProviderError>>,
    {
        let open = &open;
        let streamed = with_retries(1, deadline, || async move {
            match open().await {
                Ok(events) => stream::follow(events, partials).await,
                Err(e) if stream::refuses_streaming(&e) => Ok(Streamed::NotStreamed),
                Err(e) => Err(classify(e)),
            }
        })
        .await?;
        match streamed {
            Streamed::Image(bytes) => Ok(bytes),
            Streamed::NotStreamed => {
                tracing::info!("the model does not stream; asked again without, no previews");
                let answer = plain().await?;
                let mut images = self.collect(&answer, 1, deadline).await;
                images.pop().unwrap_or_else(|| {
                    Err(ProviderError::BadAnswer(
                        "the provider answered no image".into(),
                    ))
                })
            }
        }
    }

    /// `count` images in turns of at most `images_per_request` (`ask(n)` is one request of
    /// `n`): when a later turn fails, the earlier turns' images are kept and the rest carry its
    /// error; when the first fails, the call fails.
    async fn turns<Ask, Asked>(
        &self,
        request: &ProviderRequest,
        count: usize,
        deadline: Instant,
        ask: Ask,
    ) -> Result<Vec<Result<Vec<u8>, ProviderError>>, ProviderError>
    where
        Ask: Fn(u8) -> Asked,
        Asked: Future<Output = Result<ImagesResponse, ProviderError>>,
    {
        let per_request = usize::from(request.images_per_request.clamp(1, MAX_N));
        let mut images = Vec::with_capacity(count);
        while images.len() < count {
            let n = (count - images.len()).min(per_request);
            match ask(u8::try_from(n).unwrap_or(MAX_N)).await {
                Ok(answer) => images.extend(self.collect(&answer, n, deadline).await),
                Err(error) if images.is_empty() => return Err(error),
                Err(error) => {
                    tracing::warn!(error = %error, delivered = images.len(), "a later turn failed");
                    let missing = count - images.len();
                    images.extend(fan_out(error, missing).into_iter().map(Err));
                }
            }
        }
        Ok(images)
    }

    /// One generation request of `n` images, retried.
    async fn generation(
        &self,
        template: &CreateImageRequest,
        n: u8,
        deadline: Instant,
    ) -> Result<ImagesResponse, ProviderError> {
        let ask = CreateImageRequest {
            n: Some(n),
            ..template.clone()
        };
        self.ask(&ask, deadline).await
    }

    /// One edit request of `n` images, retried.
    async fn edition(
        &self,
        template: &CreateImageEditRequest,
        n: u8,
        deadline: Instant,
    ) -> Result<ImagesResponse, ProviderError> {
        let ask = CreateImageEditRequest {
            n: Some(n),
            ..template.clone()
        };
        let client = &self.client;
        self.retried(n, deadline, || {
            let ask = ask.clone();
            async move { client.images().edit(ask).await }
        })
        .await
    }

    /// One request, retried until it succeeds, fails for good, or the deadline comes.
    async fn ask(
        &self,
        request: &CreateImageRequest,
        deadline: Instant,
    ) -> Result<ImagesResponse, ProviderError> {
        let client = &self.client;
        self.retried(request.n.unwrap_or(1), deadline, || async move {
            client.images().generate(request.clone()).await
        })
        .await
    }

    /// `call` (one request for `n` images), retried until it succeeds, fails for good, or the
    /// deadline comes.
    async fn retried<F, Fut>(
        &self,
        n: u8,
        deadline: Instant,
        call: F,
    ) -> Result<ImagesResponse, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<ImagesResponse, OpenAIError>>,
    {
        let call = &call;
        with_retries(
            n,
            deadline,
            || async move { call().await.map_err(classify) },
        )
        .await
    }

    /// The `n` images of an answer, decoded from base64 or downloaded, in order.
    async fn collect(
        &self,
        answer: &ImagesResponse,
        n: usize,
        deadline: Instant,
    ) -> Vec<Result<Vec<u8>, ProviderError>> {
        let got = answer.data.len();
        let images = (0..n).map(|index| async move {
            match answer.data.get(index).map(AsRef::as_ref) {
                None => Err(ProviderError::BadAnswer(format!(
                    "the provider answered {got} images of the {n} asked for"
                ))),
                Some(Image::B64Json { b64_json, .. }) => base64::engine::general_purpose::STANDARD
                    .decode(b64_json.as_bytes())
                    .map_err(|e| {
                        ProviderError::BadAnswer(format!("image {index} is not base64: {e}"))
                    }),
                Some(Image::Url { url, .. }) => self.downloads.fetch(url, deadline).await,
            }
        });
        futures::future::join_all(images).await
    }
}

/// `attempt` (one request of `n` images, a plain or a streamed one), retried until it
/// succeeds, fails for good, or the deadline comes.
async fn with_retries<T, Fut>(
    n: u8,
    deadline: Instant,
    mut attempt: impl FnMut() -> Fut,
) -> Result<T, ProviderError>
where
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut count: u32 = 0;
    let attempts = move || {
        count += 1;
        attempt().instrument(tracing::info_span!("provider_attempt", n, attempt = count))
    };
    let retried = attempts
        .retry(retry::backoff())
        .when(Failure::is_transient)
        .adjust(move |failure: &Failure, backoff| {
            let remaining = deadline.saturating_duration_since(Instant::now());
            retry::next_delay(backoff?, failure.retry_after(), remaining)
        })
        .notify(|failure: &Failure, delay: Duration| {
            if let Failure::Transient { source, .. } = failure {
                tracing::warn!(error = %source, delay_ms = delay.as_millis(), "retrying");
            }
        });
    match tokio::time::timeout_at(deadline, retried).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(failure)) => Err(failure.into_provider_error()),
        Err(_elapsed) => Err(ProviderError::DeadlineExceeded),
    }
}

/// The images API request for `request`, without `n`.
fn image_request(request: &ProviderRequest) -> Result<CreateImageRequest, ProviderError> {
    Ok(CreateImageRequest {
        prompt: request.prompt.clone(),
        model: ImageModel::Other(request.model.clone()),
        size: Some(ImageSize::Other(request.size.clone())),
        quality: known("quality", &request.quality)?,
        output_format: known("output_format", request.output_format.as_str())?,
        // Only asked for when chosen: `auto` is the provider's default.
        background: match request.background {
            Background::Auto => None,
            other => known("background", other.as_str())?,
        },
        ..CreateImageRequest::default()
    })
}

/// The edits API request for `request` over `files`, without `n`: one source as `image`,
/// several as `image[]` (the first is the one edited), the mask as `mask`.
fn edit_request(
    request: &ProviderRequest,
    files: &EditFiles,
) -> Result<CreateImageEditRequest, ProviderError> {
    let part = |name: String, bytes: &[u8]| ImageInput {
        source: InputSource::VecU8 {
            filename: name,
            vec: bytes.to_vec(),
        },
    };
    let mut inputs: Vec<ImageInput> = files
        .sources
        .iter()
        .enumerate()
        .map(|(i, (format, bytes))| part(format!("source-{i}.{}", format.ext()), bytes))
        .collect();
    let image = match inputs.len() {
        0 => {
            return Err(ProviderError::Rejected {
                status: 0,
                message: "not sent: an edit needs a source image".into(),
            });
        }
        1 => ImageEditInput::Image(inputs.remove(0)),
        _ => ImageEditInput::Images(inputs),
    };
    let generation = image_request(request)?;
    Ok(CreateImageEditRequest {
        image,
        prompt: generation.prompt,
        mask: files
            .mask
            .as_deref()
            .map(|bytes| part("mask.png".into(), bytes)),
        model: generation.model,
        size: generation.size,
        quality: generation.quality,
        output_format: generation.output_format,
        background: generation.background,
        ..CreateImageEditRequest::default()
    })
}

/// `value` as one of async-openai's enums (empty: not sent).
fn known<T: serde::de::DeserializeOwned>(
    field: &str,
    value: &str,
) -> Result<Option<T>, ProviderError> {
    if value.is_empty() {
        return Ok(None);
    }
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .map(Some)
        .map_err(|_| ProviderError::Rejected {
            status: 0,
            message: format!("not sent: the images API has no {field} {value:?}"),
        })
}

/// One error for each of `slots` images; an `Unavailable` source is shared, not flattened.
fn fan_out(error: ProviderError, slots: usize) -> Vec<ProviderError> {
    let each = |make: &dyn Fn() -> ProviderError| (0..slots).map(|_| make()).collect();
    match error {
        ProviderError::Unavailable(source) => {
            let shared = Shared(Arc::from(source));
            each(&|| ProviderError::Unavailable(Box::new(shared.clone())))
        }
        ProviderError::ContentPolicy(m) => each(&|| ProviderError::ContentPolicy(m.clone())),
        ProviderError::QuotaExceeded(m) => each(&|| ProviderError::QuotaExceeded(m.clone())),
        ProviderError::ModelRetired(m) => each(&|| ProviderError::ModelRetired(m.clone())),
        ProviderError::Rejected { status, message } => each(&|| ProviderError::Rejected {
            status,
            message: message.clone(),
        }),
        ProviderError::DeadlineExceeded => each(&|| ProviderError::DeadlineExceeded),
        ProviderError::BadAnswer(m) => each(&|| ProviderError::BadAnswer(m.clone())),
    }
}

/// One error behind several images.
#[derive(Debug, Clone)]
struct Shared(Arc<dyn std::error::Error + Send + Sync>);

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Shared {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

#[cfg(test)]
mod tests {
    use artforge_domain::ImageFormat;

    use super::*;

    fn request(quality: &str, output_format: ImageFormat) -> ProviderRequest {
        ProviderRequest {
            model: "gpt-image-9-preview".into(),
            prompt: "a lighthouse".into(),
            size: "1536x864".into(),
            quality: quality.into(),
            count: 1,
            images_per_request: 1,
            output_format,
            background: Background::Auto,
        }
    }

    #[test]
    fn model_and_size_are_sent_as_configured_even_when_async_openai_does_not_know_them() {
        let body = serde_json::to_value(
            image_request(&request("high", ImageFormat::Webp)).expect("known"),
        )
        .expect("serialises");
        assert_eq!(body["model"], "gpt-image-9-preview");
        assert_eq!(body["size"], "1536x864");
        assert_eq!(body["quality"], "high");
        assert_eq!(body["output_format"], "webp");
        assert!(body.get("response_format").is_none(), "{body}");
        assert!(body.get("background").is_none(), "auto is not sent: {body}");
        let transparent = ProviderRequest {
            background: Background::Transparent,
            ..request("high", ImageFormat::Png)
        };
        let body =
            serde_json::to_value(image_request(&transparent).expect("known")).expect("serialises");
        assert_eq!(body["background"], "transparent");
    }

    #[test]
    fn shutdown_dates_are_read_as_dates_and_nonsense_as_none() {
        let day = time::macros::date!(2027 - 05 - 04);
        assert_eq!(shutdown_date("2027-05-04"), Some(day));
        assert_eq!(shutdown_date("2027-05-04T00:00:00Z"), Some(day));
        assert_eq!(shutdown_date("soon"), None);
        assert_eq!(shutdown_date("2027-13-01"), None);
    }

    #[test]
    fn a_quality_the_images_api_lacks_is_refused_before_sending() {
        let refused =
            image_request(&request("ultra", ImageFormat::Png)).expect_err("unknown quality");
        assert!(
            matches!(&refused, ProviderError::Rejected { status: 0, message } if message.contains("ultra")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_failed_later_turn_gives_each_missing_image_the_same_error_and_cause() {
        let cause = std::io::Error::other("connection reset");
        let errors = fan_out(ProviderError::Unavailable(Box::new(cause)), 3);
        assert_eq!(errors.len(), 3);
        for error in errors {
            let ProviderError::Unavailable(source) = error else {
                panic!("expected Unavailable");
            };
            assert_eq!(source.to_string(), "connection reset");
        }
        let errors = fan_out(ProviderError::ContentPolicy("no".into()), 2);
        assert!(
            errors
                .iter()
                .all(|e| matches!(e, ProviderError::ContentPolicy(m) if m == "no"))
        );
    }
}
