//! Cryptography for pdvault: the key hierarchy, field envelopes, blind indexes and
//! crypto-shredding.
//!
//! The hierarchy has three levels. A [`MasterKey`] lives outside the database (a key file or the
//! [`MASTER_KEY_ENV`] variable). From it a [`Keyring`] derives a key-encryption key and a
//! blind-index key. Every data subject gets a random [`DataKey`], stored in the database only in
//! wrapped (encrypted) form; that key encrypts the subject's personal-data fields. Destroying the
//! wrapped data key makes every field of that subject unreadable, which is how erasure under
//! 152-ФЗ is carried out even where copies of the ciphertext survive in backups.
//!
//! The crate performs no IO other than reading and writing the master key file, and is not async.

mod envelope;
mod error;
mod keyring;
mod master;
pub mod secret;

pub use envelope::{DataKey, FieldAad};
pub use error::{CryptoError, MalformedKeyReason};
pub use keyring::{BackupMac, Keyring};
pub use master::MasterKey;

/// The environment variable that may carry the master key, in the same text encoding as the key
/// file (see [`MasterKey::to_encoded`]).
pub const MASTER_KEY_ENV: &str = "PDV_MASTER_KEY";
