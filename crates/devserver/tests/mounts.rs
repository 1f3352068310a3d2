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
    let app = artforge_dev::app(&aws, &provisioned, 3000, artforge_testkit::JWT_KEYS).expect("app");

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
