//! A person's PDF becomes an envelope's document: prepared (see
//! [`countersign_shared::source`]) on a blocking thread, never on the event
//! loop, and stored in its normal form, the only form an envelope accepts.

use countersign_shared::source::{self, PdfError, Prepared};
use serde::{Deserialize, Serialize};

use crate::NodeError;

/// A prepared document as the API answers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreparedDocument {
    /// BLAKE3 of the prepared PDF: the `document` of a `CreateRequest`.
    pub hash: String,
    /// Its number of pages.
    pub pages: usize,
    /// The active content preparing removed, in words ("JavaScript", …).
    pub removed: Vec<String>,
}

/// Prepares `pdf` for signing off the async threads; the error says, in the
/// person's terms, why it cannot be signed.
pub async fn prepare(pdf: Vec<u8>) -> Result<Prepared, NodeError> {
    match tokio::task::spawn_blocking(move || source::prepare(&pdf)).await {
        Ok(Ok(prepared)) => Ok(prepared),
        Ok(Err(e)) => Err(NodeError::invalid(format!("this PDF cannot be signed: {e}"))),
        Err(_) => Err(NodeError::invalid("this PDF cannot be signed: reading it failed")),
    }
}

/// What preparing removed, in words.
pub fn removed(prepared: &Prepared) -> Vec<String> {
    prepared.removed.keys().map(|kind| kind.describe().to_owned()).collect()
}

/// Checks that `pdf` is a prepared document an envelope can be made of; the
/// message says how to prepare one that is not.
pub fn check_signable(pdf: &[u8]) -> Result<(), NodeError> {
    source::inspect(pdf).map(|_| ()).map_err(|e| match e {
        PdfError::NotNormal(_) | PdfError::ActiveContent(_) => NodeError::invalid(format!(
            "{e}: send PDFs through POST /api/v1/documents (or the app's upload), which prepares them for signing"
        )),
        e => NodeError::invalid(e.to_string()),
    })
}
