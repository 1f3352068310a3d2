//! The local stack and the tests create resources from Rust definitions; `template.yaml` deploys
//! them. These tests hold the two equal, so what is tested is what is deployed.

use artforge_devstack::resources::{
    ACCOUNT_DLQ, ACCOUNT_QUEUE, GENERATION_DLQ, GENERATION_QUEUE, IMAGE_CORS, IMAGE_LIFECYCLE,
    LifecycleRule, QueueShape,
};
use artforge_dynamo::schema::{KeyAttribute, TABLE};
use serde_norway::Value;

fn template() -> Value {
    let path = artforge_devstack::workspace_root().join("template.yaml");
    let text = std::fs::read_to_string(&path).expect("template.yaml");
    serde_norway::from_str(&text).expect("valid YAML")
}

fn resource<'a>(template: &'a Value, name: &str) -> &'a Value {
    let resource = &template["Resources"][name];
    assert!(!resource.is_null(), "template.yaml has no resource {name}");
    &resource["Properties"]
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn key_schema(schema: &Value) -> Vec<(String, String)> {
    schema
        .as_sequence()
        .expect("a key schema")
        .iter()
        .map(|k| (text(&k["AttributeName"]), text(&k["KeyType"])))
        .collect()
}

fn keys(partition: KeyAttribute, sort: KeyAttribute) -> Vec<(String, String)> {
    vec![
        (partition.name.into(), "HASH".into()),
        (sort.name.into(), "RANGE".into()),
    ]
}

#[test]
fn the_deployed_table_has_the_shape_the_code_creates() {
    let template = template();
    let table = resource(&template, "Table");
    assert_eq!(text(&table["BillingMode"]), TABLE.billing_mode);
    assert_eq!(
        key_schema(&table["KeySchema"]),
        keys(TABLE.partition, TABLE.sort)
    );

    let mut declared: Vec<(String, String)> = table["AttributeDefinitions"]
        .as_sequence()
        .expect("attributes")
        .iter()
        .map(|a| (text(&a["AttributeName"]), text(&a["AttributeType"])))
        .collect();
    let mut expected: Vec<(String, String)> = [TABLE.partition, TABLE.sort]
        .into_iter()
        .chain(TABLE.indexes.iter().flat_map(|i| [i.partition, i.sort]))
        .map(|a| (a.name.to_owned(), a.kind.to_owned()))
        .collect();
    declared.sort();
    expected.sort();
    assert_eq!(declared, expected);

    let indexes = table["GlobalSecondaryIndexes"]
        .as_sequence()
        .expect("indexes");
    assert_eq!(indexes.len(), TABLE.indexes.len());
    for shape in TABLE.indexes {
        let index = indexes
            .iter()
            .find(|i| text(&i["IndexName"]) == shape.name)
            .unwrap_or_else(|| panic!("template.yaml lacks index {}", shape.name));
        assert_eq!(
            key_schema(&index["KeySchema"]),
            keys(shape.partition, shape.sort)
        );
        assert_eq!(
            text(&index["Projection"]["ProjectionType"]),
            shape.projection
        );
    }

    assert_eq!(
        text(&table["TimeToLiveSpecification"]["AttributeName"]),
        TABLE.ttl_attribute
    );
    assert_eq!(text(&table["TimeToLiveSpecification"]["Enabled"]), "true");
    assert_eq!(
        text(&table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]),
        "true"
    );
    assert_eq!(text(&table["SSESpecification"]["SSEEnabled"]), "true");
}

fn assert_queue(template: &Value, name: &str, shape: QueueShape) {
    let queue = resource(template, name);
    assert_eq!(
        text(&queue["VisibilityTimeout"]),
        shape.visibility_timeout_secs.to_string(),
        "{name}"
    );
    assert_eq!(
        text(&queue["MessageRetentionPeriod"]),
        shape.retention_secs.to_string(),
        "{name}"
    );
    match shape.max_receive_count {
        Some(count) => assert_eq!(
            text(&queue["RedrivePolicy"]["maxReceiveCount"]),
            count.to_string(),
            "{name}"
        ),
        None => assert!(
            queue["RedrivePolicy"].is_null(),
            "{name} has no dead-letter queue"
        ),
    }
}

