//! The functions' log output, as Lambda's logging configuration asks for it: JSON lines when the
//! function's `LoggingConfig` says JSON (`AWS_LAMBDA_LOG_FORMAT`), else plain text; no
//! timestamps (CloudWatch stamps each line); at the level `AWS_LAMBDA_LOG_LEVEL` names, else
//! the directives in `RUST_LOG` (`warn,artforge_dynamo=debug`), else INFO.
//!
//! It is lambda_runtime's `init_default_subscriber` with a [`Targets`] filter in place of
//! `EnvFilter`: the same level and target directives without span and field matching, whose
//! regex engine was 130 KB of every function's code that a cold start maps (docs/decisions/0038).

use std::io::Write;

use tracing::Subscriber;
use tracing_subscriber::{
    Layer, filter::LevelFilter, filter::Targets, fmt::MakeWriter, layer::SubscriberExt,
};

/// Installs the subscriber for this process from Lambda's environment. Call it first in `main`.
pub fn init() {
    let variable = |name| std::env::var(name).ok();
    let json = variable("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let level = variable("AWS_LAMBDA_LOG_LEVEL").or_else(|| variable("RUST_LOG"));
    let subscriber = subscriber(json, level.as_deref(), std::io::stdout);
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        let _ = writeln!(std::io::stderr(), "a log subscriber was already installed");
    }
}

/// What [`init`] installs, writing to `writer`.
pub fn subscriber<W>(json: bool, level: Option<&str>, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let format = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(writer);
    let format = if json {
        format.json().boxed()
    } else {
        format.with_ansi(false).boxed()
    };
    tracing_subscriber::registry()
        .with(format)
        .with(filter(level))
}

/// The filter `level` describes: a level (`DEBUG`, and Lambda's `FATAL` as ERROR) or directives
/// (`warn,artforge_dynamo=debug`). What it leaves unsaid, or cannot parse, is INFO.
pub fn filter(level: Option<&str>) -> Targets {
    let parsed = level
        .map(str::trim)
        .map(|l| {
            if l.eq_ignore_ascii_case("fatal") {
                "error"
            } else {
                l
            }
        })
        .and_then(|l| l.parse::<Targets>().ok())
        .unwrap_or_default();
    match parsed.default_level() {
        Some(_) => parsed,
        None => parsed.with_default(LevelFilter::INFO),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::Level;

    use super::*;

    #[test]
    fn levels_come_from_lambda_or_rust_log_and_default_to_info() {
        let enabled =
            |level: Option<&str>, target: &str, at: Level| filter(level).would_enable(target, &at);
        assert!(enabled(None, "auth", Level::INFO));
        assert!(!enabled(None, "auth", Level::DEBUG));
        assert!(enabled(Some("DEBUG"), "auth", Level::DEBUG));
        assert!(!enabled(Some("WARN"), "auth", Level::INFO));
        assert!(enabled(Some("FATAL"), "auth", Level::ERROR));
        assert!(!enabled(Some("FATAL"), "auth", Level::WARN));
        assert!(enabled(Some("not a level!="), "auth", Level::INFO));
        assert!(!enabled(Some("not a level!="), "auth", Level::DEBUG));
        // Directives: a target's own level, INFO for the rest when no bare level is given.
        let directives = Some("artforge_dynamo=debug");
        assert!(enabled(directives, "artforge_dynamo::jobs", Level::DEBUG));
        assert!(!enabled(directives, "auth", Level::DEBUG));
        assert!(enabled(directives, "auth", Level::INFO));
        assert!(!enabled(Some("warn,auth=trace"), "gallery", Level::INFO));
        assert!(enabled(Some("warn,auth=trace"), "auth", Level::TRACE));
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .expect("not poisoned")
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Self;
        fn make_writer(&'w self) -> Self {
            self.clone()
        }
    }

    fn logged(json: bool) -> String {
        let out = Captured::default();
        let subscriber = subscriber(json, Some("info"), out.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(user = "u1", "signed in");
            tracing::debug!("not at info");
        });
        let bytes = out.0.lock().expect("not poisoned").clone();
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn json_format_writes_one_json_object_per_event() {
        let out = logged(true);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{out}");
        let line: serde_json::Value = serde_json::from_str(lines[0]).expect("a JSON line");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["fields"]["message"], "signed in");
        assert_eq!(line["fields"]["user"], "u1");
        assert!(line.get("timestamp").is_none(), "{line}");
    }

    #[test]
    fn text_format_writes_plain_lines_without_colour() {
        let out = logged(false);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains("INFO") && out.contains("signed in") && out.contains("user=\"u1\""));
        assert!(!out.contains('\u{1b}'), "{out:?}");
    }
}
