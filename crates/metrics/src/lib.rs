//! The functions' business metrics, as CloudWatch Embedded Metric Format (EMF) lines on stdout:
//! Lambda sends stdout to CloudWatch Logs, which turns each EMF line into metric data. No
//! CloudWatch API call is made at request time (docs/decisions/0071).
//!
//! The events are named here once, each a function the use cases call: [`job_submitted`],
//! [`job_finished`], [`swept`], [`provider_call`], [`payment_settled`], [`refused`]. They record through the `metrics` facade, so
//! they cost nothing and print nothing in a process that did not call [`init`] (the tests, the
//! local server). A Lambda calls [`init`] at start and [`Metrics::flush`] after each invocation;
//! the recorder is `metrics_cloudwatch_embedded`'s, without its Lambda integration (which would
//! bring every `lambda_http` event type).
//!
//! | metric | dimensions | unit | what |
//! |---|---|---|---|
//! | `JobsSubmitted` | none | Count | jobs debited and queued |
//! | `JobsSucceeded`, `JobsFailed` | none | Count | jobs finished, by outcome |
//! | `CreditsMoved` | `Movement`: `debit`, `refund`, `purchase`, `claw_back` | Count | credits taken for jobs and given back, granted for payments and taken back for their refunds and disputes |
//! | `RequestsRefused` | none, and `Code`: `rate_limited`, `too_many_attempts`, `daily_quota_exceeded`, `generation_paused` | Count | requests refused by a limit |
//! | `SweptJobs` | none, and `Kind`: `resent`, `never_started`, `abandoned` | Count | what the sweeper did |
//! | `ProviderLatency` | none | Milliseconds | each image provider call |
//! | `ProviderErrors` | none (operational kinds only), and `Kind` (every kind) | Count | failed provider calls and images |
//! | `ModelsNeedingAttention` | none | Count | per check: configured provider models shutting down within 30 days, shut down, or not listed (0 written too) |
//! | `ModelDaysToShutdown` | `Model` | none | per check: days left before a configured model's announced shutdown (0 once passed) |
//! | `ModelChecksSucceeded` | none | Count | model-lifecycle checks that read the provider's list |

use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use metrics_cloudwatch_embedded::{Builder, Collector};
use tracing::warn;

/// The namespace when `METRICS_NAMESPACE` is not set; the template sets `Artforge/<stack>`.
pub const DEFAULT_NAMESPACE: &str = "Artforge";

/// The installed recorder: what was recorded since the last flush, for [`Metrics::flush`].
#[derive(Clone, Copy)]
pub struct Metrics {
    collector: &'static Collector,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Installing the recorder failed (one was installed already).
#[derive(Debug, thiserror::Error)]
#[error("installing the metrics recorder failed: {0}")]
pub struct InitError(String);

/// Installs the EMF recorder for this process, in `namespace`. Once per process.
pub fn init_in(namespace: &str) -> Result<Metrics, InitError> {
    let collector = Builder::new()
        .cloudwatch_namespace(namespace.to_owned())
        .init()
        .map_err(|e| InitError(e.to_string()))?;
    describe_counter!("CreditsMoved", Unit::Count, "credits debited or refunded");
    describe_histogram!(
        "ProviderLatency",
        Unit::Milliseconds,
        "one image provider call"
    );
    Ok(Metrics { collector })
}

/// Installs the EMF recorder in `METRICS_NAMESPACE` (default [`DEFAULT_NAMESPACE`]).
pub fn init() -> Result<Metrics, InitError> {
    let namespace = std::env::var("METRICS_NAMESPACE")
        .ok()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    init_in(&namespace)
}

impl Metrics {
    /// Writes what was recorded since the last flush to stdout, one EMF document per line.
    pub fn flush(&self) {
        if let Err(e) = self.flush_to(std::io::stdout().lock()) {
            warn!(error = %e, "writing metrics failed; they are lost");
        }
    }

