//! Nothing secret reaches a log line or a response: passwords, hashes, token keys, tokens.

use std::sync::{Arc, Mutex};

use crate::common::{App, PASSWORD, SessionAnswer};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// A current-thread runtime: every log line of the test is written on this thread.
#[tokio::test(flavor = "current_thread")]
async fn no_password_hash_key_or_token_appears_in_any_log_line_or_response() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_env_filter("debug,aws_smithy_runtime=info,hyper=info")
        .json()
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // This binary's other tests run on other threads without a subscriber: callsites they
    // reach first are cached as uninteresting; ask every callsite again now that this one is
    // listening. (A line still missed by that race weakens the check; the check below asks for
    // any of the use cases' lines, not one in particular.)
    tracing::callsite::rebuild_interest_cache();

    let app = App::new().await;
    let registered = app.register("ada@example.com").await;
    let token = registered.token();
    let mut responses = vec![registered.text.clone()];
    responses.push(app.login("ada@example.com", "wrong password").await.text);
    responses.push(app.login("ada@example.com", PASSWORD).await.text);
    let change =
        json!({"currentPassword": PASSWORD, "newPassword": "second secret phrase"}).to_string();
    let changed = app
        .call("PUT", "/me/password", Some(&token), Some(&change))
        .await;
    responses.push(changed.text.clone());
    responses.push(
        app.call("GET", "/me", Some(&changed.token()), None)
            .await
            .text,
    );
    responses.push(
        app.call("GET", "/me/credits", Some(&changed.token()), None)
            .await
            .text,
    );

    let logs = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(
        ["account opened", "signed in", "password changed"]
            .iter()
            .any(|line| logs.contains(line)),
        "the capture works: {logs}"
    );
    let secrets = [
        PASSWORD,
        "wrong password",
        "second secret phrase",
        "$argon2id",
        "passwordHash",
        token.as_str(),
        artforge_testkit::JWT_KEYS
            .split(':')
            .nth(1)
            .and_then(|s| s.split(',').next())
            .unwrap_or("-"),
    ];
    for secret in secrets {
        assert!(!logs.contains(secret), "a log line contains {secret:?}");
        for response in &responses[1..] {
            if secret != token.as_str() {
                assert!(
                    !response.contains(secret),
                    "a response contains {secret:?}: {response}"
                );
            }
        }
    }
    assert!(!logs.contains("panicked") && !logs.contains("stack backtrace"));
}
