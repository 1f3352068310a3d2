//! A fault-injecting proxy in front of moto: the SDKs are pointed at it (an [`SdkConfig`] with
//! its endpoint) and it forwards every request to moto, unless a [`Rule`] says to answer with an
//! AWS-shaped error instead, or to forward and then lose the answer (the write happened, the
//! caller is told it failed). So the real SDK, with its retries and error parsing, and the real
//! adapters meet the failures AWS documents, on the wire.
//!
//! Requests are named by operation: `dynamodb:<Op>` and `sqs:<Op>` from `X-Amz-Target` (both
//! use the JSON protocols in the SDK versions of `Cargo.lock`), and for S3 (path-style) by
//! method and path: `s3:PutObject`, `s3:GetObject`, `s3:HeadObject`, `s3:DeleteObject`,
//! `s3:DeleteObjects`, `s3:ListObjects`, `s3:CreateBucket`, `s3:Other`.
//!
//! A rule fires by [`When`]: the Nth matching attempt, every attempt of the Nth matching call
//! (retries share the SDK's `amz-sdk-invocation-id`, so the call fails after the SDK gave up),
//! the next K attempts, always, or a seeded share of attempts.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use artforge_aws::SdkConfig;
use axum::{
    body::Body,
    extract::{Request, State},
    response::Response,
};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;

/// When a rule fires, counted over the requests it matches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    /// Only the Nth matching attempt (1-based): a retry by the SDK then succeeds.
    Nth(u32),
    /// Every attempt of the Nth matching SDK call (1-based), retries included: the call fails.
    NthCall(u32),
    /// The next K matching attempts.
    Next(u32),
    /// Every matching attempt.
    Always,
    /// About `per_mille` of every thousand matching attempts, from a seeded generator.
    Chance { per_mille: u32, seed: u64 },
}

/// What a firing rule answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// DynamoDB `ThrottlingException`, SQS `ThrottlingException`, S3 503 `SlowDown`.
    Throttle,
    /// DynamoDB `ProvisionedThroughputExceededException` (others: as [`Fault::Throttle`]).
    ThroughputExceeded,
    /// DynamoDB `TransactionCanceledException` with a `TransactionConflict` reason on the first
    /// item of the transaction (`None` on the others); other operations: an internal error.
    TransactionConflict,
    /// A 500 internal error of the service.
    Internal,
    /// DynamoDB `BatchWriteItem`: a 200 that leaves every request unprocessed (nothing is
    /// written), as a throttled partition does; other operations: an internal error.
    Unprocessed,
    /// No answer for an hour: the caller is stuck mid-call (a test then kills it).
    Stall,
}

/// A fault rule: which operation, when, what, and whether the request reaches moto first.
#[derive(Debug, Clone)]
pub struct Rule {
    operation: String,
    path_contains: Option<String>,
    when: When,
    fault: Fault,
    after_forward: bool,
}

impl Rule {
    /// A rule on `operation` (`dynamodb:TransactWriteItems`, `sqs:SendMessage`,
    /// `s3:PutObject`, ...), firing on every attempt with an internal error until refined.
    pub fn on(operation: &str) -> Self {
        Self {
            operation: operation.to_owned(),
            path_contains: None,
            when: When::Always,
            fault: Fault::Internal,
            after_forward: false,
        }
    }

    /// Only requests whose path contains `part` (an S3 key's file name, say).
    pub fn path_contains(mut self, part: &str) -> Self {
        self.path_contains = Some(part.to_owned());
        self
    }

    pub fn when(mut self, when: When) -> Self {
        self.when = when;
        self
    }

    pub fn fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }

    /// Forward the request (moto applies it), then answer the fault: a lost response.
    pub fn after_forward(mut self) -> Self {
        self.after_forward = true;
        self
    }
}

/// A rule with its counters.
#[derive(Debug)]
struct Armed {
    rule: Rule,
    matched: u32,
    injected: u32,
    calls: HashMap<String, u32>,
    rng: Option<fastrand::Rng>,
}

impl Armed {
    fn new(rule: Rule) -> Self {
        let rng = match rule.when {
            When::Chance { seed, .. } => Some(fastrand::Rng::with_seed(seed)),
            _ => None,
        };
        Self {
            rule,
            matched: 0,
            injected: 0,
            calls: HashMap::new(),
            rng,
        }
    }

