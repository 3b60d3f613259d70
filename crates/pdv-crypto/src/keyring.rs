//! The middle of the key hierarchy: subkeys derived from the master key, wrapping of per-subject
//! data keys, and blind indexes for equality lookups on encrypted identifiers.

use std::fmt;

use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::envelope::{self, DataKey};

const HKDF_SALT: &[u8] = b"pdvault";
const KEK_INFO: &[u8] = b"pdv/kek/v1";
const BLIND_INFO: &[u8] = b"pdv/blind/v1";
/// HKDF info of the audit-seal key, which authenticates the head of the audit chain so that
/// cutting events off the end of the log is detected.
const SEAL_INFO: &[u8] = b"pdv/audit-seal/v1";
const DEK_AAD_DOMAIN: &[u8] = b"pdv/dek/v1";
/// Authenticates backup archives, so that a restore takes in only what a holder of the master
/// key wrote, unchanged.
const BACKUP_INFO: &[u8] = b"pdv/backup-mac/v1";
/// Encrypts the request journal's requester details and entry texts. The journal is the
/// operator's own record, kept on its own terms; it may name people the vault holds nothing
/// else about, so it cannot use a subject's key.
const JOURNAL_INFO: &[u8] = b"pdv/journal/v1";
/// Encrypts destruction acts. An act names the subjects whose data it records as destroyed
/// (Приказ РКН № 179), so it cannot live under their keys, which the destruction removes; it is
/// a document of its own, kept three years and then destroyed in turn.
const ACTS_INFO: &[u8] = b"pdv/acts/v1";
/// Encrypts records kept depersonalised past their period. They no longer relate to anyone, but
/// a kept text may still say more than it should, so they are readable only through pdvault.
const RETAINED_INFO: &[u8] = b"pdv/retained/v1";

/// Subkeys derived from the master key with HKDF-SHA256. Separate subkeys keep the wrapping key
/// and the blind-index key independent, so neither use can leak anything about the other.
#[derive(Clone)]
pub struct Keyring {
    kek: Zeroizing<[u8; 32]>,
    blind: Zeroizing<[u8; 32]>,
    seal: Zeroizing<[u8; 32]>,
    backup: Zeroizing<[u8; 32]>,
    journal: Zeroizing<[u8; 32]>,
    acts: Zeroizing<[u8; 32]>,
    retained: Zeroizing<[u8; 32]>,
}

impl Keyring {
    pub(crate) fn derive(master: &[u8; 32]) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), master);
        let expand = |info: &[u8]| {
            let mut okm = Zeroizing::new([0u8; 32]);
            hkdf.expand(info, &mut *okm)
                .expect("HKDF-SHA256 can always produce 32 bytes");
            okm
        };
        Self {
            kek: expand(KEK_INFO),
            blind: expand(BLIND_INFO),
            seal: expand(SEAL_INFO),
            backup: expand(BACKUP_INFO),
            journal: expand(JOURNAL_INFO),
            acts: expand(ACTS_INFO),
            retained: expand(RETAINED_INFO),
        }
    }

    /// Generates a fresh random data key for a new subject.
    pub fn new_data_key(&self) -> DataKey {
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut *bytes);
        DataKey::from_bytes(bytes)
    }

    /// Wraps a subject's data key with AES-256-GCM under the key-encryption key. The subject id is
    /// part of the associated data, so a wrapped key moved to another subject will not unwrap.
    /// Output layout: `[version 1][nonce 12][ciphertext + tag 16]`.
    pub fn wrap_data_key(&self, key: &DataKey, subject_id: &[u8; 16]) -> Vec<u8> {
        envelope::seal(&self.kek, &dek_aad(subject_id), key.as_bytes())
    }

    /// Unwraps a data key produced by [`Keyring::wrap_data_key`] for the same subject.
    pub fn unwrap_data_key(
        &self,
        wrapped: &[u8],
        subject_id: &[u8; 16],
    ) -> Result<DataKey, CryptoError> {
        let plain = envelope::open(&self.kek, &dek_aad(subject_id), wrapped)?;
        // Authentication already passed, so a wrong length can only mean a forged format.
        if plain.len() != 32 {
            return Err(CryptoError::Tampered);
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&plain);
        Ok(DataKey::from_bytes(bytes))
    }

    /// Blind index for equality lookups on encrypted identifiers:
    /// `HMAC-SHA256(blind key, kind || 0x00 || normalised_value)`. `kind` separates domains
    /// (`"email"`, `"phone"`, ...) so equal values of different kinds do not match; the caller must
    /// normalise the value first, because the index only matches byte-identical input.
    pub fn blind_index(&self, kind: &str, normalised_value: &str) -> [u8; 32] {
        // A NUL inside `kind` would let two (kind, value) pairs share an encoding.
        debug_assert!(
            !kind.contains('\0'),
            "blind index kind must not contain NUL"
        );
        hmac_sha256(
            &*self.blind,
            &[kind.as_bytes(), &[0], normalised_value.as_bytes()],
        )
    }

    /// Seals the head of the audit chain: `HMAC-SHA256(seal key, seq as 8 big-endian bytes || hash)`.
    /// Whoever can change the database but does not hold the master key cannot move the seal, so
    /// deleting the newest events is detected by `pdv audit verify`.
    pub fn seal_audit_head(&self, seq: u64, hash: &[u8; 32]) -> [u8; 32] {
        hmac_sha256(&*self.seal, &[&seq.to_be_bytes(), hash])
    }

    /// Checks a seal in constant time.
    pub fn verify_audit_seal(&self, seq: u64, hash: &[u8; 32], seal: &[u8]) -> bool {
        mac(&*self.seal, &[&seq.to_be_bytes(), hash])
            .verify_slice(seal)
            .is_ok()
    }
}

