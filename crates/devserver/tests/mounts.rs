//! The local server mounts every function's routes over resources created like `make dev` does.

use artforge_devstack::resources::{self, Names};
use axum::body::Body;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn call(app: &axum::Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn every_function_answers_at_its_api_gateway_paths_on_the_local_server() {
    let aws = artforge_testkit::sdk_config().await;
    let provisioned = resources::provision(&aws, Names::prefixed(&artforge_testkit::unique("dev")))
        .await
        .expect("provisioned");
    let app = artforge_dev::app(&aws, &provisioned, 3000, artforge_testkit::JWT_KEYS)
        .expect("app")
        .router;

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
    let aws = artforge_testkit::sdk_config().await;
    let provisioned = resources::provision(&aws, Names::prefixed(&artforge_testkit::unique("dev")))
        .await
        .expect("provisioned");
    // Served for real: the worker reaches the OpenAI stand-in on this server's port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let port = listener.local_addr().expect("address").port();
    let app = artforge_dev::app(&aws, &provisioned, port, artforge_testkit::JWT_KEYS).expect("app");
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
