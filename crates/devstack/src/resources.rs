//! The deployed resources, created locally: the table (shape from `artforge_dynamo::schema`),
//! the private image bucket with its lifecycle rules, and the generation queue with its
//! dead-letter queue.

use artforge_aws::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;

/// A queue's settings as `template.yaml` deploys them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueShape {
    pub visibility_timeout_secs: u32,
    pub retention_secs: u32,
    /// Deliveries before a message moves to the dead-letter queue (`None`: no DLQ).
    pub max_receive_count: Option<u32>,
}

/// The generation worker's queue: visibility six times the worker's 150 s timeout, three
/// deliveries, then the dead-letter queue.
pub const GENERATION_QUEUE: QueueShape = QueueShape {
    visibility_timeout_secs: 900,
    retention_secs: 345_600,
    max_receive_count: Some(3),
};

/// Where dead generation messages wait for the handler that fails and refunds their jobs.
pub const GENERATION_DLQ: QueueShape = QueueShape {
    visibility_timeout_secs: 900,
    retention_secs: 1_209_600,
    max_receive_count: None,
};

/// The account worker's queue (ZIP archives to build, closed accounts to erase again):
/// visibility six times the worker's 300 s timeout, five deliveries, then its dead-letter
/// queue (kept 14 days: a dead erasure is finished by hand, docs/operations.md).
pub const ACCOUNT_QUEUE: QueueShape = QueueShape {
    visibility_timeout_secs: 1_800,
    retention_secs: 345_600,
    max_receive_count: Some(5),
};

/// Where account tasks that kept failing wait for an operator.
pub const ACCOUNT_DLQ: QueueShape = QueueShape {
    visibility_timeout_secs: 1_800,
    retention_secs: 1_209_600,
    max_receive_count: None,
};

/// One lifecycle rule of the image bucket as `template.yaml` deploys it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleRule {
    /// Objects under the prefix are deleted this many days after they were written.
    Expire {
        id: &'static str,
        prefix: &'static str,
        days: i32,
    },
    /// Multipart uploads not completed this many days after they began are aborted (their
    /// parts deleted), anywhere in the bucket.
    AbortIncompleteMultipartUploads { id: &'static str, days: i32 },
}

/// The image bucket's lifecycle: short-lived files (uploads for editing, previews, archives
/// of a user's data) go after a day, and so do the parts of uploads never completed. Images
/// (`images/`) are kept until their owner deletes them.
pub const IMAGE_LIFECYCLE: &[LifecycleRule] = &[
    LifecycleRule::Expire {
        id: "ExpireUploads",
        prefix: "uploads/",
        days: 1,
    },
    LifecycleRule::Expire {
        id: "ExpirePreviews",
        prefix: "previews/",
        days: 1,
    },
    LifecycleRule::Expire {
        id: "ExpireArchives",
        prefix: "archives/",
        days: 1,
    },
    LifecycleRule::AbortIncompleteMultipartUploads {
        id: "AbortIncompleteMultipartUploads",
        days: 1,
    },
];

/// The image bucket's CORS rule as `template.yaml` deploys it: browsers `PUT` uploads to
/// presigned URLs (with the signed `Content-Type`) and read presigned images (`GET`, e.g. to
/// paint a mask over one). Deployed, the origins are the `CorsAllowedOrigins` parameter;
/// locally any origin (the bucket is on loopback only), see [`IMAGE_CORS_LOCAL_ORIGINS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorsRule {
    pub id: &'static str,
    pub methods: &'static [&'static str],
    pub headers: &'static [&'static str],
    pub max_age_secs: i32,
}

pub const IMAGE_CORS: CorsRule = CorsRule {
    id: "BrowserUploadsAndReads",
    methods: &["GET", "PUT"],
    headers: &["content-type"],
    max_age_secs: 3000,
};

/// The origins the local bucket lets browsers in from.
pub const IMAGE_CORS_LOCAL_ORIGINS: &[&str] = &["*"];

/// [`IMAGE_CORS`] as S3 takes it, for `origins`.
fn cors_configuration(
    origins: &[&str],
) -> Result<aws_sdk_s3::types::CorsConfiguration, aws_sdk_s3::error::BuildError> {
    use aws_sdk_s3::types::{CorsConfiguration, CorsRule as Rule};
    let rule = Rule::builder()
        .id(IMAGE_CORS.id)
        .set_allowed_origins(Some(origins.iter().map(|o| (*o).to_owned()).collect()))
        .set_allowed_methods(Some(
            IMAGE_CORS.methods.iter().map(|m| (*m).to_owned()).collect(),
        ))
        .set_allowed_headers(Some(
            IMAGE_CORS.headers.iter().map(|h| (*h).to_owned()).collect(),
        ))
        .max_age_seconds(IMAGE_CORS.max_age_secs)
        .build()?;
    CorsConfiguration::builder().cors_rules(rule).build()
}

