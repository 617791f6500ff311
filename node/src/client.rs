//! The CLI's side of the local API: finds the running node of a data dir and
//! calls it with the token from `api.json`.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::error::ApiError;
use crate::datadir::DataDir;
use crate::envelopes::Summary;

/// Largest answer read (a final PDF).
const MAX_ANSWER: u64 = 512 * 1024 * 1024;

/// Why a call did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No node runs on the data dir.
    #[error("no Countersign node is running on {0}; start it with `countersign --data-dir {0} serve`")]
    NotRunning(String),
    /// The file that says where the node listens is damaged.
    #[error("{0}")]
    Damaged(String),
    /// The node answered with an error.
    #[error("{0}")]
    Api(ApiError),
    /// The answer could not be read.
    #[error("the node's answer could not be read: {0}")]
    Protocol(String),
}

/// A connection to the running node of a data dir.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: String,
    dir: String,
}

impl Client {
    /// Connects to the node running on `data`.
    pub fn connect(data: &DataDir) -> Result<Self, ClientError> {
        let dir = data.root().display().to_string();
        let info =
            data.read_api_info().map_err(|e| ClientError::Damaged(e.to_string()))?.ok_or_else(|| ClientError::NotRunning(dir.clone()))?;
        let config = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(120))).build();
        let client = Client { agent: config.into(), base: format!("http://127.0.0.1:{}", info.port), token: info.token, dir };
        Ok(client)
    }

    fn answer<T: DeserializeOwned>(&self, result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<T, ClientError> {
        let bytes = self.raw_answer(result)?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    fn raw_answer(&self, result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Vec<u8>, ClientError> {
        let mut response = match result {
            Ok(response) => response,
            Err(ureq::Error::Io(_)) | Err(ureq::Error::ConnectionFailed) | Err(ureq::Error::HostNotFound) => {
                return Err(ClientError::NotRunning(self.dir.clone()));
            }
            Err(e) => return Err(ClientError::Protocol(e.to_string())),
        };
        let status = response.status();
        let bytes = response.body_mut().with_config().limit(MAX_ANSWER).read_to_vec().map_err(|e| ClientError::Protocol(e.to_string()))?;
        if status.is_success() {
            Ok(bytes)
        } else {
            let error: ApiError = serde_json::from_slice(&bytes).map_err(|_| ClientError::Protocol(format!("HTTP {status}")))?;
            Err(ClientError::Api(error))
        }
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// `GET path` as JSON.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.answer(self.agent.get(format!("{}{path}", self.base)).header("Authorization", self.auth()).call())
    }

    /// `GET path` as bytes.
    pub fn get_bytes(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        self.raw_answer(self.agent.get(format!("{}{path}", self.base)).header("Authorization", self.auth()).call())
    }

    /// The envelope's summary once it differs from the state tagged `seen`
    /// (at once without `seen`), waiting up to `wait`; `None` when the wait
    /// is over and nothing changed. Answers the new state's tag with it.
    pub fn status_after(&self, envelope: &str, seen: Option<&str>, wait: Duration) -> Result<Option<(Summary, String)>, ClientError> {
        let path = format!("{}/api/v1/envelopes/{envelope}?wait={}", self.base, wait.as_secs());
        let mut request = self.agent.get(path).header("Authorization", self.auth());
        if let Some(seen) = seen {
            request = request.header("If-None-Match", seen);
        }
        let result = request.call();
        if let Ok(response) = &result
            && response.status() == 304
        {
            return Ok(None);
        }
        let tag = result.as_ref().ok().and_then(|r| r.headers().get("ETag")).and_then(|t| t.to_str().ok()).unwrap_or_default().to_owned();
        Ok(Some((self.answer(result)?, tag)))
    }

    /// `POST path` with a JSON body.
    pub fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        let json = serde_json::to_vec(body).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let request =
            self.agent.post(format!("{}{path}", self.base)).header("Authorization", self.auth()).header("Content-Type", "application/json");
        self.answer(request.send(&json[..]))
    }

    /// `POST path` with raw bytes.
    pub fn post_bytes<T: DeserializeOwned>(&self, path: &str, body: &[u8]) -> Result<T, ClientError> {
        let request = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", self.auth())
            .header("Content-Type", "application/octet-stream");
        self.answer(request.send(body))
    }
}
