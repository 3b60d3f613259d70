//! Secrets people and programs present to pdvault: staff passwords (Argon2id) and bearer tokens
//! (session tokens, integration API keys).
//!
//! Passwords are low-entropy and are therefore stored as Argon2id PHC strings, slow on purpose.
//! Tokens are 256 random bits, so a plain SHA-256 of the token is enough to store them: nobody
//! can guess a preimage, and lookups by hash stay cheap on every request.

use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Argon2id cost settings. [`PasswordCost::STANDARD`] follows the OWASP recommendation
/// (19 MiB, two passes); tests use [`PasswordCost::FAST`] so that they do not spend seconds
/// hashing throwaway passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub passes: u32,
}

impl PasswordCost {
    pub const STANDARD: PasswordCost = PasswordCost {
        memory_kib: 19 * 1024,
        passes: 2,
    };
    /// For tests only: still Argon2id, with the smallest memory the algorithm allows.
    pub const FAST: PasswordCost = PasswordCost {
        memory_kib: 8,
        passes: 1,
    };

    fn hasher(self) -> Argon2<'static> {
        // The parameters are constants within Argon2's limits, so construction cannot fail.
        let params = Params::new(self.memory_kib, self.passes, 1, None)
            .unwrap_or_else(|_| Params::default());
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }
}

/// Hashes a password into a self-describing Argon2id PHC string (`$argon2id$v=19$m=…`).
pub fn hash_password(password: &str, cost: PasswordCost) -> String {
    let salt = SaltString::generate(&mut OsRng);
    cost.hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        // Hashing only fails for parameters out of range or an oversized salt, neither of which
        // can happen with the constants above; an empty string would never verify anyway.
        .unwrap_or_default()
}

/// Checks a password against a stored PHC string. The parameters are read from the string, so
/// hashes made with older costs keep working. A malformed stored hash never verifies.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A hash to verify against when the login does not exist, so that an unknown login costs the
/// same time as a wrong password and logins cannot be enumerated by timing.
pub fn dummy_password_hash(cost: PasswordCost) -> String {
    hash_password("pdvault: no such account", cost)
}

/// A fresh random token: `prefix` followed by 256 random bits in URL-safe base64.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A random password for an account created without one: 18 bytes, 24 URL-safe characters.
pub fn new_password() -> String {
    let mut bytes = [0u8; 18];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token: its SHA-256.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares two token hashes in constant time.
pub fn hashes_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_only_itself() {
        let phc = hash_password("верный пароль 123", PasswordCost::FAST);
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_password("верный пароль 123", &phc));
        assert!(!verify_password("верный пароль 124", &phc));
        assert!(!verify_password("", &phc));
    }

    #[test]
    fn the_same_password_gets_a_new_salt_each_time() {
        let a = hash_password("pw-pw-pw-pw-pw", PasswordCost::FAST);
        let b = hash_password("pw-pw-pw-pw-pw", PasswordCost::FAST);
        assert_ne!(a, b);
    }

    #[test]
    fn standard_cost_is_argon2id_with_owasp_memory() {
        let phc = hash_password("x", PasswordCost::STANDARD);
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[test]
    fn garbage_hashes_never_verify() {
        assert!(!verify_password("x", ""));
        assert!(!verify_password("x", "$argon2id$nonsense"));
        assert!(!verify_password("x", "plain text"));
    }

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let a = new_token("pdvs_");
        let b = new_token("pdvs_");
        assert!(a.starts_with("pdvs_") && a.len() == 5 + 43, "{a}");
        assert_ne!(a, b);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert!(hashes_equal(&token_hash(&a), &token_hash(&a)));
        assert!(!hashes_equal(&token_hash(&a), &token_hash(&b)));
        assert_eq!(new_password().len(), 24);
    }
}
