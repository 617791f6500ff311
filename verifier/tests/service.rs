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

/// The memory a check takes is reserved before it starts, beside the
/// upload's: with too little free, the answer is 503 at once, never a check
/// that takes what others need.
#[tokio::test]
async fn a_check_that_does_not_fit_the_memory_left_gets_503() {
    let (_, pdf) = signed_pdf();
    let needed = countersign_shared::verify::memory_to_check(pdf.len()).div_ceil(1024 * 1024);
    let tight = Config { upload_memory_mb: needed - 1, ..Config::default() };
    assert!(tight.upload_memory_mb * 1024 * 1024 >= pdf.len(), "the upload alone fits");
    let post_sized = |config: Config, pdf: Vec<u8>| async move {
        let request = Request::post("/api/v1/verify")
            .header(header::CONTENT_TYPE, "application/pdf")
            .header(header::CONTENT_LENGTH, pdf.len())
            .body(Body::from(pdf))
            .unwrap();
        let response = app(&config).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null))
    };
    let (status, answer) = post_sized(tight, pdf.clone()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("busy"), "{answer}");
    let enough = Config { upload_memory_mb: needed, ..Config::default() };
    let (status, report) = post_sized(enough, pdf).await;
    assert_eq!((status, report["verdict"].as_str()), (StatusCode::OK, Some("valid")), "{report}");
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

/// A server on loopback that knows each client's address.
fn serve(runtime: &tokio::runtime::Runtime, config: Config) -> std::net::SocketAddr {
    use countersign_verifier::http::{AppState, app_with};
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let address = listener.local_addr().unwrap();
    let trusted = config.trusted().unwrap();
    let app = app_with(AppState::new(&config, trusted));
    runtime.spawn(async move { axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await });
    address
}

/// A raw HTTP upload from `from` (any 127.x address is this machine):
/// the headers and `first` bytes of a body of `declared` bytes, and no more.
async fn start_upload(server: std::net::SocketAddr, from: [u8; 4], declared: usize, first: &[u8]) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt as _;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(std::net::SocketAddr::from((from, 0))).unwrap();
    let mut stream = socket.connect(server).await.unwrap();
    let head =
        format!("POST /api/v1/verify HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/pdf\r\nContent-Length: {declared}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream
}

/// Sends a whole upload from `from` and returns the status and the JSON answer.
async fn upload(server: std::net::SocketAddr, from: [u8; 4], pdf: &[u8]) -> (u16, Value) {
    use tokio::io::AsyncReadExt as _;
    let mut stream = start_upload(server, from, pdf.len(), pdf).await;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 65536];
    loop {
        let read = stream.read(&mut buffer).await.unwrap_or(0);
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse::<usize>().unwrap()));
            if length.is_some_and(|length| body.len() >= length) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn seventy_slow_clients_do_not_delay_a_fast_one_and_one_address_is_limited() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = serve(&runtime, Config { per_client: 8, ..Config::default() });
    let (_, pdf) = signed_pdf();
    runtime.block_on(async {
        // Seventy uploads from 127.0.0.2 that send their headers and then nothing.
        let mut slow = Vec::new();
        for _ in 0..70 {
            slow.push(start_upload(server, [127, 0, 0, 2], 1_000_000, b"%PDF-1.7\n").await);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // One more from that address is refused at once: it has eight going.
        let (status, answer) = upload(server, [127, 0, 0, 2], &pdf).await;
        assert_eq!(status, 429, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains("already has 8 checks going"), "{answer}");
        // A client elsewhere gets its check at once.
        let started = std::time::Instant::now();
        let (status, report) = upload(server, [127, 0, 0, 1], &pdf).await;
        let took = started.elapsed();
        assert_eq!((status, report["verdict"].as_str()), (200, Some("valid")), "{report}");
        assert!(took < std::time::Duration::from_secs(1), "the fast client waited {took:?}");
        drop(slow);
    });
}

