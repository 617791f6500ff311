//! What can go wrong when the node is asked to act, whoever asks (the local
//! API, the web app, a program embedding the node): one typed error for the
//! node's core. The HTTP layer turns it into its own (`api::error`); nothing
//! below the HTTP layer knows about HTTP.

use thiserror::Error;

use crate::party::PartyError;

/// Why the node did not do what it was asked. Each message is for a person:
/// what was wrong and what to do, never the node's internals.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The request is malformed or does not fit the envelope: fix it.
    #[error("{0}")]
    Invalid(String),
    /// No such envelope, file or template on this node (or none it may show).
    #[error("{0}")]
    NotFound(String),
    /// The act breaks a rule: signing out of turn, an expired invitation.
    #[error("{0}")]
    Refused(String),
    /// Another node, or something still on its way from one, was not there in time.
    #[error("{0}")]
    Unavailable(String),
    /// A wait for a change ended before the change came.
    #[error("{0}")]
    TimedOut(String),
    /// The request needs what this node was not started with (a test tool).
    #[error("{0}")]
    Forbidden(String),
    /// Something failed inside the node (a full disk, a damaged file).
    #[error("{0}")]
    Internal(String),
    /// The node is stopping and takes no more requests.
    #[error("the node is shutting down")]
    ShuttingDown,
}

impl NodeError {
    /// Bad input.
    pub fn invalid(message: impl Into<String>) -> Self {
        NodeError::Invalid(message.into())
    }

    /// Nothing by that name here.
    pub fn not_found(message: impl Into<String>) -> Self {
        NodeError::NotFound(message.into())
    }

    /// Against the rules.
    pub fn refused(message: impl Into<String>) -> Self {
        NodeError::Refused(message.into())
    }

    /// Not there in time.
    pub fn unavailable(message: impl Into<String>) -> Self {
        NodeError::Unavailable(message.into())
    }

    /// Failed inside the node.
    pub fn internal(message: impl Into<String>) -> Self {
        NodeError::Internal(message.into())
    }
}

impl From<PartyError> for NodeError {
    fn from(error: PartyError) -> Self {
        use PartyError as E;
        let message = error.to_string();
        match error {
            E::UnknownEnvelope(_) => NodeError::NotFound(message),
            E::Refused(_) | E::NotAParty | E::InviteExpired(_) | E::NotComplete(_) | E::ClockBehind { .. } => NodeError::Refused(message),
            E::Store(_) | E::Fold(_) => NodeError::Internal(message),
            _ => NodeError::Invalid(message),
        }
    }
}