#[test]
fn the_deployed_queues_have_the_settings_the_local_stack_uses() {
    let template = template();
    assert_queue(&template, "GenerationQueue", GENERATION_QUEUE);
    assert_queue(&template, "GenerationDeadLetterQueue", GENERATION_DLQ);
    assert_queue(&template, "AccountQueue", ACCOUNT_QUEUE);
    assert_queue(&template, "AccountDeadLetterQueue", ACCOUNT_DLQ);
    let worker = resource(&template, "AccountWorkerFunction");
    let timeout: u32 = text(&worker["Timeout"]).parse().expect("timeout");
    assert!(
        ACCOUNT_QUEUE.visibility_timeout_secs >= 6 * timeout,
        "the account queue's visibility is at least six times its worker's timeout"
    );
}

#[test]
fn the_image_bucket_is_private_and_encrypted() {
    let template = template();
    let bucket = resource(&template, "ImagesBucket");
    let block = &bucket["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(text(&block[setting]), "true", "{setting}");
    }
    let encryption = &bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
    assert!(!encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"].is_null());
}

#[test]
fn every_function_is_built_the_current_way() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(text(&globals["Runtime"]), "provided.al2023");
    assert_eq!(text(&globals["Architectures"][0]), "arm64");
    assert_eq!(text(&globals["Tracing"]), "Active");
    let resources = template["Resources"].as_mapping().expect("resources");
    let functions: Vec<_> = resources
        .iter()
        .filter(|(_, r)| text(&r["Type"]) == "AWS::Serverless::Function")
        .collect();
    assert!(!functions.is_empty());
    for (name, function) in functions {
        let name = text(name);
        assert_eq!(
            text(&function["Metadata"]["BuildMethod"]),
            "rust-cargolambda",
            "{name}"
        );
        assert_eq!(text(&function["Properties"]["CodeUri"]), ".", "{name}");
        let binary = text(&function["Metadata"]["BuildProperties"]["Binary"]);
        let declared = std::fs::read_dir(artforge_devstack::workspace_root().join("functions"))
            .expect("functions/")
            .filter_map(Result::ok)
            .filter_map(|dir| std::fs::read_to_string(dir.path().join("Cargo.toml")).ok())
            .any(|manifest| manifest.contains(&format!("name = \"{binary}\"")));
        assert!(
            declared,
            "{name} builds binary {binary}, which no function package declares"
        );
        let log_group = resources.iter().any(|(_, r)| {
            text(&r["Type"]) == "AWS::Logs::LogGroup"
                && format!("{:?}", r["Properties"]["LogGroupName"]).contains(&name)
        });
        assert!(log_group, "{name} has a log group with retention");
    }
}

#[test]
fn the_worker_takes_one_job_at_a_time_and_its_lease_fits_the_queue() {
    let template = template();
    let worker = resource(&template, "GenerateWorkerFunction");
    let timeout: u32 = text(&worker["Timeout"]).parse().expect("timeout");
    assert_eq!(
        text(&worker["Environment"]["Variables"]["JOB_LEASE_SECONDS"]),
        timeout.to_string(),
        "a claimed job is the worker's for exactly as long as it may run"
    );
    assert!(
        GENERATION_QUEUE.visibility_timeout_secs >= 6 * timeout,
        "visibility {} is at least six times the worker's {timeout} s",
        GENERATION_QUEUE.visibility_timeout_secs
    );
    let deadline: u32 = text(&worker["Environment"]["Variables"]["GENERATION_DEADLINE_SECONDS"])
        .parse()
        .expect("deadline");
    assert!(
        deadline < timeout,
        "the provider deadline leaves time to finish"
    );
    for (event, queue) in [
        ("Jobs", "GenerationQueue"),
        ("DeadJobs", "GenerationDeadLetterQueue"),
    ] {
        let source = &worker["Events"][event]["Properties"];
        assert_eq!(text(&source["BatchSize"]), "1", "{event}");
        assert_eq!(
            text(&source["FunctionResponseTypes"][0]),
            "ReportBatchItemFailures",
            "{event}"
        );
        assert!(
            format!("{:?}", source["Queue"]).contains(queue),
            "{event} reads {queue}"
        );
        assert!(
            !source["ScalingConfig"]["MaximumConcurrency"].is_null(),
            "{event} has bounded concurrency"
        );
    }
}

