//! The documents' OpenAPI `links` chain each submit to its poll, and they hold on the
//! emulator: submit a seed page's example, evaluate the link's runtime expression on the answer,
//! call the linked operation with it, and get the task back.
#![cfg(feature = "sandbox")]

mod common;

use common::{plain_http, seed_examples};
use happyhorse::{
    contract,
    provider::Auth,
    sandbox::{Sandbox, SandboxConfig},
    Provider,
};
use serde_json::Value;

/// The submit operation's success response, its one link, and the linked operation's path.
struct Chain {
    submit_path: String,
    status: String,
    operation: String,
    expression: String,
    poll_path: String,
}

fn chain(provider: Provider) -> Chain {
    let document = contract::openapi(provider);
    let paths = document["paths"].as_object().expect("paths");
    let (submit_path, post) = paths
        .iter()
        .find_map(|(path, item)| item.get("post").map(|op| (path.clone(), op)))
        .expect("a submit operation");
    let (status, response) = post["responses"]
        .as_object()
        .expect("responses")
        .iter()
        .find(|(status, _)| status.starts_with('2'))
        .expect("a success response");
    let links = response["links"]
        .as_object()
        .expect("the success response has links");
    assert_eq!(links.len(), 1, "{provider}: one link, to the poll");
    let link = links.values().next().expect("a link");
    let operation = link["operationId"]
        .as_str()
        .expect("operationId")
        .to_owned();
    let parameters = link["parameters"].as_object().expect("parameters");
    assert_eq!(parameters.len(), 1, "{provider}");
    let (name, expression) = parameters.iter().next().expect("a parameter");
    let poll_path = paths
        .iter()
        .find(|(_, item)| item["get"]["operationId"] == operation.as_str())
        .map(|(path, _)| path.clone())
        .unwrap_or_else(|| panic!("{provider}: no operation {operation}"));
    assert!(
        poll_path.contains(&format!("{{{name}}}")),
        "{provider}: {poll_path} has no parameter {name}"
    );
    assert!(
        link["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{provider}: the link says what it is for"
    );
    Chain {
        submit_path,
        status: status.clone(),
        operation,
        expression: expression.as_str().expect("an expression").to_owned(),
        poll_path: poll_path.replace(&format!("{{{name}}}"), "{}"),
    }
}

#[tokio::test]
async fn each_submit_links_to_its_poll_and_the_link_holds_on_the_sandbox() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let http = plain_http();
    for provider in Provider::ALL {
        let chain = chain(provider);
        let pointer = chain
            .expression
            .strip_prefix("$response.body#")
            .unwrap_or_else(|| panic!("{provider}: {} reads the body", chain.expression));
        let body = seed_examples()
            .into_iter()
            .find(|(p, _, _)| *p == provider)
            .map(|(_, _, body)| body)
            .expect("a seed example");
        let key = format!("{}links", provider.key_prefix());
        let auth = |request: reqwest::RequestBuilder| match provider.facts().auth {
            Auth::Bearer => request.bearer_auth(&key),
            Auth::Header(name) => request.header(name, &key),
            other => panic!("{provider}: an auth this test does not know: {other:?}"),
        };
        let base = sandbox.base_url(provider);
        let answer = auth(http.post(format!("{base}{}", chain.submit_path)))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_str(), chain.status, "{provider}");
        let answer: Value = answer.json().await.unwrap();
        let id = answer
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{provider}: {pointer} not in {answer}"));
        let poll = chain.poll_path.replace("{}", id);
        let polled = auth(http.get(format!("{base}{poll}")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            polled.status(),
            200,
            "{provider}: {} {poll}",
            chain.operation
        );
        let polled = polled.text().await.unwrap();
        assert!(polled.contains(id), "{provider}: {polled}");
    }
}
