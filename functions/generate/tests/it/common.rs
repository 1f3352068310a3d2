//! The generation API and worker over a fresh table, bucket and queues in moto, with the
//! OpenAI stand-in on loopback: every part is the production code, only AWS and OpenAI are
//! stood in for. Tests drive the queue as Lambda's event source mapping would.

use std::{sync::Arc, time::Duration};

use artforge_devstack::{event_source::EventSource, openai::OpenAiStandIn, resources::Provisioned};
use artforge_domain::{
    CreditCause, Credits, DailyLimits, ImageFormat, JobId, Ledger, Movement, PageRequest, UserId,
    Variant, image::object_key,
};
use artforge_dynamo::DynamoStore;
use artforge_imaging::PipelineConfig;
use artforge_openai::ProviderConfig;
use artforge_s3::{BucketConfig, S3Files};
use axum::Router;
use generate::{
    Api, Config, Worker, WorkerConfig, usecases::previews::PreviewPolicy, worker::Delivery,
};
use serde_json::Value;

pub use artforge_testkit::http::Answer;

pub type TestWorker = Worker;

pub struct Stack {
    pub router: Router,
    pub store: DynamoStore,
    pub files: S3Files,
    pub sqs: aws_sdk_sqs::Client,
    pub queues: Provisioned,
    pub openai: OpenAiStandIn,
    pub openai_base: String,
    pub worker: Arc<TestWorker>,
    pub jobs: EventSource,
}

/// How the worker is set up for a test.
pub struct Options {
    pub deadline: Duration,
    pub lease: Duration,
    pub limits: DailyLimits,
    /// The paid-route limits (per client address and per user).
    pub paid: artforge_domain::PaidLimits,
    /// The AWS configuration the function's own clients use (the API's and the worker's), e.g.
    /// through a fault proxy; `None`: moto directly. The test's own clients always go direct.
    pub via: Option<artforge_aws::SdkConfig>,
    /// Live previews: off unless a test is about them (streaming the first image alone changes
    /// the provider calls and the uploads other tests count).
    pub previews: PreviewPolicy,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(20),
            lease: Duration::from_secs(150),
            limits: DailyLimits {
                images_per_user: 1000,
                spend_cap_micros: 1_000_000_000,
                free_spend_cap_micros: 1_000_000_000,
            },
            paid: artforge_domain::PaidLimits::default(),
            via: None,
            previews: PreviewPolicy::off(),
        }
    }
}

pub fn catalog() -> Arc<artforge_domain::Catalog> {
    Arc::new(
        artforge_domain::Catalog::from_json(generate::config::SHIPPED_CATALOG).expect("catalogue"),
    )
}

impl Stack {
    pub async fn new() -> Self {
        Self::with(Options::default()).await
    }

    pub async fn with(options: Options) -> Self {
        let store = artforge_testkit::fresh_store().await;
        let files = artforge_testkit::fresh_files().await;
        let (sqs, queues) = artforge_testkit::fresh_queues().await;
        let (openai_base, openai) = artforge_devstack::openai::serve_openai_stand_in()
            .await
            .expect("stand-in");
        // The function's own clients go through `via` when given; the test's go direct.
        let aws = options
            .via
            .clone()
            .unwrap_or_else(artforge_testkit::sdk_config);
        let config = Config {
            table_name: store.table().to_owned(),
            queue_url: queues.queue_url.clone(),
            bucket: bucket(&files),
            session: artforge_testkit::session_config(),
            public_base_url: "https://artforge.example".to_owned(),
            catalog: catalog(),
            limits: options.limits,
            paid: options.paid,
        };
        let router = Api::build(config, &aws).router();
        let worker = Arc::new(Self::worker_over(
            &aws,
            &store,
            &files,
            &openai_base,
            &queues,
            &options,
        ));
        let jobs = EventSource::new(sqs.clone(), &queues.queue_url)
            .await
            .expect("queue");
        Self {
            router,
            store,
            files,
            sqs,
            queues,
            openai,
            openai_base,
            worker,
            jobs,
        }
    }

    /// A worker over the stack's table and bucket reached through `aws`, calling the stand-in.
    pub fn worker_over(
        aws: &artforge_aws::SdkConfig,
        store: &DynamoStore,
        files: &S3Files,
        openai_base: &str,
        queues: &Provisioned,
        options: &Options,
    ) -> TestWorker {
        let mut provider = ProviderConfig::new("sk-test".to_owned().into());
        provider.api_base = openai_base.to_owned();
        provider.deadline = options.deadline;
        let config = WorkerConfig {
            table_name: store.table().to_owned(),
            bucket: bucket(files),
            dead_letter_queue_arn: Some(queues.dead_letter_queue_arn.clone()),
            lease: options.lease,
            catalog: catalog(),
            provider,
            pipeline: PipelineConfig::default(),
            previews: options.previews,
        };
        Worker::build(config, aws)
    }

    pub async fn user(&self) -> (UserId, String) {
        artforge_testkit::signed_in_user(&self.store).await
    }

    /// A user with exactly `credits`.
    pub async fn user_with(&self, credits: u64) -> (UserId, String) {
        let (user, token) = self.user().await;
        let movement = if credits >= 3 {
            Movement::Purchase(Credits::new(credits - 3))
        } else {
            Movement::Debit(Credits::new(3 - credits))
        };
        let cause = CreditCause::Purchase {
            checkout_session: format!("cs_test_{user}"),
            step: 1,
            reason: artforge_domain::Change::Paid,
        };
        self.store
            .apply(user, &cause, movement)
            .await
            .expect("credits");
        (user, token)
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        json: Option<&str>,
    ) -> Answer {
        artforge_testkit::http::send(
            &self.router,
            artforge_testkit::http::request(method, path, token, json),
        )
        .await
    }