#[test]
fn every_alarm_notifies_the_alarm_topic_and_the_operational_signals_are_covered() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("resources");
    let alarms: Vec<(String, &Value)> = resources
        .iter()
        .filter(|(_, r)| text(&r["Type"]) == "AWS::CloudWatch::Alarm")
        .map(|(name, r)| (text(name), &r["Properties"]))
        .collect();
    for (name, alarm) in &alarms {
        for actions in ["AlarmActions", "OKActions"] {
            assert!(
                format!("{:?}", alarm[actions]).contains("AlarmTopicArn"),
                "{name} sends {actions} to the alarm topic"
            );
        }
    }
    let watched = format!("{alarms:?}");
    for signal in [
        "5xx",
        "Throttles",
        "GenerationDeadLetterQueue",
        "Errors",
        "ApproximateAgeOfOldestMessage",
        "SweptJobs",
        "ProviderErrors",
        "ProviderLatency",
    ] {
        assert!(watched.contains(signal), "an alarm watches {signal}");
    }
    let globals = &template["Globals"]["Function"];
    assert_eq!(text(&globals["LoggingConfig"]["LogFormat"]), "JSON");
}

#[test]
fn generation_is_bounded_per_user_and_in_spend_and_the_api_is_throttled() {
    let template = template();
    let variables = &resource(&template, "GenerateFunction")["Environment"]["Variables"];
    for (variable, parameter) in [
        ("DAILY_IMAGE_QUOTA", "DailyImageQuota"),
        ("DAILY_SPEND_CAP_USD", "DailySpendCapUsd"),
    ] {
        assert!(
            format!("{:?}", variables[variable]).contains(parameter),
            "{variable} comes from {parameter}"
        );
        assert!(
            !template["Parameters"][parameter]["Default"].is_null(),
            "{parameter} has a default, so a deployment is never unlimited"
        );
    }
    let api = resource(&template, "HttpApi");
    for limit in ["ThrottlingBurstLimit", "ThrottlingRateLimit"] {
        assert!(!api["DefaultRouteSettings"][limit].is_null(), "{limit}");
        assert!(
            !api["RouteSettings"]["POST /generations"][limit].is_null(),
            "POST /generations has its own {limit}"
        );
    }
}

