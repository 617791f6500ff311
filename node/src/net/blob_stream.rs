//! `/countersign/blob/2`: one blob, or what is left of it, in one stream.
//!
//! ```text
//! asker  → envelope:32 hash:32 offset:u64
//! holder → 1 total:u64, then the blob's bytes from `offset` to the end
//!        | 0                (not here, or not for you)
//! ```
//!
//! One stream carries the whole download, so yamux widens its window once
//! and the bytes flow; a request per chunk opened a stream per chunk, each
//! starting at the smallest window.

use std::io;

use countersign_shared::hash::{EnvelopeId, Hash};
use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use libp2p::StreamProtocol;

/// The blob stream protocol.
pub const BLOB_STREAM_PROTOCOL: StreamProtocol = StreamProtocol::new("/countersign/blob/2");

/// What an asker wants: a blob of an envelope, from an offset (a download
/// resumed where it stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobAsk {
    /// The envelope that names the blob (the holder gives it only to its parties).
    pub envelope: EnvelopeId,
    /// The blob.
    pub hash: Hash,
    /// Where to start.
    pub offset: u64,
}

/// A stream to or from a party's node carrying one blob.
#[derive(Debug)]
pub struct BlobStream(libp2p::Stream);

impl BlobStream {
    /// Wraps a stream opened on [`BLOB_STREAM_PROTOCOL`].
    pub fn new(stream: libp2p::Stream) -> Self {
        BlobStream(stream)
    }

    /// Asks for a blob (the asker's side).
    pub async fn ask(&mut self, ask: &BlobAsk) -> io::Result<()> {
        let mut header = Vec::with_capacity(72);
        header.extend_from_slice(ask.envelope.as_bytes());
        header.extend_from_slice(ask.hash.as_bytes());
        header.extend_from_slice(&ask.offset.to_be_bytes());
        self.0.write_all(&header).await?;
        self.0.flush().await
    }

    /// Reads what the asker wants (the holder's side).
    pub async fn read_ask(&mut self) -> io::Result<BlobAsk> {
        let mut envelope = [0u8; 32];
        let mut hash = [0u8; 32];
        let mut offset = [0u8; 8];
        self.0.read_exact(&mut envelope).await?;
        self.0.read_exact(&mut hash).await?;
        self.0.read_exact(&mut offset).await?;
        Ok(BlobAsk { envelope: EnvelopeId::from_bytes(envelope), hash: Hash::from_bytes(hash), offset: u64::from_be_bytes(offset) })
    }

    /// Answers with the blob's whole length (its bytes follow), or `None`.
    pub async fn answer(&mut self, total: Option<u64>) -> io::Result<()> {
        match total {
            Some(total) => {
                let mut header = [1u8; 9];
                header[1..].copy_from_slice(&total.to_be_bytes());
                self.0.write_all(&header).await
            }
            None => {
                self.0.write_all(&[0]).await?;
                self.0.close().await
            }
        }
    }

    /// Reads the holder's answer: the blob's whole length, or `None`.
    pub async fn read_answer(&mut self) -> io::Result<Option<u64>> {
        let mut tag = [0u8; 1];
        self.0.read_exact(&mut tag).await?;
        match tag[0] {
            0 => Ok(None),
            1 => {
                let mut total = [0u8; 8];
                self.0.read_exact(&mut total).await?;
                Ok(Some(u64::from_be_bytes(total)))
            }
            other => Err(io::Error::new(io::ErrorKind::InvalidData, format!("unknown answer {other}"))),
        }
    }

    /// Reads some of the blob's bytes (0: the holder closed the stream).
    pub async fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.0.read(buffer).await
    }

    /// Sends some of the blob's bytes.
    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes).await
    }

    /// Ends the stream (every byte sent).
    pub async fn close(&mut self) -> io::Result<()> {
        self.0.close().await
    }
}
