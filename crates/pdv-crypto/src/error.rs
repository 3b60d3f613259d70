//! Error type of the crate. Messages say what went wrong and what the operator can do about it,
//! and never contain key material.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error(
        "master key file {} already exists; refusing to overwrite it. Data encrypted under the \
         existing key is unreadable without it, so move the file away yourself if you really \
         mean to replace it",
        .0.display()
    )]
    KeyFileExists(PathBuf),

    #[error(
        "master key file {} does not exist; generate a key first, or supply it through the \
         PDV_MASTER_KEY environment variable",
        .0.display()
    )]
    KeyFileMissing(PathBuf),

    #[error("could not {action} master key file {}: {source}", .path.display())]
    KeyFileIo {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "master key file {} has mode {mode:04o}, so users other than its owner can access it; \
         restrict it with `chmod 600 {}` (a key file must be 0600 or 0400)",
        .path.display(),
        .path.display()
    )]
    KeyFilePermissions { path: PathBuf, mode: u32 },

    #[error("malformed master key{}: {reason}", origin(.path))]
    MalformedKey {
        /// The key file the key was read from, or `None` when it came from a string
        /// (for example the environment variable).
        path: Option<PathBuf>,
        reason: MalformedKeyReason,
    },

    #[error(
        "ciphertext failed authentication: it was altered or truncated, copied from another \
         row or field, or encrypted under a different key"
    )]
    Tampered,

    #[error(
        "ciphertext format version {0} is not supported by this build of pdvault; it was \
         either written by a newer version (upgrade) or is corrupt"
    )]
    UnsupportedVersion(u8),
}

/// What exactly is wrong with an encoded master key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedKeyReason {
    #[error("it does not start with \"pdv-mk1:\"")]
    WrongPrefix,
    #[error("the part after \"pdv-mk1:\" is not valid standard base64 (with padding, no spaces)")]
    BadBase64,
    #[error("it decodes to {actual} bytes instead of 32")]
    WrongLength { actual: usize },
    #[error("the key file is not valid UTF-8 text")]
    NotUtf8,
    #[error("the key file contains no key line (only comments or blank lines)")]
    NoKeyLine,
    #[error("the key file contains {count} key lines; it must contain exactly one")]
    MultipleKeyLines { count: usize },
}

fn origin(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" in {}", p.display()))
        .unwrap_or_default()
}