#[test]
fn a_check_past_its_deadline_is_stopped_and_frees_its_slot() {
    use countersign_shared::log::bundle::LOG_MAGIC;
    use countersign_shared::test_utils::long_log;
    // A file whose log takes far longer to check than the deadline allows:
    // 30,000 signed entries, every one of which must be verified.
    let (envelope, entries) = long_log(30_000);
    let mut log = LOG_MAGIC.to_vec();
    log.extend_from_slice(envelope.as_bytes());
    log.extend_from_slice(&u32::try_from(entries.len()).unwrap().to_be_bytes());
    for entry in &entries {
        log.extend_from_slice(&u32::try_from(entry.bytes().len()).unwrap().to_be_bytes());
        log.extend_from_slice(entry.bytes());
    }
    let mut slow = countersign_shared::test_utils::contract_pdf(1);
    let at = slow.len();
    slow.extend_from_slice(format!("90 0 obj\n<</Type/EmbeddedFile/Length {}>>stream\n", log.len()).as_bytes());
    slow.extend_from_slice(&log);
    slow.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = slow.len();
    slow.extend_from_slice(format!("xref\n90 1\n{at:010} 00000 n\r\ntrailer\n<</Size 91>>\nstartxref\n{xref}\n%%EOF\n").as_bytes());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = serve(&runtime, Config { check_timeout_ms: 150, ..Config::default() });
    let (_, pdf) = signed_pdf();
    let slots = 2 * std::thread::available_parallelism().map_or(1, usize::from);
    runtime.block_on(async {
        let mut stopped = Vec::new();
        for n in 0..slots {
            let slow = slow.clone();
            stopped.push(tokio::spawn(async move { upload(server, [127, 0, 1, n as u8 + 1], &slow).await }));
        }
        for check in stopped {
            let (status, answer) = check.await.unwrap();
            assert_eq!(status, 408, "{answer}");
            assert!(answer["error"].as_str().unwrap().contains("took too long and was stopped"), "{answer}");
        }
        // Every slot was taken by a stopped check; they are free again.
        let started = std::time::Instant::now();
        let (status, report) = upload(server, [127, 0, 0, 1], &pdf).await;
        assert_eq!((status, report["verdict"].as_str()), (200, Some("valid")), "{report}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "waited {:?} for a slot", started.elapsed());
    });
}

#[test]
fn an_upload_slower_than_its_deadline_is_cut_off() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = serve(&runtime, Config { request_timeout_secs: 1, ..Config::default() });
    runtime.block_on(async {
        use tokio::io::AsyncReadExt as _;
        let mut stream = start_upload(server, [127, 0, 0, 1], 1_000_000, b"%PDF-1.7\n").await;
        let mut answer = vec![0u8; 4096];
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut answer)).await.unwrap().unwrap();
        let text = String::from_utf8_lossy(&answer[..read]);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(text.contains("The upload took too long"), "{text}");
    });
}

#[test]
fn the_service_vouches_for_the_roots_its_config_names() {
    use countersign_shared::pades::certificate::to_pem;
    use countersign_shared::test_utils::company_authority;
    let scenario = Scenario::certified_contract();
    let (ca, _) = company_authority();
    let dir = std::env::temp_dir().join(format!("countersign-verifier-trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("acme.pem"), to_pem(&ca)).unwrap();
    std::fs::write(dir.join("verifier.toml"), "trusted_roots = [\"acme.pem\"]\n").unwrap();
    let config = Config::load(&dir.join("verifier.toml")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = serve(&runtime, config);
    let (status, report) = runtime.block_on(upload(server, [127, 0, 0, 1], &scenario.render()));
    assert_eq!(status, 200);
    assert_eq!(report["schema"], 3);
    assert_eq!(report["parties"][0]["identity"]["trusted"], true, "{report}");
    assert_eq!(report["parties"][0]["identity"]["level"], "certificate");
    assert_eq!(report["parties"][1]["identity"]["level"], "key_only");
    assert!(report["identity_summary"].as_str().unwrap().starts_with("1 of 2 signers"), "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}
