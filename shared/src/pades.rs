//! Standard PDF signatures (PAdES with Ed25519, ISO/TS 32002): each signing
//! step of the final PDF carries a CMS signature made with the party's own key.
//!
//! - [`certificate`]: the X.509 certificate each party's `Join` carries.
//! - `cms`: the SignedData in a signature's `/Contents`.
//!
//! Where the signatures sit in the file, and how a `Seal` entry carries the
//! signature value to every node, is the renderer's part (`render::signature`).

pub mod certificate;
pub(crate) mod cms;
