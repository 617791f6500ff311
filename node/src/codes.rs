//! Confirmation by phone: when the sender asks for it, a party invited by
//! phone must also give a 6-digit code, texted to that phone when they open
//! the invitation, before the sender's node lets them in. A code is valid a
//! few minutes (5 by default); wrong codes are limited (5 by default), then
//! the invitation is locked; every failure is written to `codes/failures.log`
//! and the node's log.
//!
//! The sender's node keeps the state in `codes/<envelope>.json` (owner-only:
//! it holds live codes). Nothing of it travels in the signing log: the code
//! only guards who may fetch the envelope to join it.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;

use serde::{Deserialize, Serialize};

use crate::datadir::{DataDir, DataDirError, write_atomic};
use crate::net::protocol::CodeAnswer;

/// A new code is not texted more often than this.
const RESEND_AFTER_MS: u64 = 60_000;

/// How long a code is valid and how many wrong ones are allowed.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodePolicy {
    /// Minutes a code is valid (fractions allowed).
    pub valid_minutes: f64,
    /// Wrong codes allowed before the invitation locks.
    pub max_tries: u8,
}

impl Default for CodePolicy {
    fn default() -> Self {
        CodePolicy { valid_minutes: 5.0, max_tries: 5 }
    }
}

/// One party's code.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SlotCode {
    code: Option<u32>,
    made_ms: u64,
    wrong: u8,
    /// The key (hex) that gave the right code: let in from then on.
    confirmed: Option<String>,
}

/// What the sender's node keeps for one envelope.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct EnvelopeCodes {
    slots: BTreeMap<u8, SlotCode>,
}

/// The answer to a party knocking with an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Let them in.
    Open,
    /// They just gave the right code: let them in, and record that their key
    /// confirmed the phone.
    Confirmed,
    /// Text them this new code, then answer [`CodeAnswer::Sent`].
    Send(u32),
    /// Refuse, saying why.
    Closed(CodeAnswer),
}

/// The codes of one data dir.
#[derive(Debug, Clone)]
pub struct Codes {
    data: DataDir,
    policy: CodePolicy,
}

impl Codes {
    /// The codes kept in `data`, judged by `policy`.
    pub fn new(data: DataDir, policy: CodePolicy) -> Codes {
        Codes { data, policy }
    }

    fn path(&self, envelope: &str) -> std::path::PathBuf {
        self.data.path("codes").join(format!("{envelope}.json"))
    }

    /// `Ok(None)`: no codes asked for this envelope. A file that cannot be
    /// read is an error (the caller fails closed), not "no codes".
    fn load(&self, envelope: &str) -> Result<Option<EnvelopeCodes>, ()> {
        match fs::read(self.path(envelope)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(drop),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(_) => Err(()),
        }
    }

    fn save(&self, envelope: &str, codes: &EnvelopeCodes) -> Result<(), DataDirError> {
        let dir = self.data.path("codes");
        fs::create_dir_all(&dir).map_err(|source| DataDirError::Io { what: "cannot create", path: dir.display().to_string(), source })?;
        let bytes = serde_json::to_vec(codes).map_err(|e| DataDirError::Damaged(envelope.to_owned(), e.to_string()))?;
        write_atomic(&self.path(envelope), &bytes, true)
    }

    /// The sender asks that the parties at `slots` confirm their phone.
    pub fn require(&self, envelope: &str, slots: &[u8]) -> Result<(), DataDirError> {
        let codes = EnvelopeCodes { slots: slots.iter().map(|s| (*s, SlotCode::default())).collect() };
        self.save(envelope, &codes)
    }

    /// Whether the party at `slot` must confirm their phone with a code.
    pub fn required(&self, envelope: &str, slot: u8) -> bool {
        match self.load(envelope) {
            Ok(Some(codes)) => codes.slots.contains_key(&slot),
            Ok(None) => false,
            // Unreadable: taken as required (nothing is handed over unchecked).
            Err(()) => true,
        }
    }

    /// Whether the party at `slot` with `key` (hex) may come in, given `code`.
    pub fn check(&self, envelope: &str, slot: u8, key: &str, code: Option<u32>, now_ms: u64) -> Gate {
        let mut codes = match self.load(envelope) {
            Ok(Some(codes)) => codes,
            Ok(None) => return Gate::Open,
            Err(()) => return Gate::Closed(CodeAnswer::Locked),
        };
        let Some(entry) = codes.slots.get_mut(&slot) else { return Gate::Open };
        if entry.confirmed.as_deref() == Some(key) {
            return Gate::Open;
        }
        let lifetime = (self.policy.valid_minutes * 60_000.0) as u64;
        let fresh = entry.code.is_some() && now_ms.saturating_sub(entry.made_ms) < lifetime;
        let (gate, failure) = if entry.wrong >= self.policy.max_tries {
            (Gate::Closed(CodeAnswer::Locked), Some("locked"))
        } else {
            match code {
                None if fresh && now_ms.saturating_sub(entry.made_ms) < RESEND_AFTER_MS => (Gate::Closed(CodeAnswer::Sent), None),
                None => {
                    let new = random_code();
                    entry.code = Some(new);
                    entry.made_ms = now_ms;
                    (Gate::Send(new), None)
                }
                Some(_) if !fresh && entry.code.is_some() => (Gate::Closed(CodeAnswer::Expired), Some("expired code")),
                Some(given) if Some(given) == entry.code => {
                    entry.confirmed = Some(key.to_owned());
                    entry.code = None;
                    (Gate::Confirmed, None)
                }
                Some(_) if entry.code.is_none() => {
                    let new = random_code();
                    entry.code = Some(new);
                    entry.made_ms = now_ms;
                    (Gate::Send(new), None)
                }
                Some(_) => {
                    entry.wrong += 1;
                    let left = self.policy.max_tries.saturating_sub(entry.wrong);
                    let answer = if left == 0 { CodeAnswer::Locked } else { CodeAnswer::Wrong(left) };
                    (Gate::Closed(answer), Some("wrong code"))
                }
            }
        };
        if let Some(what) = failure {
            self.record_failure(envelope, slot, key, what, now_ms);
        }
        if let Err(e) = self.save(envelope, &codes) {
            // Fail closed: a count that cannot be kept must not give free tries.
            tracing::error!("cannot keep the confirmation codes of envelope {envelope}: {e}");
            return Gate::Closed(CodeAnswer::Locked);
        }
        gate
    }