#[test]
fn every_function_that_limits_clients_is_given_its_limits_at_the_documented_defaults() {
    let template = template();
    for (function, variable, parameter, default) in [
        (
            "AuthFunction",
            "SIGNUPS_PER_ADDRESS_PER_HOUR",
            "SignupsPerAddressPerHour",
            "10",
        ),
        (
            "AuthFunction",
            "LOGINS_PER_ADDRESS_PER_MINUTE",
            "LoginsPerAddressPerMinute",
            "30",
        ),
        (
            "AuthFunction",
            "PASSWORD_CHECKS_PER_USER_PER_HOUR",
            "PasswordChecksPerUserPerHour",
            "10",
        ),
        (
            "GenerateFunction",
            "PAID_REQUESTS_PER_ADDRESS_PER_MINUTE",
            "PaidRequestsPerAddressPerMinute",
            "60",
        ),
        (
            "GenerateFunction",
            "PAID_REQUESTS_PER_USER_PER_MINUTE",
            "PaidRequestsPerUserPerMinute",
            "30",
        ),
        (
            "GalleryFunction",
            "PAID_REQUESTS_PER_ADDRESS_PER_MINUTE",
            "PaidRequestsPerAddressPerMinute",
            "60",
        ),
        (
            "GalleryFunction",
            "PAID_REQUESTS_PER_USER_PER_MINUTE",
            "PaidRequestsPerUserPerMinute",
            "30",
        ),
        (
            "BillingFunction",
            "PAID_REQUESTS_PER_ADDRESS_PER_MINUTE",
            "PaidRequestsPerAddressPerMinute",
            "60",
        ),
        (
            "BillingFunction",
            "PAID_REQUESTS_PER_USER_PER_MINUTE",
            "PaidRequestsPerUserPerMinute",
            "30",
        ),
    ] {
        let variables = &resource(&template, function)["Environment"]["Variables"];
        assert!(
            format!("{:?}", variables[variable]).contains(parameter),
            "{function}'s {variable} comes from {parameter}"
        );
        assert_eq!(
            text(&template["Parameters"][parameter]["Default"]),
            default,
            "{parameter}'s default (DESIGN §9)"
        );
    }
}

#[test]
fn the_sweeper_runs_every_five_minutes_after_the_queue_would_redeliver_with_only_what_it_uses() {
    let template = template();
    let sweeper = resource(&template, "GenerateSweeperFunction");
    let schedule = &sweeper["Events"]["Every5Minutes"];
    assert_eq!(text(&schedule["Type"]), "ScheduleV2");
    assert_eq!(
        text(&schedule["Properties"]["ScheduleExpression"]),
        "rate(5 minutes)"
    );
    let variables = &sweeper["Environment"]["Variables"];
    let after: u32 = text(&variables["SWEEP_AFTER_SECONDS"])
        .parse()
        .expect("seconds");
    assert!(
        after > GENERATION_QUEUE.visibility_timeout_secs,
        "a crashed worker's message comes back before the sweeper gives up on its job"
    );
    let worker = resource(&template, "GenerateWorkerFunction");
    assert_eq!(
        variables["IMAGE_FORMAT"], worker["Environment"]["Variables"]["IMAGE_FORMAT"],
        "the sweeper removes files where the worker writes them"
    );
    let mut actions: Vec<String> = sweeper["Policies"][0]["Statement"]
        .as_sequence()
        .expect("statements")
        .iter()
        .flat_map(|statement| match &statement["Action"] {
            Value::Sequence(list) => list.iter().map(text).collect(),
            one => vec![text(one)],
        })
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "dynamodb:ConditionCheckItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            // Image files and previews (two statements, one prefix each).
            "s3:DeleteObject",
            "s3:DeleteObject",
            // The provider's key, for the model-lifecycle check's GET /v1/models.
            "secretsmanager:GetSecretValue",
            "sqs:SendMessage",
        ]
    );
    let policy = format!("{:?}", sweeper["Policies"]);
    assert!(policy.contains("/index/gsi1"), "queries the index only");
    assert!(
        policy.contains("/images/*") && policy.contains("/previews/*"),
        "deletes image files and previews only"
    );
}