/// [`IMAGE_LIFECYCLE`] as S3 takes it.
fn lifecycle_configuration()
-> Result<aws_sdk_s3::types::BucketLifecycleConfiguration, aws_sdk_s3::error::BuildError> {
    use aws_sdk_s3::types::{
        AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
        LifecycleExpiration, LifecycleRule as Rule, LifecycleRuleFilter,
    };
    let mut rules = Vec::new();
    for rule in IMAGE_LIFECYCLE {
        let built = match *rule {
            LifecycleRule::Expire { id, prefix, days } => Rule::builder()
                .id(id)
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
                .expiration(LifecycleExpiration::builder().days(days).build()),
            LifecycleRule::AbortIncompleteMultipartUploads { id, days } => Rule::builder()
                .id(id)
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix("").build())
                .abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(days)
                        .build(),
                ),
        };
        rules.push(built.build()?);
    }
    BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
}

/// Names of the local resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub table: String,
    pub bucket: String,
    pub queue: String,
    pub dead_letter_queue: String,
    pub account_queue: String,
    pub account_dead_letter_queue: String,
}

impl Names {
    /// Every name with the same prefix, e.g. `artforge-local`.
    pub fn prefixed(prefix: &str) -> Self {
        Self {
            table: format!("{prefix}-table"),
            bucket: format!("{prefix}-images"),
            queue: format!("{prefix}-generation"),
            dead_letter_queue: format!("{prefix}-generation-dlq"),
            account_queue: format!("{prefix}-account"),
            account_dead_letter_queue: format!("{prefix}-account-dlq"),
        }
    }
}

/// What the functions need to find the created resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    pub names: Names,
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    pub dead_letter_queue_arn: String,
    /// The account queue (`ACCOUNT_QUEUE_URL`) and its dead-letter queue.
    pub account_queue_url: String,
    pub account_dead_letter_queue_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("creating the table failed")]
    Table(#[from] artforge_dynamo::schema::CreateError),
    #[error("creating the {0} failed")]
    Other(
        &'static str,
        #[source] Box<dyn std::error::Error + Send + Sync>,
    ),
}

fn other<E: std::error::Error + Send + Sync + 'static>(
    what: &'static str,
) -> impl FnOnce(E) -> ProvisionError {
    move |e| ProvisionError::Other(what, Box::new(e))
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    shape: QueueShape,
    dead_letter_arn: Option<&str>,
) -> Result<String, ProvisionError> {
    let mut request = sqs
        .create_queue()
        .queue_name(name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            shape.visibility_timeout_secs.to_string(),
        )
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            shape.retention_secs.to_string(),
        );
    if let (Some(arn), Some(count)) = (dead_letter_arn, shape.max_receive_count) {
        request = request.attributes(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":{count}}}"#),
        );
    }
    let out = request.send().await.map_err(other("queue"))?;
    Ok(out.queue_url().unwrap_or_default().to_owned())
}

/// Creates the table, bucket and queues named by `names`.
pub async fn provision(config: &SdkConfig, names: Names) -> Result<Provisioned, ProvisionError> {
    let dynamo = aws_sdk_dynamodb::Client::new(config);
    artforge_dynamo::schema::create_table(&dynamo, &names.table).await?;

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(&names.bucket)
        .send()
        .await
        .map_err(other("bucket"))?;
    s3.put_bucket_lifecycle_configuration()
        .bucket(&names.bucket)
        .lifecycle_configuration(lifecycle_configuration().map_err(other("bucket's lifecycle"))?)
        .send()
        .await
        .map_err(other("bucket's lifecycle"))?;
    s3.put_bucket_cors()
        .bucket(&names.bucket)
        .cors_configuration(
            cors_configuration(IMAGE_CORS_LOCAL_ORIGINS).map_err(other("bucket's CORS"))?,
        )
        .send()
        .await
        .map_err(other("bucket's CORS"))?;

    let sqs = aws_sdk_sqs::Client::new(config);
    provision_queues(&sqs, names).await
}

/// Creates the generation queue, the account queue and their dead-letter queues named by
/// `names` (the table and bucket are left alone).
pub async fn provision_queues(
    sqs: &aws_sdk_sqs::Client,
    names: Names,
) -> Result<Provisioned, ProvisionError> {
    let dead_letter_queue_url =
        create_queue(sqs, &names.dead_letter_queue, GENERATION_DLQ, None).await?;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dead_letter_queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(other("dead-letter queue"))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let queue_url = create_queue(sqs, &names.queue, GENERATION_QUEUE, Some(&dlq_arn)).await?;
    let account_dead_letter_queue_url =
        create_queue(sqs, &names.account_dead_letter_queue, ACCOUNT_DLQ, None).await?;
    let account_dlq_arn = queue_arn(sqs, &account_dead_letter_queue_url).await?;
    let account_queue_url = create_queue(
        sqs,
        &names.account_queue,
        ACCOUNT_QUEUE,
        Some(&account_dlq_arn),
    )
    .await?;
    Ok(Provisioned {
        names,
        queue_url,
        dead_letter_queue_url,
        dead_letter_queue_arn: dlq_arn,
        account_queue_url,
        account_dead_letter_queue_url,
    })
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String, ProvisionError> {
    Ok(sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(other("dead-letter queue"))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default())
}
