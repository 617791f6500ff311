//! Errors the node's API returns: a kind that maps to an HTTP status, and a
//! message for a person. Internals never leak into the message.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::NodeError;

/// What went wrong, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Bad input: fix the request.
    Invalid,
    /// No such envelope (or not one this node may show).
    NotFound,
    /// The act breaks a rule (e.g. signing out of turn).
    Refused,
    /// Another node could not be reached in time.
    Unavailable,
    /// The caller is not allowed to use this API.
    Forbidden,
    /// Something failed inside the node (disk full, …).
    Internal,
}

/// An API error.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    /// Its kind.
    pub kind: ErrorKind,
    /// What happened and what to do, for a person.
    pub message: String,
}

impl ApiError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError { kind, message: message.into() }
    }

    /// Bad input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    /// Unknown envelope.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<NodeError> for ApiError {
    fn from(error: NodeError) -> Self {
        let kind = match &error {
            NodeError::Invalid(_) => ErrorKind::Invalid,
            NodeError::NotFound(_) => ErrorKind::NotFound,
            NodeError::Refused(_) => ErrorKind::Refused,
            NodeError::Unavailable(_) | NodeError::TimedOut(_) => ErrorKind::Unavailable,
            NodeError::Forbidden(_) => ErrorKind::Forbidden,
            NodeError::Internal(_) | NodeError::ShuttingDown => ErrorKind::Internal,
        };
        ApiError::new(kind, error.to_string())
    }
}

impl From<crate::party::PartyError> for ApiError {
    fn from(error: crate::party::PartyError) -> Self {
        NodeError::from(error).into()
    }
}

impl ApiError {
    /// The HTTP status of this kind of error.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Refused => StatusCode::CONFLICT,
            ErrorKind::Unavailable => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(self)).into_response()
    }
}