#[test]
fn the_image_bucket_expires_short_lived_files_as_the_local_stack_does() {
    let template = template();
    let rules = resource(&template, "ImagesBucket")["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .expect("lifecycle rules");
    assert_eq!(rules.len(), IMAGE_LIFECYCLE.len());
    for expected in IMAGE_LIFECYCLE {
        let id = match *expected {
            LifecycleRule::Expire { id, .. }
            | LifecycleRule::AbortIncompleteMultipartUploads { id, .. } => id,
        };
        let rule = rules
            .iter()
            .find(|r| text(&r["Id"]) == id)
            .unwrap_or_else(|| panic!("template.yaml lacks lifecycle rule {id}"));
        assert_eq!(text(&rule["Status"]), "Enabled", "{id}");
        match *expected {
            LifecycleRule::Expire { prefix, days, .. } => {
                assert_eq!(text(&rule["Prefix"]), prefix, "{id}");
                assert_eq!(text(&rule["ExpirationInDays"]), days.to_string(), "{id}");
            }
            LifecycleRule::AbortIncompleteMultipartUploads { days, .. } => {
                assert!(rule["Prefix"].is_null(), "{id} applies to the whole bucket");
                assert_eq!(
                    text(&rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]),
                    days.to_string(),
                    "{id}"
                );
            }
        }
    }
    assert!(
        !IMAGE_LIFECYCLE.iter().any(
            |r| matches!(r, LifecycleRule::Expire { prefix, .. } if "images/".starts_with(prefix))
        ),
        "images are kept until their owner deletes them"
    );
}

#[test]
fn the_image_bucket_lets_the_web_client_upload_and_read_as_the_local_stack_does() {
    let template = template();
    let rules = resource(&template, "ImagesBucket")["CorsConfiguration"]["CorsRules"]
        .as_sequence()
        .expect("CORS rules");
    let [rule] = rules.as_slice() else {
        panic!("one CORS rule: {rules:?}");
    };
    assert_eq!(text(&rule["Id"]), IMAGE_CORS.id);
    let listed = |name: &str| -> Vec<String> {
        rule[name]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}"))
            .iter()
            .map(text)
            .collect()
    };
    assert_eq!(listed("AllowedMethods"), IMAGE_CORS.methods);
    assert_eq!(listed("AllowedHeaders"), IMAGE_CORS.headers);
    assert_eq!(text(&rule["MaxAge"]), IMAGE_CORS.max_age_secs.to_string());
    assert_eq!(
        format!("{:?}", rule["AllowedOrigins"]),
        format!(
            "{:?}",
            template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]["AllowOrigins"]
        ),
        "the origins the API allows"
    );
}

/// What each function may do (docs/operations.md, "Permissions"): the DynamoDB actions on the
/// table, the partition-key prefixes they are limited to, whether it may query `gsi1`, the S3
/// actions on `images/*`, whether it sends to the queue, and which secrets it reads.
struct Grant {
    function: &'static str,
    table_actions: &'static [&'static str],
    partitions: &'static [&'static str],
    index: bool,
    files: &'static [&'static str],
    /// S3 actions elsewhere in the bucket: (folder, actions on `<folder>/*`).
    folders: &'static [(&'static str, &'static [&'static str])],
    /// The key prefixes it may list (`s3:ListBucket` on the bucket, `s3:prefix` condition).
    lists: &'static [&'static str],
    sends_jobs: bool,
    /// Whether it sends to the account queue.
    sends_tasks: bool,
    secrets: &'static [&'static str],
}

const JWT: &str = "JwtSigningSecret";
const STRIPE: &str = "StripeSecretName";
const OPENAI: &str = "OpenAiSecretName";

/// What an erasure lists and deletes: every folder of a user's files (`user_prefixes`).
const USER_PREFIXES: &[&str] = &["images/*", "uploads/*", "previews/*", "archives/*"];
const ERASED_FOLDERS: &[(&str, &[&str])] = &[
    ("uploads", &["DeleteObject"]),
    ("previews", &["DeleteObject"]),
    ("archives", &["DeleteObject"]),
];

