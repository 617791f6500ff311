//! The verifier service: router tests without a socket (`oneshot`), and the
//! real server on loopback with real uploads.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use countersign_shared::test_utils::Scenario;
use countersign_verifier::config::Config;
use countersign_verifier::http::app;
use serde_json::Value;
use tower::ServiceExt as _;

fn signed_pdf() -> (Scenario, Vec<u8>) {
    let scenario = Scenario::signed_contract();
    let pdf = scenario.render();
    (scenario, pdf)
}

async fn post(config: &Config, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let request = Request::post("/api/v1/verify").header(header::CONTENT_TYPE, content_type).body(Body::from(body)).unwrap();
    let response = app(config).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn get(path: &str) -> (StatusCode, String) {
    let response = app(&Config::default()).oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn a_valid_document_gets_its_report() {
    let (scenario, pdf) = signed_pdf();
    let (status, report) = post(&Config::default(), "application/pdf", pdf).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["verdict"], "valid");
    assert_eq!(report["envelope"], scenario.envelope.to_string());
    assert_eq!(report["parties"][0]["name"], "Dmitri Director");
    assert_eq!(report["parties"][1]["role"], "client");
}

#[tokio::test]
async fn a_tampered_document_is_invalid_with_its_reasons() {
    let (_, mut pdf) = signed_pdf();
    pdf.extend_from_slice(b"\n% appended\n");
    let (status, report) = post(&Config::default(), "application/pdf", pdf).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["verdict"], "invalid");
    assert!(report["reasons"][0].as_str().unwrap().contains("Bytes were added after signing"));
}

#[tokio::test]
async fn files_that_cannot_be_checked_get_422_with_a_specific_reason() {
    let encrypted = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/corpus/libreoffice-writer-password.pdf")).unwrap();
    let plain = countersign_shared::test_utils::contract_pdf(1);
    let (_, signed) = signed_pdf();
    // Cut after its log: the log is still there, the end of the document is not.
    let cut_after_log = signed[..signed.len() - 200].to_vec();
    let cases: [(Vec<u8>, &str); 5] = [
        (b"hello, not a PDF".to_vec(), "not a PDF"),
        (encrypted, "encrypted"),
        (plain, "no Countersign signing log"),
        (cut_after_log, "cut short"),
        (Vec::new(), "empty"),
    ];
    for (body, expected) in cases {
        let (status, answer) = post(&Config::default(), "application/pdf", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains(expected), "{answer}");
    }
}

#[tokio::test]
async fn an_upload_over_the_limit_gets_413() {
    let config = Config { upload_limit_mb: 1, ..Config::default() };
    let big = vec![b'%'; 2 * 1024 * 1024];
    // Streamed without a declared length: cut off once past the limit.
    let (status, answer) = post(&config, "application/pdf", big.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(answer["error"].as_str().unwrap().contains("larger than 1 MB"));
    // With a declared length: refused before reading.
    let request = Request::post("/api/v1/verify")
        .header(header::CONTENT_TYPE, "application/pdf")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big.clone()))
        .unwrap();
    assert_eq!(app(&config).oneshot(request).await.unwrap().status(), StatusCode::PAYLOAD_TOO_LARGE);
    // The file of a form upload.
    let boundary = "XcountersignX";
    let mut form = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n\r\n").into_bytes();
    form.extend_from_slice(&big);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (status, answer) = post(&config, &format!("multipart/form-data; boundary={boundary}"), form).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
}

#[tokio::test]
async fn a_multipart_form_upload_is_checked_too() {
    let (_, pdf) = signed_pdf();
    let boundary = "XcountersignX";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"final.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&pdf);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (status, report) = post(&Config::default(), &format!("multipart/form-data; boundary={boundary}"), body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["verdict"], "valid");
}

#[tokio::test]
async fn pages_api_description_and_health() {
    let (status, home) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("checked in memory and not kept"));
    assert!(home.contains("name=\"viewport\""));
    let id = "ab".repeat(32);
    let (_, envelope) = get(&format!("/e/{id}")).await;
    assert!(envelope.contains(&id) && envelope.contains("data-envelope"));
    let (_, bogus) = get("/e/%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert!(!bogus.contains("<script>alert") && bogus.contains("does not name a valid document"));
    let (_, join) = get("/join").await;
    assert!(join.contains("Install Countersign") && join.contains("never sent"));
    let (status, openapi) = get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let openapi: Value = serde_json::from_str(&openapi).unwrap();
    assert!(openapi["paths"]["/api/v1/verify"]["post"]["responses"]["422"].is_object());
    assert_eq!(get("/healthz").await, (StatusCode::OK, "ok".to_owned()));
}

#[test]
fn the_server_on_loopback_checks_real_uploads() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let address = listener.local_addr().unwrap();
    let config = Config { upload_limit_mb: 2, ..Config::default() };
    runtime.spawn(async move { axum::serve(listener, app(&config)).await });

    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = format!("http://{address}/api/v1/verify");
    let send = |body: &[u8]| {
        let mut response = agent.post(&url).header("Content-Type", "application/pdf").send(body).unwrap();
        let status = response.status().as_u16();
        let json: Value = serde_json::from_slice(&response.body_mut().read_to_vec().unwrap()).unwrap();
        (status, json)
    };
    let (_, pdf) = signed_pdf();
    let (status, report) = send(&pdf);
    assert_eq!((status, report["verdict"].as_str()), (200, Some("valid")));
    let mut tampered = pdf.clone();
    tampered[100] ^= 1;
    let (status, report) = send(&tampered);
    assert_eq!((status, report["verdict"].as_str()), (200, Some("invalid")));
    let (status, answer) = send(&pdf[..pdf.len() / 3]);
    assert_eq!(status, 422, "a file cut before its log: {answer}");
    // Over the limit: the server answers 413 and stops reading, so a client
    // still sending may see its connection cut instead. Either way, refused.
    let oversized = agent.post(&url).header("Content-Type", "application/pdf").send(&vec![0u8; 3 * 1024 * 1024][..]);
    match oversized {
        Ok(response) => assert_eq!(response.status().as_u16(), 413),
        Err(ureq::Error::Io(e)) => assert!(matches!(e.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset), "{e}"),
        Err(e) => panic!("unexpected: {e}"),
    }
}
