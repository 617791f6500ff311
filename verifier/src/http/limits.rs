//! What keeps one client, or many slow ones, from blocking everyone's checks.
//!
//! - Reading an upload never holds a check slot: the slots (two per core)
//!   are taken only once the whole file is here.
//! - Each client address may have [`Config::per_client`] checks going at
//!   once (uploading or checking); more get 429 at once.
//! - All uploads and checks together may hold [`Config::upload_memory_mb`]
//!   of memory (an upload its size, a check what reading the file takes); one
//!   that does not fit gets 503 at once rather than a place in a queue.
//! - A check that goes past its deadline is answered at once, but its slot,
//!   its memory and its client's turn are held until it has really stopped.
//!
//! [`Config::per_client`]: crate::config::Config::per_client
//! [`Config::upload_memory_mb`]: crate::config::Config::upload_memory_mb

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::http::error::AppError;

/// The checks each client address has going.
#[derive(Debug)]
pub struct Clients {
    per_client: usize,
    going: Mutex<HashMap<IpAddr, usize>>,
}

/// One client's check, counted until dropped.
#[derive(Debug)]
pub struct ClientTurn {
    clients: Arc<Clients>,
    address: IpAddr,
}

impl Clients {
    /// At most `per_client` checks per address.
    pub fn new(per_client: usize) -> Self {
        Clients { per_client: per_client.max(1), going: Mutex::new(HashMap::new()) }
    }

    /// Counts a check for `address`, or refuses it when that address has too many going.
    pub fn enter(self: &Arc<Self>, address: IpAddr) -> Result<ClientTurn, AppError> {
        let mut going = self.going.lock().unwrap_or_else(PoisonError::into_inner);
        let count = going.entry(address).or_insert(0);
        if *count >= self.per_client {
            return Err(AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("This address already has {} checks going; wait for one to finish and try again.", self.per_client),
            ));
        }
        *count += 1;
        Ok(ClientTurn { clients: Arc::clone(self), address })
    }
}

impl Drop for ClientTurn {
    fn drop(&mut self) {
        let mut going = self.clients.going.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = going.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                going.remove(&self.address);
            }
        }
    }
}

/// Memory for uploads and checks, in MB, shared by all of them.
#[derive(Debug, Clone)]
pub struct UploadMemory {
    megabytes: Arc<Semaphore>,
}

impl UploadMemory {
    /// `megabytes` in all.
    pub fn new(megabytes: usize) -> Self {
        UploadMemory { megabytes: Arc::new(Semaphore::new(megabytes.clamp(1, Semaphore::MAX_PERMITS))) }
    }

    /// Reserves room for `bytes`, or answers 503 when there is none now.
    pub fn reserve(&self, bytes: usize) -> Result<OwnedSemaphorePermit, AppError> {
        let megabytes = u32::try_from(bytes.div_ceil(1024 * 1024).max(1)).unwrap_or(u32::MAX);
        Arc::clone(&self.megabytes)
            .try_acquire_many_owned(megabytes)
            .map_err(|_| AppError::new(StatusCode::SERVICE_UNAVAILABLE, "The verifier is busy with many checks; try again in a moment."))
    }
}