    fn record_failure(&self, envelope: &str, slot: u8, key: &str, what: &str, now_ms: u64) {
        tracing::warn!("confirmation code refused for envelope {envelope}, party {slot}, key {key}: {what}");
        let line = format!("{} envelope={envelope} party={slot} key={key} {what}\n", countersign_shared::time::utc(now_ms));
        let path = self.data.path("codes").join("failures.log");
        let written = fs::OpenOptions::new().create(true).append(true).open(&path).and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            tracing::error!("cannot write {}: {e}", path.display());
        }
    }
}

/// A uniformly random 6-digit code.
fn random_code() -> u32 {
    loop {
        let bytes = crate::party::random_secret();
        let value = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        // Reject the top sliver so every code is equally likely.
        if value < u32::MAX - u32::MAX % 1_000_000 {
            return value % 1_000_000;
        }
    }
}

/// A code as people read it: six digits.
pub fn show(code: u32) -> String {
    format!("{code:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes() -> Codes {
        let dir = std::env::temp_dir().join(format!("countersign-codes-{}", crate::party::random_hex()));
        Codes::new(DataDir::resolve(Some(dir)).unwrap(), CodePolicy { valid_minutes: 5.0, max_tries: 3 })
    }

    #[test]
    fn a_party_gets_in_with_the_code_texted_to_them_and_only_then() {
        let codes = codes();
        codes.require("env", &[1]).unwrap();
        assert_eq!(codes.check("env", 0, "k", None, 0), Gate::Open, "a party without a phone check");
        let Gate::Send(code) = codes.check("env", 1, "k", None, 1_000) else { panic!("no code sent") };
        assert_eq!(codes.check("env", 1, "k", None, 2_000), Gate::Closed(CodeAnswer::Sent), "not texted again within a minute");
        assert_eq!(codes.check("env", 1, "k", Some((code + 1) % 1_000_000), 3_000), Gate::Closed(CodeAnswer::Wrong(2)));
        assert_eq!(codes.check("env", 1, "k", Some(code), 4_000), Gate::Confirmed, "the right code: let in, and recorded");
        assert_eq!(codes.check("env", 1, "k", None, 5_000), Gate::Open, "the confirmed key stays in");
        assert!(matches!(codes.check("env", 1, "other key", None, 6_000), Gate::Send(_)), "another key needs its own code");
    }

    #[test]
    fn old_codes_expire_and_wrong_codes_lock() {
        let codes = codes();
        codes.require("env", &[1]).unwrap();
        let Gate::Send(code) = codes.check("env", 1, "k", None, 0) else { panic!("no code sent") };
        assert_eq!(codes.check("env", 1, "k", Some(code), 5 * 60_000 + 1), Gate::Closed(CodeAnswer::Expired));
        let Gate::Send(code) = codes.check("env", 1, "k", None, 6 * 60_000) else { panic!("no new code") };
        let wrong = (code + 7) % 1_000_000;
        assert_eq!(codes.check("env", 1, "k", Some(wrong), 6 * 60_000 + 1), Gate::Closed(CodeAnswer::Wrong(2)));
        assert_eq!(codes.check("env", 1, "k", Some(wrong), 6 * 60_000 + 2), Gate::Closed(CodeAnswer::Wrong(1)));
        assert_eq!(codes.check("env", 1, "k", Some(wrong), 6 * 60_000 + 3), Gate::Closed(CodeAnswer::Locked));
        assert_eq!(
            codes.check("env", 1, "k", Some(code), 6 * 60_000 + 4),
            Gate::Closed(CodeAnswer::Locked),
            "even the right code, once locked"
        );
        let log = fs::read_to_string(codes.data.path("codes").join("failures.log")).unwrap();
        assert_eq!(log.lines().count(), 5, "every failure is written down:\n{log}");
    }

    #[test]
    fn codes_have_six_digits() {
        assert_eq!(show(42), "000042");
        assert!((0..200).map(|_| random_code()).all(|c| c < 1_000_000));
    }
}