    pub async fn submit(&self, token: &str, body: &Value) -> Answer {
        self.send("POST", "/generations", Some(token), Some(&body.to_string()))
            .await
    }

    pub async fn submit_with_key(&self, token: &str, key: &str, body: &Value) -> Answer {
        let mut request = artforge_testkit::http::request(
            "POST",
            "/generations",
            Some(token),
            Some(&body.to_string()),
        );
        request
            .headers_mut()
            .insert("idempotency-key", key.parse().expect("header"));
        artforge_testkit::http::send(&self.router, request).await
    }

    pub async fn job(&self, token: &str, id: &str) -> Answer {
        self.send("GET", &format!("/generations/{id}"), Some(token), None)
            .await
    }

    /// Delivers what the job queue holds to the worker until it is empty; how many messages.
    pub async fn work(&self) -> usize {
        let worker = self.worker.clone();
        let handler = move |event| {
            let worker = worker.clone();
            async move { worker.handle(event).await }
        };
        let mut total = 0;
        loop {
            let n = self
                .jobs
                .poll_once(Duration::ZERO, &handler)
                .await
                .expect("polling");
            if n == 0 {
                return total;
            }
            total += n;
        }
    }

    /// Takes the next message off the job queue without handling it (as a second delivery
    /// would see it).
    pub async fn take_message(&self) -> aws_lambda_events::event::sqs::SqsMessage {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queues.queue_url)
            .max_number_of_messages(1)
            .send()
            .await
            .expect("receive");
        let message = out
            .messages
            .unwrap_or_default()
            .into_iter()
            .next()
            .expect("a queued job");
        let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
        record.message_id = message.message_id;
        record.receipt_handle = message.receipt_handle;
        record.body = message.body;
        record.event_source_arn = Some(self.jobs.queue_arn().to_owned());
        record
    }

    /// The same message as the dead-letter queue would deliver it.
    pub fn as_dead_letter(
        &self,
        mut record: aws_lambda_events::event::sqs::SqsMessage,
    ) -> aws_lambda_events::event::sqs::SqsMessage {
        record.event_source_arn = Some(self.queues.dead_letter_queue_arn.clone());
        record
    }

    pub async fn deliver(&self, record: &aws_lambda_events::event::sqs::SqsMessage) -> Delivery {
        self.worker.handle_message(record).await
    }

    /// The balance and the sum of the ledger's deltas, and the ledger's reasons, oldest first.
    pub async fn books(&self, user: UserId) -> (u64, i64, Vec<String>) {
        let mut entries = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .history(user, PageRequest { limit: 100, after })
                .await
                .expect("ledger");
            entries.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let balance = entries.first().map_or(0, |e| e.balance_after.get());
        let sum = entries.iter().map(|e| e.delta).sum();
        let reasons = entries.iter().rev().map(|e| e.reason.clone()).collect();
        (balance, sum, reasons)
    }

    /// The object keys under `images/<user>/`.
    pub async fn objects(&self, user: UserId) -> Vec<String> {
        let out = self
            .files
            .client()
            .list_objects_v2()
            .bucket(self.files.bucket())
            .prefix(format!("images/{user}/"))
            .send()
            .await
            .expect("list");
        let mut keys: Vec<String> = out
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect();
        keys.sort();
        keys
    }

    /// The object keys under `previews/<user>/`.
    pub async fn previews(&self, user: UserId) -> Vec<String> {
        let out = self
            .files
            .client()
            .list_objects_v2()
            .bucket(self.files.bucket())
            .prefix(format!("previews/{user}/"))
            .send()
            .await
            .expect("list");
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }

    /// One stored file and its content type.
    pub async fn object(&self, key: &str) -> (Vec<u8>, String) {
        let out = self
            .files
            .client()
            .get_object()
            .bucket(self.files.bucket())
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {e:?}"));
        let content_type = out.content_type().unwrap_or_default().to_owned();
        let bytes = out
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .to_vec();
        (bytes, content_type)
    }
}

/// A v2 request body.
pub fn body(prompt: &str, preset: &str, count: u64) -> Value {
    serde_json::json!({"prompt": prompt, "model": "v2", "preset": preset, "count": count})
}

/// A prompt no other test uses, with stand-in directives.
pub fn prompt(words: &str) -> String {
    format!("{words} {}", ulid::Ulid::generate())
}

pub fn job_id(answer: &Answer) -> String {
    answer.json["job"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no job in {}", answer.text))
        .to_owned()
}

/// Every key an image's three files have, for a preset and the default JPEG renditions.
pub fn keys_of(user: UserId, image: &str, preset: artforge_domain::Preset) -> Vec<String> {
    let id = image.parse().expect("image id");
    let mut keys = vec![
        object_key(user, id, preset, Variant::Original, ImageFormat::Png),
        object_key(user, id, preset, Variant::Preset, ImageFormat::Jpeg),
        object_key(user, id, preset, Variant::Thumbnail, ImageFormat::Jpeg),
    ];
    keys.sort();
    keys
}

pub fn job_of(id: &str) -> JobId {
    id.parse().expect("job id")
}

/// The test bucket as the functions are configured for it.
pub fn bucket(files: &S3Files) -> BucketConfig {
    BucketConfig {
        bucket_name: files.bucket().to_owned(),
        force_path_style: true,
        presign_ttl: Duration::from_secs(300),
    }
}