const GRANTS: &[Grant] = &[
    Grant {
        function: "AuthFunction",
        table_actions: &[
            "GetItem",
            "BatchGetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "BatchWriteItem",
            "Query",
        ],
        partitions: &["USER#*", "EMAIL#*", "LOGIN#*", "RATE#*"],
        // The export lists the images liked (LIKES#<user>).
        index: true,
        files: &["GetObject", "DeleteObject"],
        sends_jobs: false,
        folders: ERASED_FOLDERS,
        lists: USER_PREFIXES,
        sends_tasks: true,
        secrets: &[JWT],
    },
    Grant {
        function: "GalleryFunction",
        table_actions: &[
            "GetItem",
            "BatchGetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "BatchWriteItem",
            "Query",
        ],
        // RATE#: archives are paid requests (ADR 0152).
        partitions: &["USER#*", "RATE#*"],
        index: true,
        files: &["GetObject", "DeleteObject"],
        sends_jobs: false,
        folders: &[("archives", &["GetObject"])],
        lists: &[],
        sends_tasks: true,
        secrets: &[JWT],
    },
    Grant {
        function: "AccountWorkerFunction",
        table_actions: &[
            "GetItem",
            "BatchGetItem",
            "UpdateItem",
            "DeleteItem",
            "BatchWriteItem",
            "Query",
        ],
        partitions: &["USER#*"],
        index: false,
        files: &["GetObject", "DeleteObject"],
        sends_jobs: false,
        folders: &[
            ("uploads", &["DeleteObject"]),
            ("previews", &["DeleteObject"]),
            (
                "archives",
                &["PutObject", "AbortMultipartUpload", "DeleteObject"],
            ),
        ],
        lists: USER_PREFIXES,
        sends_tasks: false,
        secrets: &[],
    },
    Grant {
        function: "GenerateFunction",
        table_actions: &["GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query"],
        partitions: &["USER#*", "SPEND", "RATE#*", "MODEL#*"],
        index: false,
        files: &["GetObject"],
        sends_jobs: true,
        folders: &[
            ("uploads", &["PutObject", "GetObject"]),
            ("previews", &["GetObject"]),
        ],
        lists: &["*"],
        sends_tasks: false,
        secrets: &[JWT],
    },
    Grant {
        function: "GenerateWorkerFunction",
        table_actions: &["GetItem", "PutItem", "UpdateItem"],
        partitions: &["USER#*"],
        index: false,
        files: &["PutObject", "DeleteObject", "GetObject"],
        sends_jobs: false,
        folders: &[
            ("uploads", &["GetObject"]),
            ("previews", &["PutObject", "DeleteObject"]),
        ],
        lists: &[],
        sends_tasks: false,
        secrets: &[OPENAI],
    },
    Grant {
        function: "BillingFunction",
        table_actions: &["GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query"],
        partitions: &["USER#*", "PAYMENT#*", "RATE#*"],
        index: false,
        files: &[],
        sends_jobs: false,
        folders: &[],
        lists: &[],
        sends_tasks: false,
        secrets: &[JWT, STRIPE],
    },
    Grant {
        function: "GenerateSweeperFunction",
        table_actions: &["GetItem", "PutItem", "UpdateItem", "ConditionCheckItem"],
        partitions: &["USER#*", "MODEL#*"],
        index: true,
        files: &["DeleteObject"],
        sends_jobs: true,
        folders: &[("previews", &["DeleteObject"])],
        lists: &[],
        sends_tasks: false,
        secrets: &[OPENAI],
    },
];

/// A statement's `Action` or `Resource` as a list of strings (an intrinsic function as its
/// debug text, e.g. `!GetAtt Table.Arn`).
fn listed(value: &Value) -> Vec<String> {
    match value {
        Value::Sequence(items) => items.iter().flat_map(listed).collect(),
        Value::Tagged(tagged) => vec![format!("{} {}", tagged.tag, intrinsic(&tagged.value))],
        other => vec![text(other)],
    }
}

fn intrinsic(value: &Value) -> String {
    match value {
        Value::Sequence(items) => items.iter().map(intrinsic).collect::<Vec<_>>().join(" "),
        other => text(other),
    }
}

