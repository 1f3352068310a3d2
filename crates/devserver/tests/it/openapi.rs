//! The OpenAPI document cannot drift: the committed copy is what the code generates, its
//! operations are exactly the routes `template.yaml` deploys, and every one reaches a handler
//! on the local server (not the "no such route" fallback).

use std::collections::BTreeSet;

use artforge_testkit::http::{request, send};
use serde_json::Value;

const COMMITTED: &str = "openapi.json";

fn generated() -> Value {
    serde_json::from_str(&artforge_dev::openapi::json().expect("the document serialises"))
        .expect("the document is JSON")
}

/// `(METHOD, /path)` of every operation in the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            found.insert((method.to_uppercase(), path.clone()));
        }
    }
    found
}

#[test]
fn the_committed_document_is_what_the_code_generates() {
    let path = artforge_devstack::workspace_root().join(COMMITTED);
    let fresh = artforge_dev::openapi::json().expect("the document serialises");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &fresh).expect("writing openapi.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{COMMITTED} differs from the document the code generates; run `make openapi` and commit it"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_unique_operation_ids_and_problem_errors() {
    let doc = generated();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    let all_ids: BTreeSet<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .flat_map(|item| item.as_object().expect("a path item").values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let mut links = 0;
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let id = op["operationId"].as_str().expect("an operationId");
            assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
            let responses = op["responses"].as_object().expect("responses");
            for status in ["500", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            let secured = op["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty() && s.iter().all(|r| r != &serde_json::json!({})));
            assert!(
                !secured || responses.contains_key("401"),
                "{method} {path}: a signed-in-only operation documents 401"
            );
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} takes a body but lacks {status}"
                    );
                }
            }
            for (status, response) in responses {
                for (name, link) in response["links"].as_object().into_iter().flatten() {
                    links += 1;
                    let target = link["operationId"].as_str().unwrap_or_default();
                    assert!(
                        all_ids.contains(target),
                        "{method} {path} {status}: link {name} names no operation: {link}"
                    );
                }
                // A share page answers crawlers HTML, its 404 included (`GET /i/{id}`).
                let html = response["content"]["text/html"].is_object();
                if (status.starts_with('4') || status.starts_with('5')) && !html {
                    assert!(
                        response["content"]["application/problem+json"]["schema"]["$ref"]
                            == "#/components/schemas/Problem",
                        "{method} {path} {status} is not a problem"
                    );
                }
            }
        }
    }
    assert!(links >= 10, "the stateful links are gone: {links}");
    let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    assert!(
        codes
            .as_array()
            .is_some_and(|c| c.contains(&Value::from("insufficient_credits"))),
        "{codes}"
    );
    for scheme in ["bearer", "cookie"] {
        assert!(
            doc["components"]["securitySchemes"][scheme].is_object(),
            "no {scheme} scheme"
        );
    }
}

#[test]
fn the_documented_operations_are_the_deployed_routes() {
    let text = std::fs::read_to_string(artforge_devstack::workspace_root().join("template.yaml"))
        .expect("template.yaml");
    let template: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
    let mut deployed = BTreeSet::new();
    for (_, resource) in template["Resources"]
        .as_mapping()
        .expect("resources")
        .iter()
    {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"].as_str() == Some("HttpApi") {
                let props = &event["Properties"];
                deployed.insert((
                    props["Method"].as_str().expect("a method").to_uppercase(),
                    props["Path"].as_str().expect("a path").to_owned(),
                ));
            }
        }
    }
    assert_eq!(operations(&generated()), deployed);
}

#[tokio::test]
async fn every_documented_operation_reaches_a_handler_and_the_server_serves_the_document() {
    let app = crate::common::local_app("oa").await;
    let doc = generated();
    for (method, path) in operations(&doc) {
        let uri = path.replace("{id}", "01JAAAAAAAAAAAAAAAAAAAAAAA");
        // Share pages are mounted under `/api` only: the web client has its own `/i/{id}`.
        let uri = if uri.starts_with("/i/") {
            format!("/api{uri}")
        } else {
            uri
        };
        let answer = send(&app, request(&method, &uri, None, None)).await;
        assert!(
            !answer.text.contains("no such route")
                && !answer.text.contains("does not take this method"),
            "{method} {uri} is documented but not routed: {} {}",
            answer.status,
            answer.text
        );
    }
    let served = send(&app, request("GET", "/openapi.json", None, None)).await;
    assert_eq!(served.json, doc);
}