    /// [`Metrics::flush`] into `writer`.
    pub fn flush_to(&self, writer: impl std::io::Write) -> std::io::Result<()> {
        self.collector.flush(writer)
    }
}

/// A job was debited `cost` credits and queued.
pub fn job_submitted(cost: u64) {
    counter!("JobsSubmitted").increment(1);
    counter!("CreditsMoved", "Movement" => "debit").increment(cost);
}

/// A job finished (`succeeded`: with at least one image), giving back `refunded` credits.
pub fn job_finished(succeeded: bool, refunded: u64) {
    if succeeded {
        counter!("JobsSucceeded").increment(1);
    } else {
        counter!("JobsFailed").increment(1);
    }
    if refunded > 0 {
        counter!("CreditsMoved", "Movement" => "refund").increment(refunded);
    }
}

/// A payment's change moved `credits`: `purchase` (granted, or given back by a won dispute; a
/// debt paid first counts too) or `claw_back` (a refund or a dispute).
pub fn payment_settled(movement: &'static str, credits: u64) {
    counter!("CreditsMoved", "Movement" => movement).increment(credits);
}

/// A request was refused by a limit, answered with `code`.
pub fn refused(code: &'static str) {
    counter!("RequestsRefused").increment(1);
    counter!("RequestsRefused", "Code" => code).increment(1);
}

/// The sweeper did `kind` to a stuck job (`resent`, `never_started`, `abandoned`).
pub fn swept(kind: &'static str) {
    counter!("SweptJobs").increment(1);
    counter!("SweptJobs", "Kind" => kind).increment(1);
}

/// One image provider call took `latency`.
pub fn provider_call(latency: Duration) {
    histogram!("ProviderLatency").record(latency.as_secs_f64() * 1000.0);
}

/// The provider failed a call or an image with `kind`. `operational`: a failure of the
/// provider (unavailable, out of quota, too slow, a bad answer), which the alarm watches, as
/// opposed to a refusal of the request (content policy, a rejected request).
pub fn provider_error(kind: &'static str, operational: bool) {
    if operational {
        counter!("ProviderErrors").increment(1);
    }
    counter!("ProviderErrors", "Kind" => kind).increment(1);
}

/// A model-lifecycle check read the provider's list: `attention` configured models need an
/// operator, and each of `days_left` (model, days before its announced shutdown) is recorded.
pub fn models_checked(attention: usize, days_left: &[(String, i64)]) {
    // Counted per check (a flush writes what came since the last one, so a check's values
    // are its own): the alarm reads the Maximum of ModelsNeedingAttention.
    counter!("ModelChecksSucceeded").increment(1);
    counter!("ModelsNeedingAttention").increment(attention as u64);
    for (model, days) in days_left {
        let days = u32::try_from((*days).max(0)).unwrap_or(u32::MAX);
        histogram!("ModelDaysToShutdown", "Model" => model.clone()).record(f64::from(days));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// Every line is one EMF document: `_aws` with a timestamp and one directive naming the
    /// namespace, the dimension sets and the metrics, whose values and dimensions are top-level
    /// members.
    fn documents(text: &str) -> Vec<Value> {
        text.lines()
            .map(|line| serde_json::from_str::<Value>(line).expect("each line is JSON"))
            .inspect(|doc| {
                let aws = &doc["_aws"];
                assert!(aws["Timestamp"].as_u64().is_some(), "{doc}");
                let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
                assert_eq!(directives.len(), 1, "{doc}");
                let directive = &directives[0];
                assert_eq!(directive["Namespace"], "Artforge/test", "{doc}");
                for set in directive["Dimensions"].as_array().expect("dimension sets") {
                    for name in set.as_array().expect("a dimension set") {
                        let name = name.as_str().expect("a dimension name");
                        assert!(doc[name].is_string(), "dimension {name} has a value: {doc}");
                    }
                }
                for metric in directive["Metrics"].as_array().expect("metrics") {
                    let name = metric["Name"].as_str().expect("a metric name");
                    assert!(
                        doc[name].is_number() || doc[name].is_array(),
                        "metric {name} has a value: {doc}"
                    );
                }
            })
            .collect()
    }

    /// The value of `metric` in the document whose dimensions are exactly `dimensions`.
    fn value(docs: &[Value], metric: &str, dimensions: &[(&str, &str)]) -> Option<Value> {
        docs.iter()
            .find(|doc| {
                let names = &doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0];
                let names: Vec<&str> = names
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                names.len() == dimensions.len()
                    && dimensions
                        .iter()
                        .all(|(k, v)| names.contains(k) && doc[*k] == *v)
                    && !doc[metric].is_null()
            })
            .map(|doc| doc[metric].clone())
    }

    // One test: the recorder is global to the process.
    #[test]
    fn every_event_is_written_as_a_well_formed_emf_line_with_its_dimensions_and_unit() {
        let metrics = init_in("Artforge/test").expect("the first recorder");
        assert!(init_in("Artforge/test").is_err(), "once per process");

        job_submitted(3);
        job_submitted(2);
        job_finished(true, 1);
        job_finished(false, 2);
        swept("resent");
        swept("abandoned");
        swept("abandoned");
        provider_call(Duration::from_millis(1500));
        provider_call(Duration::from_millis(250));
        provider_error("unavailable", true);
        provider_error("content_policy", false);
        payment_settled("purchase", 50);
        payment_settled("claw_back", 15);
        refused("rate_limited");
        refused("rate_limited");
        refused("too_many_attempts");
        models_checked(1, &[("gpt-image-2.5-flare".to_owned(), 12)]);

        let mut out = Vec::new();
        metrics.flush_to(&mut out).expect("flushed");
        let text = String::from_utf8(out).expect("utf-8");
        let docs = documents(&text);
        let n = |v: Option<Value>| v.and_then(|v| v.as_u64());
        assert_eq!(n(value(&docs, "JobsSubmitted", &[])), Some(2));
        assert_eq!(n(value(&docs, "ModelChecksSucceeded", &[])), Some(1));
        assert_eq!(n(value(&docs, "ModelsNeedingAttention", &[])), Some(1));
        let days = value(
            &docs,
            "ModelDaysToShutdown",
            &[("Model", "gpt-image-2.5-flare")],
        );
        assert!(
            days.as_ref()
                .is_some_and(|d| d.as_f64() == Some(12.0) || *d == serde_json::json!([12.0])),
            "{days:?}"
        );
        assert_eq!(n(value(&docs, "JobsSucceeded", &[])), Some(1));
        assert_eq!(n(value(&docs, "JobsFailed", &[])), Some(1));
        assert_eq!(
            n(value(&docs, "CreditsMoved", &[("Movement", "debit")])),
            Some(5)
        );
        assert_eq!(
            n(value(&docs, "CreditsMoved", &[("Movement", "refund")])),
            Some(3)
        );
        assert_eq!(
            n(value(&docs, "CreditsMoved", &[("Movement", "purchase")])),
            Some(50)
        );
        assert_eq!(
            n(value(&docs, "CreditsMoved", &[("Movement", "claw_back")])),
            Some(15)
        );
        assert_eq!(n(value(&docs, "RequestsRefused", &[])), Some(3));
        assert_eq!(
            n(value(&docs, "RequestsRefused", &[("Code", "rate_limited")])),
            Some(2)
        );
        assert_eq!(n(value(&docs, "SweptJobs", &[])), Some(3));
        assert_eq!(
            n(value(&docs, "SweptJobs", &[("Kind", "abandoned")])),
            Some(2)
        );
        assert_eq!(n(value(&docs, "SweptJobs", &[("Kind", "resent")])), Some(1));
        assert_eq!(
            n(value(&docs, "ProviderErrors", &[])),
            Some(1),
            "operational only"
        );
        assert_eq!(
            n(value(
                &docs,
                "ProviderErrors",
                &[("Kind", "content_policy")]
            )),
            Some(1)
        );
        assert_eq!(
            value(&docs, "ProviderLatency", &[]),
            Some(serde_json::json!([1500.0, 250.0]))
        );
        let latency = docs
            .iter()
            .flat_map(|d| {
                d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .find(|m| m["Name"] == "ProviderLatency")
            .expect("latency declared");
        assert_eq!(latency["Unit"], "Milliseconds");

        let mut again = Vec::new();
        metrics.flush_to(&mut again).expect("flushed");
        assert!(
            again.is_empty(),
            "a flush writes what came since the last one"
        );
    }
}