fn statements(function: &Value, name: &str) -> Vec<Value> {
    let policies = function["Policies"].as_sequence().expect("Policies");
    let mut all = Vec::new();
    for policy in policies {
        // A policy template (DynamoDBCrudPolicy, S3CrudPolicy, ...) or a managed policy would
        // grant whole tables and buckets: only inline statements.
        assert!(
            policy["Statement"].is_sequence(),
            "{name}: only inline policy statements, not {policy:?}"
        );
        all.extend(
            policy["Statement"]
                .as_sequence()
                .expect("statements")
                .iter()
                .cloned(),
        );
    }
    all
}

#[test]
fn every_function_may_use_only_the_actions_keys_files_and_secrets_it_needs() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("resources");
    let functions: Vec<String> = resources
        .iter()
        .filter(|(_, r)| text(&r["Type"]) == "AWS::Serverless::Function")
        .map(|(name, _)| text(name))
        .collect();
    for grant in GRANTS {
        assert!(
            functions.contains(&grant.function.to_owned()),
            "{}",
            grant.function
        );
    }
    for name in &functions {
        let function = resource(&template, name);
        let Some(grant) = GRANTS.iter().find(|g| g.function == name) else {
            // A function added later (e.g. the sweeper): no wildcard, inline statements only.
            for statement in statements(function, name) {
                assert!(
                    !listed(&statement["Resource"]).iter().any(|r| r == "*"),
                    "{name}"
                );
            }
            continue;
        };
        let (mut table, mut index, mut files, mut queue, mut secrets) =
            (Vec::new(), false, Vec::new(), false, Vec::new());
        let (mut folders, mut lists, mut tasks) =
            (Vec::<(String, String)>::new(), Vec::new(), false);
        for statement in statements(function, name) {
            let sid = text(&statement["Sid"]);
            assert_eq!(text(&statement["Effect"]), "Allow", "{name} {sid}");
            let actions = listed(&statement["Action"]);
            let resources = listed(&statement["Resource"]);
            assert!(
                !resources.iter().any(|r| r == "*" || r.contains("Arn}/*")),
                "{name} {sid}: no wildcard resource: {resources:?}"
            );
            assert!(
                !actions.iter().any(|a| a.ends_with(":*") || a == "*"),
                "{name} {sid}: actions are named: {actions:?}"
            );
            match resources.as_slice() {
                [r] if r == "!GetAtt Table.Arn" => {
                    let condition =
                        &statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
                    assert!(
                        !condition.is_null(),
                        "{name} {sid}: the whole table; name its partitions (dynamodb:LeadingKeys)"
                    );
                    let mut prefixes = listed(condition);
                    let mut expected: Vec<String> =
                        grant.partitions.iter().map(|p| (*p).to_owned()).collect();
                    prefixes.sort();
                    expected.sort();
                    assert_eq!(
                        prefixes, expected,
                        "{name} {sid}: the partitions it may touch"
                    );
                    table.extend(actions);
                }
                [r] if r.contains("${Table.Arn}/index/gsi1") => {
                    assert_eq!(actions, ["dynamodb:Query"], "{name} {sid}");
                    index = true;
                }
                [r] if r == "!GetAtt ImagesBucket.Arn" => {
                    assert_eq!(actions, ["s3:ListBucket"], "{name} {sid}");
                    // Listing by prefix (s3:prefix); without a condition, the whole bucket,
                    // written "*" in GRANTS (the generate API, so that a missing upload reads
                    // as 404 rather than 403 on HeadObject).
                    let condition = &statement["Condition"]["StringLike"]["s3:prefix"];
                    if condition.is_null() {
                        lists.push("*".to_owned());
                    } else {
                        lists.extend(listed(condition));
                    }
                }
                [r] if r == "!GetAtt AccountQueue.Arn" => {
                    assert_eq!(actions, ["sqs:SendMessage"], "{name} {sid}");
                    tasks = true;
                }
                rs if !rs.is_empty() && rs.iter().all(|r| r.contains("${ImagesBucket.Arn}/")) => {
                    for r in rs {
                        let folder = r
                            .split("${ImagesBucket.Arn}/")
                            .nth(1)
                            .and_then(|f| f.strip_suffix("/*"))
                            .unwrap_or_else(|| panic!("{name} {sid}: a folder's objects: {r}"));
                        for action in &actions {
                            if folder == "images" {
                                files.push(action.clone());
                            } else {
                                folders.push((folder.to_owned(), action.clone()));
                            }
                        }
                    }
                }
                [r] if r == "!GetAtt GenerationQueue.Arn" => {
                    assert_eq!(actions, ["sqs:SendMessage"], "{name} {sid}");
                    queue = true;
                }
                [r] if actions == ["secretsmanager:GetSecretValue"] => {
                    let secret = [JWT, STRIPE, OPENAI]
                        .into_iter()
                        .find(|s| r.contains(s))
                        .unwrap_or_else(|| panic!("{name} {sid}: an unknown secret {r}"));
                    secrets.push(secret);
                }
                other => panic!("{name} {sid}: a resource no function needs: {other:?}"),
            }
        }
        let mut expected: Vec<String> = grant
            .table_actions
            .iter()
            .map(|a| format!("dynamodb:{a}"))
            .collect();
        table.sort();
        expected.sort();
        assert_eq!(table, expected, "{name}: its DynamoDB actions");
        let mut expected: Vec<String> = grant.files.iter().map(|a| format!("s3:{a}")).collect();
        files.sort();
        expected.sort();
        assert_eq!(files, expected, "{name}: its S3 actions on images/");
        assert_eq!(index, grant.index, "{name}: queries gsi1");
        let mut expected: Vec<(String, String)> = grant
            .folders
            .iter()
            .flat_map(|(f, actions)| {
                actions
                    .iter()
                    .map(move |a| ((*f).to_owned(), format!("s3:{a}")))
            })
            .collect();
        folders.sort();
        expected.sort();
        assert_eq!(folders, expected, "{name}: its S3 actions outside images/");
        lists.sort();
        let mut expected: Vec<String> = grant.lists.iter().map(|p| (*p).to_owned()).collect();
        expected.sort();
        assert_eq!(lists, expected, "{name}: the prefixes it may list");
        assert_eq!(
            tasks, grant.sends_tasks,
            "{name}: sends to the account queue"
        );
        assert_eq!(queue, grant.sends_jobs, "{name}: sends to the queue");
        secrets.sort_unstable();
        let mut expected = grant.secrets.to_vec();
        expected.sort_unstable();
        assert_eq!(secrets, expected, "{name}: the secrets it reads");
    }
}

