use std::collections::HashMap;

use artforge_devstack::{moto::MotoServer, sdk_config};
use artforge_http::session::SessionConfig;
use artforge_runtime::Env;
use artforge_secrets::{SecretsError, resolve};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY";

/// Creates `name` holding `value` and answers its ARN.
async fn secret(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) -> String {
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("created")
        .arn()
        .expect("an ARN")
        .to_owned()
}

#[tokio::test]
async fn configuration_named_by_secret_references_is_read_from_secrets_manager_at_init() {
    let moto = MotoServer::start(0).expect("moto");
    let aws = sdk_config(&moto.endpoint());
    let client = aws_sdk_secretsmanager::Client::new(&aws);
    // The shapes template.yaml deploys: the generated session key, and the operator's Stripe
    // secret, read by ARN and by name.
    let jwt = secret(
        &client,
        "artforge/jwt",
        &format!(r#"{{"kid":"k1","key":"{KEY}"}}"#),
    )
    .await;
    let stripe = secret(
        &client,
        "artforge/stripe",
        r#"{"secretKey":"sk_test_moto","webhookSecret":"whsec_new,whsec_old"}"#,
    )
    .await;
    let env = Env::with_defaults(HashMap::from([
        ("JWT_KEYS_SECRET_ARN", jwt),
        (
            "STRIPE_SECRET_KEY_SECRET_ARN",
            format!("{stripe}:secretKey"),
        ),
        (
            "STRIPE_WEBHOOK_SECRET_SECRET_ARN",
            "artforge/stripe:webhookSecret".to_owned(),
        ),
        ("STRIPE_SECRET_KEY", "sk_plain_variable_loses".to_owned()),
    ]));

    let env = resolve(env, &aws).await.expect("resolved");

    assert_eq!(
        env.optional("STRIPE_SECRET_KEY").as_deref(),
        Some("sk_test_moto")
    );
    assert_eq!(
        env.optional("STRIPE_WEBHOOK_SECRET").as_deref(),
        Some("whsec_new,whsec_old")
    );
    let session = SessionConfig::from_env(&env).expect("the session keys parse");
    assert!(format!("{:?}", session.keyring).contains("k1"));
}

#[tokio::test]
async fn without_references_nothing_is_read_and_a_missing_secret_stops_init_by_name() {
    let moto = MotoServer::start(0).expect("moto");
    let aws = sdk_config(&moto.endpoint());
    let plain = Env::with_defaults(HashMap::from([("OPENAI_API_KEY", "sk-local".to_owned())]));
    let plain = resolve(plain, &sdk_config("http://127.0.0.1:9"))
        .await
        .expect("no call");
    assert_eq!(
        plain.optional("OPENAI_API_KEY").as_deref(),
        Some("sk-local")
    );

    let missing = Env::with_defaults(HashMap::from([(
        "OPENAI_API_KEY_SECRET_ARN",
        "artforge/openai:apiKey".to_owned(),
    )]));
    let err = resolve(missing, &aws).await.expect_err("no such secret");
    assert!(
        matches!(&err, SecretsError::Read { name, secret, .. } if name == "OPENAI_API_KEY" && secret == "artforge/openai"),
        "{err:?}"
    );
}