    fn matches(&self, operation: &str, path: &str) -> bool {
        self.rule.operation == operation
            && self
                .rule
                .path_contains
                .as_deref()
                .is_none_or(|part| path.contains(part))
    }

    /// Counts one matching attempt and says whether the rule fires on it (it may, when
    /// `free`: no earlier rule fired on this attempt).
    fn fires(&mut self, invocation: Option<&str>, free: bool) -> bool {
        self.matched += 1;
        let fire = match self.rule.when {
            When::Nth(n) => self.matched == n,
            When::NthCall(n) => {
                let next = u32::try_from(self.calls.len()).unwrap_or(u32::MAX) + 1;
                let key = invocation.map_or_else(|| format!("anonymous-{next}"), str::to_owned);
                *self.calls.entry(key).or_insert(next) == n
            }
            When::Next(k) => self.injected < k,
            When::Always => true,
            When::Chance { per_mille, .. } => self
                .rng
                .as_mut()
                .is_some_and(|rng| rng.u32(0..1000) < per_mille),
        };
        let fire = fire && free;
        if fire {
            self.injected += 1;
        }
        fire
    }
}

#[derive(Debug, Default)]
struct Counters {
    forwarded: u64,
    injected: u64,
    by_operation: HashMap<String, (u64, u64)>,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    rules: Mutex<Vec<Armed>>,
    counters: Mutex<Counters>,
}

/// What the proxy did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests that reached moto (including those whose answer was then lost).
    pub forwarded: u64,
    /// Faults answered.
    pub injected: u64,
    /// Per operation: (attempts seen, faults injected).
    pub by_operation: HashMap<String, (u64, u64)>,
}

/// The proxy, serving on 127.0.0.1 until dropped.
pub struct FaultProxy {
    endpoint: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// A proxy in front of the test process's moto.
    pub async fn start() -> Self {
        Self::in_front_of(&crate::moto_endpoint()).await
    }

    /// A proxy in front of `upstream` (`http://host:port`).
    pub async fn in_front_of(upstream: &str) -> Self {
        let client = artforge_devstack::http_client()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("the proxy's client: {e}"));
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client,
            rules: Mutex::new(Vec::new()),
            counters: Mutex::new(Counters::default()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("binding the fault proxy: {e}"));
        let endpoint = match listener.local_addr() {
            Ok(address) => format!("http://{address}"),
            Err(e) => panic!("the fault proxy's address: {e}"),
        };
        let app = axum::Router::new()
            .fallback(proxy)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                panic!("the fault proxy stopped: {e}");
            }
        });
        Self {
            endpoint,
            shared,
            task,
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// SDK configuration that reaches moto through this proxy.
    pub fn sdk_config(&self) -> SdkConfig {
        artforge_devstack::sdk_config(&self.endpoint)
    }

    /// Arms `rule` after the ones already armed (the first rule that fires answers).
    pub fn add(&self, rule: Rule) {
        self.shared
            .rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Armed::new(rule));
    }

    /// Disarms every rule (the counters stay).
    pub fn clear(&self) {
        self.shared
            .rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    pub fn stats(&self) -> Stats {
        let counters = self
            .shared
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Stats {
            forwarded: counters.forwarded,
            injected: counters.injected,
            by_operation: counters.by_operation.clone(),
        }
    }

    /// Faults injected so far.
    pub fn injected(&self) -> u64 {
        self.stats().injected
    }

    /// Faults injected on `operation` so far.
    pub fn injected_on(&self, operation: &str) -> u64 {
        self.stats()
            .by_operation
            .get(operation)
            .map_or(0, |(_, injected)| *injected)
    }

    /// Attempts of `operation` seen so far.
    pub fn attempts_of(&self, operation: &str) -> u64 {
        self.stats()
            .by_operation
            .get(operation)
            .map_or(0, |(seen, _)| *seen)
    }
}

