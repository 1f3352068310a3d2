//! Like counts stay exact under concurrency: moto underneath, the real transactions.

use artforge_domain::{Images, Visibility};
use http::StatusCode;

use crate::common::{App, Spec};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_likes_and_unlikes_keep_the_count_exact() {
    let app = App::new().await;
    let (ada, ada_token) = app.user().await;
    let image = app
        .image(
            ada,
            Spec {
                visibility: Visibility::Public,
                ..Spec::default()
            },
        )
        .await;
    let like = format!("/images/{}/like", image.id);
    let count = || async {
        app.store
            .image(ada, image.id)
            .await
            .expect("read")
            .expect("image")
            .likes
    };

    let same_user =
        futures::future::join_all((0..20).map(|_| app.call("PUT", &like, Some(&ada_token), None)))
            .await;
    assert!(
        same_user.iter().all(|a| a.status == StatusCode::OK),
        "{:?}",
        same_user.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
    assert_eq!(count().await, 1, "20 likes by one user count once");

    let mut tokens = Vec::new();
    for _ in 0..19 {
        tokens.push(app.user().await.1);
    }
    let others =
        futures::future::join_all(tokens.iter().map(|t| app.call("PUT", &like, Some(t), None)))
            .await;
    assert!(others.iter().all(|a| a.status == StatusCode::OK));
    assert_eq!(count().await, 20, "20 users, 20 likes");

    tokens.push(ada_token.clone());
    let unlikes = futures::future::join_all(tokens.iter().flat_map(|t| {
        [
            app.call("DELETE", &like, Some(t), None),
            app.call("DELETE", &like, Some(t), None),
        ]
    }))
    .await;
    assert!(unlikes.iter().all(|a| a.status == StatusCode::OK));
    assert_eq!(count().await, 0, "every like taken back, each once");
}
