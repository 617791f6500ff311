//! The verifier's web service in this process, on loopback, writing down
//! every request it gets (method, address, referrer): what a test checks
//! never reached it (an invitation in an address's fragment, say).

use std::sync::{Arc, Mutex};

use anyhow::Result;
use countersign_verifier::config::Config;
use countersign_verifier::http::{AppState, app_with};

/// A running verifier; it stops with the value.
#[derive(Debug)]
pub struct RecordingVerifier {
    _runtime: tokio::runtime::Runtime,
    /// Its address, `http://127.0.0.1:<port>`.
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl RecordingVerifier {
    /// The default service.
    pub fn start() -> Result<RecordingVerifier> {
        RecordingVerifier::start_with(AppState::new(&Config::default(), Default::default()))
    }

    /// The service with `state` (a guest signer's files, say).
    pub fn start_with(state: AppState) -> Result<RecordingVerifier> {
        let runtime = tokio::runtime::Runtime::new()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let url = format!("http://{}", listener.local_addr()?);
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let record = seen.clone();
        let service =
            app_with(state).layer(axum::middleware::from_fn(move |request: axum::extract::Request, next: axum::middleware::Next| {
                let referrer = request.headers().get("referer").map(|r| r.to_str().unwrap_or("?").to_owned()).unwrap_or_default();
                record.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(format!(
                    "{} {} {referrer}",
                    request.method(),
                    request.uri()
                ));
                next.run(request)
            }));
        runtime.spawn(async move { axum::serve(listener, service).await });
        Ok(RecordingVerifier { _runtime: runtime, url, seen })
    }

    /// Every request so far: `METHOD address referrer`.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}
