//! Every sample event in `events/auth/` runs through the auth router as API Gateway would send
//! it (parsed by `lambda_http`), and answers the status its file name documents:
//! `<case>.<status>.json`. Events that need a session carry `__SESSION_TOKEN__`, replaced here by
//! a token of the fixture user `ada@example.com` (password `correct horse battery`).

mod common;

use common::App;

const PLACEHOLDER: &str = "__SESSION_TOKEN__";

#[tokio::test]
async fn every_sample_event_answers_the_status_its_name_documents() {
    let dir = artforge_devstack_root().join("events/auth");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("events/auth")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "found only {} events", files.len());
    for path in files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_owned();
        let expected: u16 = name
            .rsplit('.')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{name}: the file name ends in .<status>.json"));
        // A fresh table per event: the events do not depend on each other's effects.
        let app = App::new().await;
        let token = app.register("ada@example.com").await.token();
        let text = std::fs::read_to_string(&path)
            .expect("event")
            .replace(PLACEHOLDER, &token);
        let request =
            lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, axum::body::Body::from(body.to_vec()));
        let answer = app.send(request).await;
        assert_eq!(answer.status.as_u16(), expected, "{name}: {}", answer.text);
        if expected >= 400 {
            assert_eq!(
                answer.headers[http::header::CONTENT_TYPE],
                "application/problem+json",
                "{name}"
            );
            assert!(
                answer.json["requestId"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("Nw")),
                "{name}: API Gateway's request id is used"
            );
        }
    }
}

fn artforge_devstack_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
