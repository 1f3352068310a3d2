//! Faults in the gallery's writes, injected on the wire by a proxy in front of moto
//! (`artforge_testkit::faults`): a delete interrupted after hiding the image or after removing
//! its files, and likes and unlikes under transaction conflicts, throttling and lost answers.
//! Each test ends with the invariants over the whole table and bucket: no live image points at
//! a missing file, no file belongs to no image, every like count equals its like items.

use artforge_testkit::{
    faults::{Fault, FaultProxy, Rule, When},
    http::{request, send},
};
use http::StatusCode;

use crate::common::{App, Spec};

/// The gallery router with its own clients behind `proxy`; `app` keeps the direct ones.
fn faulty_router(app: &App, proxy: &FaultProxy) -> axum::Router {
    app.router_via(&proxy.sdk_config())
}

async fn invariants(app: &App) -> artforge_testkit::invariants::Report {
    artforge_testkit::invariants::check(&app.store, &app.files).await
}

#[tokio::test]
async fn a_delete_whose_file_removal_fails_hides_the_image_and_a_retry_finishes_it() {
    let app = App::new().await;
    let proxy = FaultProxy::start().await;
    let router = faulty_router(&app, &proxy);
    let (owner, token) = app.user().await;
    let image = app.image(owner, Spec::default()).await;
    let path = format!("/images/{}", image.id);
    proxy.add(Rule::on("s3:DeleteObjects").when(When::NthCall(1)));
    let answer = send(&router, request("DELETE", &path, Some(&token), None)).await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.text
    );
    let hidden = send(&router, request("GET", &path, Some(&token), None)).await;
    assert_eq!(
        hidden.status,
        StatusCode::NOT_FOUND,
        "hidden while half deleted"
    );
    let report = invariants(&app).await;
    report.assert_clean();
    assert_eq!(
        (report.images, report.retired_images, report.objects),
        (0, 1, 3)
    );

    let retried = send(&router, request("DELETE", &path, Some(&token), None)).await;
    assert_eq!(retried.status, StatusCode::NO_CONTENT, "{}", retried.text);
    let report = invariants(&app).await;
    report.assert_clean();
    assert_eq!((report.retired_images, report.objects), (0, 0));
}

#[tokio::test]
async fn a_delete_whose_last_write_fails_leaves_no_live_image_without_files() {
    let app = App::new().await;
    let proxy = FaultProxy::start().await;
    let router = faulty_router(&app, &proxy);
    let (owner, token) = app.user().await;
    let image = app.image(owner, Spec::default()).await;
    let path = format!("/images/{}", image.id);
    // The files are removed, then forgetting the metadata fails (throttled past the retries).
    proxy.add(
        Rule::on("dynamodb:DeleteItem")
            .when(When::NthCall(1))
            .fault(Fault::Throttle),
    );
    let answer = send(&router, request("DELETE", &path, Some(&token), None)).await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.text
    );
    let report = invariants(&app).await;
    report.assert_clean();
    assert_eq!(
        (report.images, report.retired_images, report.objects),
        (0, 1, 0)
    );
    let retried = send(&router, request("DELETE", &path, Some(&token), None)).await;
    assert_eq!(retried.status, StatusCode::NO_CONTENT, "{}", retried.text);
    let report = invariants(&app).await;
    report.assert_clean();
    assert_eq!(report.retired_images, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn likes_and_unlikes_under_conflicts_throttling_and_lost_answers_keep_exact_counts() {
    let app = App::new().await;
    let proxy = FaultProxy::start().await;
    let router = faulty_router(&app, &proxy);
    let (owner, _) = app.user().await;
    let image = app
        .image(
            owner,
            Spec {
                visibility: artforge_domain::Visibility::Public,
                ..Spec::default()
            },
        )
        .await;
    let mut tokens = Vec::new();
    for _ in 0..10 {
        tokens.push(app.user().await.1);
    }
    for (n, fault) in [Fault::TransactionConflict, Fault::Throttle]
        .into_iter()
        .enumerate()
    {
        proxy.add(
            Rule::on("dynamodb:TransactWriteItems")
                .when(When::Chance {
                    per_mille: 200,
                    seed: n as u64,
                })
                .fault(fault),
        );
    }
    proxy.add(
        Rule::on("dynamodb:TransactWriteItems")
            .when(When::Chance {
                per_mille: 150,
                seed: 9,
            })
            .fault(Fault::Internal)
            .after_forward(),
    );
    let like = format!("/images/{}/like", image.id);
    // Each user likes, unlikes and likes again, all users at once; a 503 is retried.
    let calls = tokens.iter().enumerate().map(|(i, token)| {
        let (router, like) = (router.clone(), like.clone());
        async move {
            let methods: &[&str] = if i % 2 == 0 {
                &["PUT", "DELETE", "PUT"]
            } else {
                &["PUT", "DELETE"]
            };
            for method in methods {
                for _ in 0..10 {
                    let answer = send(&router, request(method, &like, Some(token), None)).await;
                    if answer.status != StatusCode::SERVICE_UNAVAILABLE {
                        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
                        break;
                    }
                }
            }
        }
    });
    futures::future::join_all(calls).await;
    proxy.clear();
    assert!(proxy.injected() > 0, "{:?}", proxy.stats());
    let report = invariants(&app).await;
    report.assert_clean();
    assert_eq!(report.likes, 5);
    let seen = send(
        &router,
        request(
            "GET",
            &format!("/images/{}", image.id),
            Some(&tokens[0]),
            None,
        ),
    )
    .await;
    assert_eq!(seen.json["likes"], 5, "{}", seen.text);
}