/// The operation a request is, by the rules above.
fn operation(method: &http::Method, path: &str, query: &str, headers: &HeaderMap) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return match target.split_once('.') {
            Some((service, op)) if service.starts_with("DynamoDB") => format!("dynamodb:{op}"),
            Some(("AmazonSQS", op)) => format!("sqs:{op}"),
            _ => format!("other:{target}"),
        };
    }
    let segments = path.trim_matches('/').split('/').filter(|s| !s.is_empty());
    let object = segments.count() > 1;
    let op = match (method.as_str(), object) {
        ("PUT", true) => "PutObject",
        ("GET", true) => "GetObject",
        ("HEAD", true) => "HeadObject",
        ("DELETE", true) => "DeleteObject",
        ("POST", false) if query.split('&').any(|p| p == "delete" || p == "delete=") => {
            "DeleteObjects"
        }
        ("GET", false) => "ListObjects",
        ("PUT", false) => "CreateBucket",
        _ => "Other",
    };
    format!("s3:{op}")
}

fn service(operation: &str) -> &str {
    operation
        .split_once(':')
        .map_or("s3", |(service, _)| service)
}

fn json_error(status: StatusCode, content_type: &'static str, body: serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(
        "x-amzn-requestid",
        HeaderValue::from_static("FAULTPROXY0000000000000000000000000000000000000000000"),
    );
    response
}

/// The error answer of `fault` for `operation`, shaped as the service sends it.
fn fault_answer(fault: Fault, operation: &str, body: &[u8]) -> Response {
    const DYNAMO: &str = "application/x-amz-json-1.0";
    let dynamo = |status, kind: &str, message: &str| {
        json_error(
            status,
            DYNAMO,
            json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message}),
        )
    };
    match (service(operation), fault) {
        ("dynamodb", Fault::Throttle) => dynamo(
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ),
        ("dynamodb", Fault::ThroughputExceeded) => dynamo(
            StatusCode::BAD_REQUEST,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        ),
        ("dynamodb", Fault::TransactionConflict) if operation == "dynamodb:TransactWriteItems" => {
            let items = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["TransactItems"].as_array().map(Vec::len))
                .unwrap_or(1)
                .max(1);
            let reasons: Vec<serde_json::Value> = (0..items)
                .map(|i| {
                    if i == 0 {
                        json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"})
                    } else {
                        json!({"Code": "None"})
                    }
                })
                .collect();
            let codes: Vec<&str> = (0..items)
                .map(|i| {
                    if i == 0 {
                        "TransactionConflict"
                    } else {
                        "None"
                    }
                })
                .collect();
            json_error(
                StatusCode::BAD_REQUEST,
                DYNAMO,
                json!({
                    "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                    "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
                    "CancellationReasons": reasons,
                }),
            )
        }
        ("dynamodb", Fault::Unprocessed) if operation == "dynamodb:BatchWriteItem" => {
            let requested = serde_json::from_slice::<serde_json::Value>(body)
                .map(|v| v["RequestItems"].clone())
                .unwrap_or_default();
            json_error(
                StatusCode::OK,
                DYNAMO,
                json!({"UnprocessedItems": requested}),
            )
        }
        ("dynamodb", _) => dynamo(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal server error",
        ),
        ("sqs", Fault::Throttle | Fault::ThroughputExceeded) => json_error(
            StatusCode::BAD_REQUEST,
            "application/x-amz-json-1.0",
            json!({"__type": "com.amazonaws.sqs#ThrottlingException", "message": "Rate exceeded"}),
        ),
        ("sqs", _) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/x-amz-json-1.0",
            json!({"__type": "com.amazonaws.sqs#InternalError", "message": "We encountered an internal error. Please try again."}),
        ),
        (_, fault) => {
            let (status, code, message) = match fault {
                Fault::Throttle | Fault::ThroughputExceeded => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SlowDown",
                    "Please reduce your request rate.",
                ),
                _ => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                ),
            };
            let mut response = Response::new(Body::from(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>FAULTPROXY</RequestId><HostId>faultproxy</HostId></Error>"
            )));
            *response.status_mut() = status;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
            response
        }
    }
}

const HOP_BY_HOP: [&str; 5] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
];