#[test]
fn the_partitions_the_policies_name_are_the_ones_the_store_writes() {
    for grant in GRANTS {
        for pattern in grant.partitions {
            // A prefix ends in `*`; a whole key (`SPEND`) is named as it is.
            let partition = pattern.strip_suffix('*').unwrap_or(pattern);
            assert!(
                artforge_dynamo::schema::PARTITIONS.contains(&partition),
                "{}: {pattern} is no partition of the table",
                grant.function
            );
        }
    }
}

#[test]
fn no_deployed_function_holds_a_secret_in_its_environment() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("resources");
    for (name, r) in resources {
        if text(&r["Type"]) != "AWS::Serverless::Function" {
            continue;
        }
        let variables = &r["Properties"]["Environment"]["Variables"];
        for secret in [
            "JWT_KEYS",
            "STRIPE_SECRET_KEY",
            "STRIPE_WEBHOOK_SECRET",
            "OPENAI_API_KEY",
        ] {
            assert!(
                variables[secret].is_null(),
                "{}: {secret} comes from Secrets Manager ({secret}_SECRET_ARN)",
                text(name)
            );
        }
        assert!(
            !format!("{variables:?}").contains("resolve:secretsmanager"),
            "{}: no dynamic references to secrets",
            text(name)
        );
    }
}
