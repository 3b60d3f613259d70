//! The root of the key hierarchy: the master key, its text encoding, and the key file, which is
//! the only IO this crate performs.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::Mac;
use zeroize::Zeroizing;

use crate::keyring::{self, Keyring};
use crate::{CryptoError, MalformedKeyReason};

const PREFIX: &str = "pdv-mk1:";
const FILE_COMMENT: &str =
    "# pdvault master key — keep secret, back up separately from the database\n";
const KEY_ID_LABEL: &[u8] = b"pdv key id v1";
const CHECK_LABEL: &[u8] = b"pdv key check v1";

/// The master key: 32 random bytes, kept outside the database and wiped from memory on drop.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    /// Generates a new random master key from the operating system's CSPRNG.
    pub fn generate() -> MasterKey {
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut *bytes);
        MasterKey(bytes)
    }

    /// Text encoding used both in the key file and in the `PDV_MASTER_KEY` variable:
    /// `"pdv-mk1:"` followed by standard base64 of the 32 bytes, without whitespace.
    pub fn to_encoded(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(PREFIX.len() + 44));
        out.push_str(PREFIX);
        STANDARD.encode_string(self.0.as_slice(), &mut out);
        out
    }

    /// Parses the output of [`MasterKey::to_encoded`], ignoring surrounding whitespace.
    pub fn from_encoded(s: &str) -> Result<MasterKey, CryptoError> {
        parse(s).map_err(|reason| CryptoError::MalformedKey { path: None, reason })
    }

    /// Creates a new key file with mode 0600, refusing to overwrite an existing file.
    pub fn write_new_file(&self, path: &Path) -> Result<(), CryptoError> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|source| match source.kind() {
            io::ErrorKind::AlreadyExists => CryptoError::KeyFileExists(path.to_owned()),
            _ => io_error(path, "create", source),
        })?;

        let mut contents = Zeroizing::new(String::from(FILE_COMMENT));
        contents.push_str(&self.to_encoded());
        contents.push('\n');
        let written = file
            .write_all(contents.as_bytes())
            .and_then(|()| file.sync_all());
        if let Err(source) = written {
            // A half-written key file would be mistaken for a real key on the next start.
            drop(file);
            let _ = fs::remove_file(path);
            return Err(io_error(path, "write", source));
        }
        Ok(())
    }

    /// Reads a key file, ignoring blank lines and lines starting with `#`. On unix the file must
    /// not be accessible by group or other users (0600 or 0400).
    pub fn read_file(path: &Path) -> Result<MasterKey, CryptoError> {
        let mut file = File::open(path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => CryptoError::KeyFileMissing(path.to_owned()),
            _ => io_error(path, "open", source),
        })?;
        // Checking the opened handle rather than the path avoids a race with a file swap.
        let metadata = file.metadata().map_err(|e| io_error(path, "inspect", e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(CryptoError::KeyFilePermissions {
                    path: path.to_owned(),
                    mode,
                });
            }
        }

        // Reserving the full size up front keeps the secret from being copied by reallocation.
        let capacity = usize::try_from(metadata.len())
            .unwrap_or(0)
            .saturating_add(1);
        let mut raw = Zeroizing::new(Vec::with_capacity(capacity));
        file.read_to_end(&mut raw)
            .map_err(|e| io_error(path, "read", e))?;

        let malformed = |reason| CryptoError::MalformedKey {
            path: Some(path.to_owned()),
            reason,
        };
        let text = std::str::from_utf8(&raw).map_err(|_| malformed(MalformedKeyReason::NotUtf8))?;
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'));
        let key_line = lines
            .next()
            .ok_or_else(|| malformed(MalformedKeyReason::NoKeyLine))?;
        let extra = lines.count();
        if extra > 0 {
            return Err(malformed(MalformedKeyReason::MultipleKeyLines {
                count: extra + 1,
            }));
        }
        parse(key_line).map_err(malformed)
    }

    /// A stable, non-secret identifier of this key: hex of the first 8 bytes of
    /// `HMAC-SHA256(master, "pdv key id v1")`.
    pub fn key_id(&self) -> String {
        hex::encode(&keyring::hmac_sha256(&*self.0, &[KEY_ID_LABEL])[..8])
    }

    /// A check value stored in the database at first start, so that a wrong key is detected before
    /// serving: hex of `HMAC-SHA256(master, "pdv key check v1")`.
    pub fn check_value(&self) -> String {
        hex::encode(keyring::hmac_sha256(&*self.0, &[CHECK_LABEL]))
    }

    /// Whether `stored` is this key's [`MasterKey::check_value`], compared in constant time.
    pub fn matches_check_value(&self, stored: &str) -> bool {
        hex::decode(stored.trim()).is_ok_and(|tag| {
            keyring::mac(&*self.0, &[CHECK_LABEL])
                .verify_slice(&tag)
                .is_ok()
        })
    }

    /// Derives the subkeys used for wrapping data keys and computing blind indexes.
    pub fn keyring(&self) -> Keyring {
        Keyring::derive(&self.0)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(<redacted>, id={})", self.key_id())
    }
}

fn parse(s: &str) -> Result<MasterKey, MalformedKeyReason> {
    let body = s
        .trim()
        .strip_prefix(PREFIX)
        .ok_or(MalformedKeyReason::WrongPrefix)?;
    let decoded = Zeroizing::new(
        STANDARD
            .decode(body)
            .map_err(|_| MalformedKeyReason::BadBase64)?,
    );
    if decoded.len() != 32 {
        return Err(MalformedKeyReason::WrongLength {
            actual: decoded.len(),
        });
    }
    // Copying straight into the zeroizing array leaves no stray copy of the key on the stack.
    let mut bytes = Zeroizing::new([0u8; 32]);
    bytes.copy_from_slice(&decoded);
    Ok(MasterKey(bytes))
}

fn io_error(path: &Path, action: &'static str, source: io::Error) -> CryptoError {
    CryptoError::KeyFileIo {
        path: path.to_owned(),
        action,
        source,
    }
}
