//! Field envelopes: per-subject data keys and the AES-256-GCM format that encrypts individual
//! personal-data fields, bound to the table, row and field they live in.

use std::fmt;

use aes_gcm::aead::{AeadCore, AeadInPlace, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use zeroize::Zeroizing;

use crate::CryptoError;

/// The only envelope format this build writes and reads.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + NONCE_LEN;

/// One subject's data key. Its wrapped copy lives next to the subject's record; destroying that
/// copy is crypto-shredding, because every field of the subject then becomes undecryptable.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    pub(crate) fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Encrypts one field. Output layout: `[version 1][nonce 12][ciphertext + tag 16]`.
    pub fn encrypt_field(&self, plaintext: &[u8], aad: &FieldAad<'_>) -> Vec<u8> {
        seal(&self.0, &aad.encode(), plaintext)
    }

    /// Wraps a category key under this (subject) key. `subject` and `category` are bound into the
    /// associated data, so a wrapped key moved to another subject or category does not unwrap.
    /// Destroying the subject key therefore destroys every category key below it, and destroying
    /// one category key destroys that category alone (ст. 21 152-ФЗ, crypto-shredding).
    pub fn wrap_category_key(&self, key: &DataKey, subject: &[u8; 16], category: &str) -> Vec<u8> {
        seal(&self.0, &category_aad(subject, category), key.as_bytes())
    }

    /// Unwraps a key written by [`DataKey::wrap_category_key`] for the same subject and category.
    pub fn unwrap_category_key(
        &self,
        wrapped: &[u8],
        subject: &[u8; 16],
        category: &str,
    ) -> Result<DataKey, CryptoError> {
        let plain = open(&self.0, &category_aad(subject, category), wrapped)?;
        if plain.len() != 32 {
            return Err(CryptoError::Tampered);
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&plain);
        Ok(DataKey::from_bytes(bytes))
    }

    /// Decrypts a field written by [`DataKey::encrypt_field`] with the same `aad`.
    pub fn decrypt_field(
        &self,
        ciphertext: &[u8],
        aad: &FieldAad<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open(&self.0, &aad.encode(), ciphertext)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

fn category_aad(subject: &[u8; 16], category: &str) -> Vec<u8> {
    [
        b"pdv/category-key/v1".as_slice(),
        subject,
        category.as_bytes(),
    ]
    .concat()
}

/// Associated data binding a ciphertext to where it lives, so that a ciphertext copied to another
/// row or field fails to decrypt.
#[derive(Debug, Clone, Copy)]
pub struct FieldAad<'a> {
    pub table: &'a str,
    pub row_id: &'a [u8],
    pub field: &'a str,
}

impl FieldAad<'_> {
    /// Canonical encoding: a domain tag, then every part prefixed with its length as a big-endian
    /// `u32`. The length prefixes make the encoding injective, so `("ab", "c")` and `("a", "bc")`
    /// can never collide.
    pub(crate) fn encode(&self) -> Vec<u8> {
        const DOMAIN: &[u8] = b"pdv/field/v1";
        let parts = [self.table.as_bytes(), self.row_id, self.field.as_bytes()];
        let mut out =
            Vec::with_capacity(DOMAIN.len() + parts.iter().map(|p| 4 + p.len()).sum::<usize>());
        out.extend_from_slice(DOMAIN);
        for part in parts {
            let len = u32::try_from(part.len()).expect("AAD parts are far shorter than 4 GiB");
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(part);
        }
        out
    }
}

/// Encrypts `plaintext` under `key` into the versioned envelope layout. A fresh random 96-bit
/// nonce is used per message; with one data key per subject and one wrap per subject, the number
/// of messages under any single key stays far below the 2^32 limit for random GCM nonces.
pub(crate) fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_in_place_detached(&nonce, aad, &mut out[HEADER_LEN..])
        .expect("AES-GCM only refuses plaintexts longer than 64 GiB");
    out.extend_from_slice(&tag);
    out
}

/// Opens an envelope written by [`seal`]. Any authentication or length failure is reported as
/// [`CryptoError::Tampered`], so callers learn nothing about which check failed; only an unknown
/// version byte is reported separately, since that usually means "written by a newer build".
pub(crate) fn open(
    key: &[u8; 32],
    aad: &[u8],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (&version, rest) = data.split_first().ok_or(CryptoError::Tampered)?;
    if version != VERSION {
        return Err(CryptoError::UnsupportedVersion(version));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Tampered);
    }
    let (nonce, body) = rest.split_at(NONCE_LEN);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    // Decrypting inside a zeroizing buffer ensures the plaintext is wiped however it is dropped.
    let mut buffer = Zeroizing::new(body.to_vec());
    cipher
        .decrypt_in_place(Nonce::from_slice(nonce), aad, &mut *buffer)
        .map_err(|_| CryptoError::Tampered)?;
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aad<'a>(table: &'a str, row_id: &'a [u8], field: &'a str) -> FieldAad<'a> {
        FieldAad {
            table,
            row_id,
            field,
        }
    }

    #[test]
    fn aad_encoding_is_injective_across_part_boundaries() {
        assert_ne!(aad("ab", b"", "c").encode(), aad("a", b"", "bc").encode());
        assert_ne!(aad("a", b"b", "c").encode(), aad("ab", b"", "c").encode());
        assert_ne!(aad("", b"", "x").encode(), aad("x", b"", "").encode());
    }

    #[test]
    fn category_keys_unwrap_only_under_their_subject_and_category() {
        use aes_gcm::aead::rand_core::RngCore;
        let fresh = || {
            let mut b = Zeroizing::new([0u8; 32]);
            OsRng.fill_bytes(&mut *b);
            DataKey::from_bytes(b)
        };
        let (subject_key, category_key) = (fresh(), fresh());
        let wrapped = subject_key.wrap_category_key(&category_key, &[1; 16], "contacts");
        let back = subject_key
            .unwrap_category_key(&wrapped, &[1; 16], "contacts")
            .unwrap();
        assert_eq!(back.as_bytes(), category_key.as_bytes());
        assert!(
            subject_key
                .unwrap_category_key(&wrapped, &[2; 16], "contacts")
                .is_err()
        );
        assert!(
            subject_key
                .unwrap_category_key(&wrapped, &[1; 16], "identity")
                .is_err()
        );
        assert!(
            fresh()
                .unwrap_category_key(&wrapped, &[1; 16], "contacts")
                .is_err()
        );
    }

    #[test]
    fn aad_encoding_is_canonical() {
        let expected = [
            b"pdv/field/v1".as_slice(),
            &[0, 0, 0, 1],
            b"t",
            &[0, 0, 0, 2],
            &[7, 8],
            &[0, 0, 0, 1],
            b"f",
        ]
        .concat();
        assert_eq!(aad("t", &[7, 8], "f").encode(), expected);
    }
}