async fn proxy(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, format!("reading the request: {e}")),
    };
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let operation = operation(&parts.method, &path, &query, &parts.headers);
    let invocation = parts
        .headers
        .get("amz-sdk-invocation-id")
        .and_then(|v| v.to_str().ok());
    let fired = {
        let mut rules = shared.rules.lock().unwrap_or_else(PoisonError::into_inner);
        // Every matching rule counts the attempt; the first that fires answers it.
        let mut fired = None;
        for armed in rules
            .iter_mut()
            .filter(|armed| armed.matches(&operation, &path))
        {
            if armed.fires(invocation, fired.is_none()) {
                fired = Some((armed.rule.fault, armed.rule.after_forward));
            }
        }
        fired
    };
    {
        let mut counters = shared
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = counters.by_operation.entry(operation.clone()).or_default();
        entry.0 += 1;
        if fired.is_some() {
            entry.1 += 1;
            counters.injected += 1;
        }
    }
    match fired {
        Some((Fault::Stall, _)) => {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            return fault_answer(Fault::Internal, &operation, &body);
        }
        Some((fault, false)) => return fault_answer(fault, &operation, &body),
        Some((fault, true)) => {
            // The request is applied; only its answer is lost.
            let forwarded = forward(&shared, &parts, &path, &query, body.clone()).await;
            drop(forwarded);
            return fault_answer(fault, &operation, &body);
        }
        None => {}
    }
    forward(&shared, &parts, &path, &query, body).await
}

fn plain(status: StatusCode, text: String) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

async fn forward(
    shared: &Shared,
    parts: &http::request::Parts,
    path: &str,
    query: &str,
    body: axum::body::Bytes,
) -> Response {
    let url = if query.is_empty() {
        format!("{}{path}", shared.upstream)
    } else {
        format!("{}{path}?{query}", shared.upstream)
    };
    let mut headers = parts.headers.clone();
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_LENGTH);
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    let sent = shared
        .client
        .request(parts.method.clone(), url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    shared
        .counters
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .forwarded += 1;
    let upstream = match sent {
        Ok(response) => response,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, format!("moto: {e}")),
    };
    let status = upstream.status();
    let mut headers = upstream.headers().clone();
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    if parts.method != http::Method::HEAD {
        headers.remove(header::CONTENT_LENGTH);
    }
    let bytes = match upstream.bytes().await {
        Ok(bytes) => bytes,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, format!("moto's answer: {e}")),
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_named_by_operation() {
        let mut headers = HeaderMap::new();
        let get = http::Method::GET;
        assert_eq!(
            operation(
                &http::Method::PUT,
                "/b/images/u/i/original.png",
                "",
                &headers
            ),
            "s3:PutObject"
        );
        assert_eq!(
            operation(&get, "/b", "list-type=2", &headers),
            "s3:ListObjects"
        );
        assert_eq!(
            operation(&http::Method::POST, "/b", "delete", &headers),
            "s3:DeleteObjects"
        );
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("DynamoDB_20120810.TransactWriteItems"),
        );
        assert_eq!(
            operation(&http::Method::POST, "/", "", &headers),
            "dynamodb:TransactWriteItems"
        );
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("AmazonSQS.SendMessage"),
        );
        assert_eq!(
            operation(&http::Method::POST, "/", "", &headers),
            "sqs:SendMessage"
        );
    }

    #[test]
    fn the_nth_call_fails_with_every_retry_and_no_other() {
        let mut armed = Armed::new(Rule::on("s3:PutObject").when(When::NthCall(2)));
        let fired: Vec<bool> = ["a", "b", "c", "b", "b", "d"]
            .into_iter()
            .map(|id| armed.fires(Some(id), true))
            .collect();
        assert_eq!(fired, [false, true, false, true, true, false]);
        assert_eq!(armed.injected, 3);
    }

    #[test]
    fn next_and_nth_count_attempts() {
        let mut next = Armed::new(Rule::on("x").when(When::Next(2)));
        let fired: Vec<bool> = (0..4).map(|_| next.fires(None, true)).collect();
        assert_eq!(fired, [true, true, false, false]);
        let mut nth = Armed::new(Rule::on("x").when(When::Nth(3)));
        let fired: Vec<bool> = (0..4).map(|_| nth.fires(None, true)).collect();
        assert_eq!(fired, [false, false, true, false]);
    }
}
