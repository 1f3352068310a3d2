//! Every sample event in `events/generate/` runs as Lambda would deliver it. API Gateway events
//! (`<case>.<status>.json`) go through the router and answer the status their name documents;
//! SQS events (`<case>.sqs.json`) go through the worker. Fixture: the signed-in user (3
//! credits) has job `__JOB_ID__` (one credit) queued; another user has `__FOREIGN_JOB_ID__`
//! and a private image `__FOREIGN_IMAGE_ID__`.

use crate::common::{Stack, body, job_id};
use artforge_domain::UserId;
use aws_lambda_events::event::sqs::SqsEvent;
use http::StatusCode;

struct Fixture {
    user: UserId,
    token: String,
    job: String,
    foreign_job: String,
    foreign_image: String,
}

async fn fixture(stack: &Stack) -> Fixture {
    let (user, token) = stack.user().await;
    let (other_id, other) = stack.user().await;
    let job = job_id(&stack.submit(&token, &body("fixture", "square", 1)).await);
    let foreign_job = job_id(&stack.submit(&other, &body("foreign", "square", 1)).await);
    let foreign_image =
        artforge_fakes::contract::image(other_id, artforge_domain::Preset::Square, &[]);
    artforge_domain::Images::add(&stack.store, &foreign_image)
        .await
        .expect("an image of another user");
    Fixture {
        user,
        token,
        job,
        foreign_job,
        foreign_image: foreign_image.id.to_string(),
    }
}

fn fill(text: &str, stack: &Stack, f: &Fixture) -> String {
    text.replace("__SESSION_TOKEN__", &f.token)
        .replace("__FOREIGN_JOB_ID__", &f.foreign_job)
        .replace("__FOREIGN_IMAGE_ID__", &f.foreign_image)
        .replace("__JOB_ID__", &f.job)
        .replace("__USER_ID__", &f.user.to_string())
        .replace(
            "__DEAD_LETTER_QUEUE_ARN__",
            &stack.queues.dead_letter_queue_arn,
        )
        .replace("__QUEUE_ARN__", stack.jobs.queue_arn())
}

#[tokio::test]
async fn every_api_sample_event_answers_the_status_its_name_documents() {
    let events = artforge_testkit::http::sample_events("generate");
    assert!(events.len() >= 15, "found only {} events", events.len());
    for (name, expected, text) in events {
        let stack = Stack::new().await;
        let f = fixture(&stack).await;
        let request = artforge_testkit::http::event_request(&fill(&text, &stack, &f));
        let answer = artforge_testkit::http::send(&stack.router, request).await;
        assert_eq!(answer.status.as_u16(), expected, "{name}: {}", answer.text);
        if expected >= 400 {
            assert_eq!(
                answer.headers[http::header::CONTENT_TYPE],
                "application/problem+json",
                "{name}"
            );
        }
        if expected == 202 {
            assert_eq!(answer.json["job"]["status"], "queued", "{name}");
        }
    }
}

#[tokio::test]
async fn every_sqs_sample_event_is_handled_by_the_worker() {
    let events = artforge_testkit::http::sqs_events("generate");
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["worker-dead-letter", "worker-job", "worker-malformed"]
    );
    for (name, text) in events {
        let stack = Stack::new().await;
        let f = fixture(&stack).await;
        let event: SqsEvent = serde_json::from_str(&fill(&text, &stack, &f))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let response = stack.worker.handle(event).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "{name}: nothing to retry"
        );
        let job = stack.job(&f.token, &f.job).await;
        assert_eq!(job.status, StatusCode::OK);
        let expected = match name.as_str() {
            "worker-job" => "succeeded",
            "worker-dead-letter" => "failed",
            _ => "queued",
        };
        assert_eq!(job.json["status"], expected, "{name}: {}", job.text);
    }
}