/// A running HMAC-SHA256 over a backup archive, keyed from the master key: whoever writes or
/// changes an archive without the master key cannot produce a tag that verifies.
#[derive(Clone)]
pub struct BackupMac(Hmac<Sha256>);

impl BackupMac {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The tag over everything absorbed so far.
    pub fn tag(&self) -> [u8; 32] {
        self.0.clone().finalize().into_bytes().into()
    }

    /// Checks a tag in constant time.
    pub fn verify(&self, tag: &[u8]) -> bool {
        self.0.clone().verify_slice(tag).is_ok()
    }
}

impl fmt::Debug for BackupMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackupMac(<running>)")
    }
}

impl Keyring {
    /// The key of the request journal's encrypted fields.
    pub fn journal_key(&self) -> DataKey {
        DataKey::from_bytes(self.journal.clone())
    }

    /// The key of destruction acts' encrypted bodies.
    pub fn acts_key(&self) -> DataKey {
        DataKey::from_bytes(self.acts.clone())
    }

    /// The key of records kept depersonalised past their retention period.
    pub fn retained_key(&self) -> DataKey {
        DataKey::from_bytes(self.retained.clone())
    }

    /// Starts the MAC of a backup archive; `part` (`data`, `keys`) separates the two kinds so
    /// that one cannot pass for the other.
    pub fn backup_mac(&self, part: &str) -> BackupMac {
        BackupMac(mac(&*self.backup, &[part.as_bytes(), &[0]]))
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyring(<redacted>)")
    }
}

fn dek_aad(subject_id: &[u8; 16]) -> Vec<u8> {
    [DEK_AAD_DOMAIN, subject_id.as_slice()].concat()
}

/// HMAC-SHA256 over the concatenation of `parts`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    mac(key, parts).finalize().into_bytes().into()
}

/// A keyed HMAC-SHA256 instance that has absorbed `parts`; used directly when verifying.
pub(crate) fn mac(key: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac
}

#[cfg(test)]
mod tests {
    use crate::MasterKey;

    #[test]
    fn backup_tags_depend_on_key_part_and_every_byte() {
        let ring = MasterKey::generate().keyring();
        let mut a = ring.backup_mac("data");
        a.update(b"line one\n");
        let tag = a.tag();
        assert!(a.verify(&tag));

        let mut changed = ring.backup_mac("data");
        changed.update(b"line One\n");
        assert!(!changed.verify(&tag), "a changed byte must fail");

        let mut other_part = ring.backup_mac("keys");
        other_part.update(b"line one\n");
        assert!(
            !other_part.verify(&tag),
            "a data archive is not a key archive"
        );

        let mut other_key = MasterKey::generate().keyring().backup_mac("data");
        other_key.update(b"line one\n");
        assert!(!other_key.verify(&tag), "another master key must fail");
    }
}
