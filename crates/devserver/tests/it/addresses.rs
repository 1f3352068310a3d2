//! The local server counts each client by its TCP peer, as API Gateway's `sourceIp`, and never
//! by a header the client sends.

use std::net::SocketAddr;

use artforge_devstack::resources::{self, Names};
use artforge_domain::{ClientAddress, RateKey, RateLimits};
use artforge_dynamo::DynamoStore;

#[tokio::test]
async fn sign_ups_over_tcp_are_counted_by_the_peer_address_whatever_x_forwarded_for_says() {
    let aws = artforge_testkit::sdk_config();
    let provisioned = resources::provision(&aws, Names::prefixed(&artforge_testkit::unique("ip")))
        .await
        .expect("provisioned");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let port = listener.local_addr().expect("address").port();
    let mut defaults = artforge_dev::local_defaults(&provisioned, port, artforge_testkit::JWT_KEYS);
    defaults.insert("SIGNUPS_PER_ADDRESS_PER_HOUR", "2".to_owned());
    let app = artforge_dev::app(&aws, &defaults, port).expect("app");
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });

    let client = artforge_devstack::http_client().build().expect("client");
    let mut statuses = Vec::new();
    for n in 0..3 {
        let answer = client
            .post(format!("http://127.0.0.1:{port}/auth/register"))
            .header("content-type", "application/json")
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .body(format!(
                r#"{{"email":"user{n}@example.com","password":"correct horse battery"}}"#
            ))
            .send()
            .await
            .expect("answer");
        let retry_after = answer.headers().contains_key("retry-after");
        let status = answer.status().as_u16();
        let body = answer.text().await.expect("body");
        statuses.push(status);
        if status == 429 {
            assert!(body.contains("rate_limited") && retry_after, "{body}");
        }
    }
    // An hour may turn between two requests; then the third is admitted too.
    assert!(
        statuses == [201, 201, 429] || statuses == [201, 201, 201],
        "{statuses:?}"
    );

    // The counts are the peer's: three sign-ups from 127.0.0.1 (and a fourth, this read).
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        provisioned.names.table.clone(),
    );
    let now = time::OffsetDateTime::now_utc();
    let hour = artforge_domain::RateLimit::per_hour(2).window_at(now);
    let from = ClientAddress::parse("127.0.0.1").expect("an address");
    let count = store
        .count(&RateKey::SignupsFrom(from), hour.0, hour.1)
        .await
        .expect("counted");
    assert!(count >= 2, "counted for 127.0.0.1: {count}");
}
