//! A DynamoDB meter for the gallery's benches: it sits in the SDK configuration's HTTP client,
//! the one place the gallery's wiring (`gallery::App::build`) takes from outside, and reads
//! DynamoDB's JSON answers: requests, items queries read and return, items batch reads return.

// Each bench prints the figures it needs of these.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::{
    http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    },
    orchestrator::HttpRequest,
    result::ConnectorError,
    runtime_components::RuntimeComponents,
};
use aws_smithy_types::{body::SdkBody, byte_stream::ByteStream};
use serde_json::Value;

#[derive(Debug, Default)]
pub struct Stats {
    pub requests: u64,
    /// Items queries read (before their filters).
    pub scanned: u64,
    pub returned_bytes: u64,
    pub returned_items: u64,
    /// Items `BatchGetItem` returned, and their RCU (0.5 per item per 4 KB, eventually consistent).
    pub batch_items: u64,
    pub batch_rcu: f64,
}

/// Counts every DynamoDB request, and what queries read. It sits in the SDK configuration's HTTP
/// client, the one place the gallery's wiring (`gallery::App::build`) takes from outside, so
/// it reads DynamoDB's JSON answers rather than the SDK's decoded outputs.
#[derive(Debug, Clone)]
pub struct Meter {
    pub stats: Arc<Mutex<Stats>>,
    pub inner: SharedHttpClient,
}

/// An attribute value's size as DynamoDB's wire JSON carries it (`{"S": "..."}`, ...).
fn size(value: &Value) -> u64 {
    match value.as_object().and_then(|typed| typed.iter().next()) {
        Some((kind, Value::String(s))) if kind == "S" || kind == "N" => s.len() as u64,
        Some((kind, Value::Array(list))) if kind == "L" => {
            3 + list.iter().map(|v| 1 + size(v)).sum::<u64>()
        }
        Some((kind, _)) if kind == "BOOL" || kind == "NULL" => 1,
        _ => 8,
    }
}

impl Meter {
    fn count(&self, target: &str, answer: Option<&Value>) -> Result<(), &'static str> {
        let mut stats = self.stats.lock().map_err(|_| "poisoned")?;
        stats.requests += 1;
        let Some(answer) = answer else {
            return Ok(());
        };
        if target.ends_with(".Query") {
            stats.scanned += answer["ScannedCount"].as_u64().unwrap_or(0);
            for item in answer["Items"].as_array().into_iter().flatten() {
                stats.returned_items += 1;
                stats.returned_bytes += item_size(item);
            }
        } else if target.ends_with(".BatchGetItem") {
            for table in answer["Responses"].as_object().into_iter().flatten() {
                for item in table.1.as_array().into_iter().flatten() {
                    stats.batch_items += 1;
                    stats.batch_rcu += item_size(item).div_ceil(4096).max(1) as f64 / 2.0;
                }
            }
        }
        Ok(())
    }
}

/// An item's size as DynamoDB counts it, roughly: names and values.
fn item_size(item: &Value) -> u64 {
    item.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| k.len() as u64 + size(v))
        .sum::<u64>()
}

#[derive(Debug)]
struct Metered {
    meter: Meter,
    inner: SharedHttpConnector,
}

impl HttpClient for Meter {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Metered {
            meter: self.clone(),
            inner: self.inner.http_connector(settings, components),
        })
    }
}

impl HttpConnector for Metered {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Some(target) = request
            .headers()
            .get("x-amz-target")
            .filter(|t| t.starts_with("DynamoDB_"))
            .map(str::to_owned)
        else {
            return self.inner.call(request);
        };
        let (meter, answer) = (self.meter.clone(), self.inner.call(request));
        HttpConnectorFuture::new(async move {
            let mut response = answer.await?;
            let mut query = None;
            if target.ends_with(".Query") || target.ends_with(".BatchGetItem") {
                let bytes = ByteStream::new(response.take_body())
                    .collect()
                    .await
                    .map_err(|e| ConnectorError::io(e.into()))?
                    .into_bytes();
                query = serde_json::from_slice::<Value>(&bytes).ok();
                *response.body_mut() = SdkBody::from(bytes);
            }
            meter
                .count(&target, query.as_ref())
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            Ok(response)
        })
    }
}
