//! The local server mounts every function's routes over resources created like `make dev` does.

use artforge_devstack::resources::{self, Names};
use axum::body::Body;
use http::{Request, StatusCode, header};
use tower::ServiceExt;

async fn call(app: &axum::Router, request: Request<Body>) -> (StatusCode, String) {
    let answer = artforge_testkit::http::send(app, request).await;
    (answer.status, answer.text)
}

#[tokio::test]
async fn every_function_answers_at_its_api_gateway_paths_on_the_local_server() {
    let app = crate::common::local_app("dev").await;

    let register = Request::post("/auth/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"email":"ada@example.com","password":"correct horse battery"}"#,
        ))
        .expect("request");
    let (status, body) = call(&app, register).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = call(
        &app,
        Request::get("/feed").body(Body::empty()).expect("request"),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"items":[],"nextCursor":null}"#)
    );
    let (status, body) = call(
        &app,
        Request::get("/nowhere")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("\"requestId\""), "{body}");
    let preflight = Request::options("/images")
        .header(header::ORIGIN, "http://localhost:3000")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(preflight).await.expect("infallible");
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:3000"
    );
    let foreign = Request::options("/images")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(foreign).await.expect("infallible");
    assert!(
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
}

#[tokio::test]
async fn the_local_server_runs_a_job_for_every_preset_through_its_queue_and_stand_in() {
    let aws = artforge_testkit::sdk_config();
    let provisioned = resources::provision(&aws, Names::prefixed(&artforge_testkit::unique("dev")))
        .await
        .expect("provisioned");
    // Served for real: the worker reaches the OpenAI stand-in on this server's port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let port = listener.local_addr().expect("address").port();
    let app = artforge_dev::app(
        &aws,
        &artforge_dev::local_defaults(&provisioned, port, artforge_testkit::JWT_KEYS),
        port,
    )
    .expect("app");
    artforge_dev::run_worker(&aws, &provisioned, app.worker.clone())
        .await
        .expect("worker");
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let register = Request::post("/auth/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"email":"lin@example.com","password":"correct horse battery"}"#,
        ))
        .expect("request");
    let (status, body) = call(&app.router, register).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = serde_json::from_str::<serde_json::Value>(&body).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let authed = |request: http::request::Builder| {
        request.header(header::AUTHORIZATION, format!("Bearer {token}"))
    };

    let mut jobs = Vec::new();
    for preset in ["square", "portrait", "story"] {
        let submit = authed(Request::post("/generations"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(format!(
                r#"{{"prompt":"a harbour at night","model":"v2","preset":"{preset}"}}"#
            )))
            .expect("request");
        let (status, body) = call(&app.router, submit).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("json");
        jobs.push((preset, json["job"]["id"].as_str().expect("id").to_owned()));
    }
    for (preset, id) in jobs {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let job = loop {
            let get = authed(Request::get(format!("/generations/{id}")))
                .body(Body::empty())
                .expect("request");
            let (status, body) = call(&app.router, get).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let job: serde_json::Value = serde_json::from_str(&body).expect("json");
            if job["status"] == "succeeded" || job["status"] == "failed" {
                break job;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{preset} still {}",
                job["status"]
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        assert_eq!(job["status"], "succeeded", "{preset}: {job}");
        let (width, height) = match preset {
            "square" => (1080, 1080),
            "portrait" => (1080, 1350),
            _ => (1080, 1920),
        };
        assert_eq!(job["images"][0]["width"], width);
        assert_eq!(job["images"][0]["height"], height);
    }
    let me = authed(Request::get("/me"))
        .body(Body::empty())
        .expect("request");
    let (_, body) = call(&app.router, me).await;
    let me: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(me["credits"], 0, "three credits, three jobs");
}

fn get(path: &str, accept: &str) -> Request<Body> {
    Request::get(path)
        .header(header::ACCEPT, accept)
        .body(Body::empty())
        .expect("request")
}

#[tokio::test]
async fn the_web_client_is_served_at_root_with_the_api_under_api_too() {
    let api = crate::common::local_app("web").await;
    let dist = std::env::temp_dir().join(artforge_testkit::unique("artforge-dist"));
    std::fs::create_dir_all(dist.join("assets")).expect("dist");
    assert!(
        artforge_dev::web::Web::open(&dist).is_none(),
        "no index.html, no client"
    );
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>client</title>",
    )
    .expect("index");
    std::fs::write(dist.join("assets/app-1234.js"), "console.log(1)").expect("asset");
    let app = artforge_dev::web::Web::open(&dist)
        .expect("a built client")
        .serve(api);
    let html = "text/html,application/xhtml+xml,*/*;q=0.8";

    // The client's files and pages.
    let (status, body) = call(&app, get("/", html)).await;
    assert_eq!(
        (status, body.contains("<title>client</title>")),
        (StatusCode::OK, true)
    );
    for page in [
        "/create",
        "/history/01ABC",
        "/credits/return?session_id=cs_1",
        "/i/x",
    ] {
        let (status, body) = call(&app, get(page, html)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(body.contains("<title>client</title>"), "{page}: {body}");
    }
    let response = app
        .clone()
        .oneshot(get("/assets/app-1234.js", "*/*"))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CACHE_CONTROL]
            .to_str()
            .is_ok_and(|c| c.contains("immutable"))
    );
    // A revalidated page is a 304, not a 404.
    let first = app
        .clone()
        .oneshot(get("/history", html))
        .await
        .expect("infallible");
    let etag = first.headers()[header::ETAG].clone();
    let again = Request::get("/history")
        .header(header::ACCEPT, html)
        .header(header::IF_NONE_MATCH, etag)
        .body(Body::empty())
        .expect("request");
    let again = app.clone().oneshot(again).await.expect("infallible");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // The API at its API Gateway paths and under /api; never the page for an API path.
    for path in ["/feed", "/api/feed"] {
        let (status, body) = call(&app, get(path, "*/*")).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, r#"{"items":[],"nextCursor":null}"#),
            "{path}"
        );
    }
    for path in ["/api/nowhere", "/api"] {
        let (status, body) = call(&app, get(path, html)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(body.contains("\"code\":\"not_found\""), "{path}: {body}");
    }
    let (status, body) = call(&app, get("/nowhere", "application/json")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("\"requestId\""), "{body}");
    let (status, _) = call(&app, get("/api/me", html)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    std::fs::remove_dir_all(&dist).ok();
}

#[tokio::test]
async fn the_local_server_sweeps_a_job_no_worker_takes_on_its_interval() {
    let aws = artforge_testkit::sdk_config();
    let provisioned =
        resources::provision(&aws, Names::prefixed(&artforge_testkit::unique("sweep")))
            .await
            .expect("provisioned");
    // No worker runs, and a job counts as stuck at once: the first sweep sends it again, the
    // next fails and refunds it.
    let mut defaults = artforge_dev::local_defaults(&provisioned, 9, artforge_testkit::JWT_KEYS);
    defaults.insert("SWEEP_AFTER_SECONDS", "0".to_owned());
    let app = artforge_dev::app(&aws, &defaults, 9).expect("app");
    let sweeps =
        artforge_dev::run_sweeper(app.sweeper.clone(), std::time::Duration::from_millis(200));

    let register = Request::post("/auth/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"email":"sam@example.com","password":"correct horse battery"}"#,
        ))
        .expect("request");
    let (_, body) = call(&app.router, register).await;
    let token = serde_json::from_str::<serde_json::Value>(&body).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let submit = Request::post("/generations")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"prompt":"a kite over dunes","model":"v2","preset":"square"}"#,
        ))
        .expect("request");
    let (status, body) = call(&app.router, submit).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).expect("json")["job"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let job = loop {
        let get = Request::get(format!("/generations/{id}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        let (_, body) = call(&app.router, get).await;
        let job: serde_json::Value = serde_json::from_str(&body).expect("json");
        if job["status"] == "failed" {
            break job;
        }
        assert!(std::time::Instant::now() < deadline, "still {job}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    sweeps.abort();
    assert_eq!(job["refunded"], job["cost"], "{job}");
    let me = Request::get("/me")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let (_, body) = call(&app.router, me).await;
    let me: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(me["credits"], 3, "refunded once");
}

#[tokio::test]
async fn a_browser_on_the_local_origin_may_put_an_upload_to_the_local_bucket() {
    let app = crate::common::local_app("up").await;
    let register = Request::post("/auth/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"email":"uma@example.com","password":"correct horse battery"}"#,
        ))
        .expect("request");
    let (status, body) = call(&app, register).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = serde_json::from_str::<serde_json::Value>(&body).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let ask = Request::post("/api/uploads")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"contentType":"image/png","size":4}"#))
        .expect("request");
    let (status, body) = call(&app, ask).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let upload: serde_json::Value = serde_json::from_str(&body).expect("json");
    let url = upload["url"].as_str().expect("a URL");
    let client = artforge_devstack::http_client().build().expect("a client");
    let preflight = client
        .request(reqwest::Method::OPTIONS, url)
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("moto answers");
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_some(),
        "{:?}",
        preflight.headers()
    );
    let put = client
        .put(url)
        .header("origin", "http://localhost:3000")
        .header("content-type", "image/png")
        .body(b"\x89PNG".to_vec())
        .send()
        .await
        .expect("moto answers");
    assert!(put.status().is_success(), "{}", put.status());
    assert!(put.headers().get("access-control-allow-origin").is_some());
}
