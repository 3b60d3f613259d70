//! Identifiers a subject can be found by (e-mail, phone), parsed and normalised at the boundary.
//!
//! The normal form is what the blind index hashes, so `Ivan@Example.RU` and `ivan@example.ru`,
//! or `8 (916) 123-45-67` and `+79161234567`, find the same subject. The newtypes hold personal
//! data, so their `Debug` never prints the value.

use serde::{Deserialize, Serialize};

/// Kinds of identifier the service indexes for lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    Email,
    Phone,
}

impl IdentifierKind {
    pub const ALL: [IdentifierKind; 2] = [IdentifierKind::Email, IdentifierKind::Phone];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentifierKind::Email => "email",
            IdentifierKind::Phone => "phone",
        }
    }

    pub fn parse(s: &str) -> Option<IdentifierKind> {
        IdentifierKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Parses and normalises a value of this kind.
    pub fn normalise(self, raw: &str) -> Result<String, IdentifierError> {
        match self {
            IdentifierKind::Email => Email::parse(raw).map(|e| e.0),
            IdentifierKind::Phone => Phone::parse(raw).map(|p| p.0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("не похоже на адрес электронной почты: нужен вид имя@домен.зона")]
    BadEmail,
    #[error(
        "не похоже на номер телефона: нужен номер в международном виде (+7XXXXXXXXXX) или российский с 8"
    )]
    BadPhone,
}

/// An e-mail address in normal form: trimmed and lower-cased.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, IdentifierError> {
        let value = raw.trim().to_lowercase();
        let (local, domain) = value.split_once('@').ok_or(IdentifierError::BadEmail)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c == '@' || c.is_control());
        if !domain_ok || !local_ok || value.len() > 254 {
            return Err(IdentifierError::BadEmail);
        }
        Ok(Email(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

/// A phone number in E.164 form (`+` and digits). Russian numbers written with a leading 8 or
/// without a country code are read as +7.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Phone, IdentifierError> {
        let trimmed = raw.trim();
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
        {
            return Err(IdentifierError::BadPhone);
        }
        if trimmed.rfind('+').is_some_and(|i| i != 0) {
            return Err(IdentifierError::BadPhone);
        }
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let international = trimmed.starts_with('+');
        let normal = match (international, digits.len()) {
            (false, 11) if digits.starts_with('8') || digits.starts_with('7') => {
                format!("+7{}", &digits[1..])
            }
            (false, 10) if digits.starts_with('9') => format!("+7{digits}"),
            (true, 8..=15) => format!("+{digits}"),
            _ => return Err(IdentifierError::BadPhone),
        };
        Ok(Phone(normal))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Phone(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_normalise() {
        assert_eq!(
            Email::parse(" Ivan@Example.RU ").unwrap().as_str(),
            "ivan@example.ru"
        );
        assert_eq!(
            Email::parse("иван@почта.рф").unwrap().as_str(),
            "иван@почта.рф"
        );
        for bad in [
            "",
            "ivan",
            "ivan@",
            "@example.ru",
            "ivan@example",
            "a b@example.ru",
            "a@b..ru",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn russian_phones_normalise_to_e164() {
        for raw in [
            "+7 916 123-45-67",
            "8 (916) 123-45-67",
            "79161234567",
            "9161234567",
        ] {
            assert_eq!(Phone::parse(raw).unwrap().as_str(), "+79161234567", "{raw}");
        }
        for bad in [
            "",
            "12345",
            "+7 916 abc",
            "8916+1234567",
            "1234567890123456789",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_does_not_print_personal_data() {
        let email = Email::parse("ivan@example.ru").unwrap();
        assert!(!format!("{email:?}").contains("ivan"));
        let phone = Phone::parse("+79161234567").unwrap();
        assert!(!format!("{phone:?}").contains("916"));
    }

    proptest! {
        #[test]
        fn phone_normalisation_is_idempotent(d in "9[0-9]{9}") {
            let once = Phone::parse(&d).unwrap();
            let twice = Phone::parse(once.as_str()).unwrap();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn email_normalisation_is_idempotent(local in "[a-zA-Z0-9._%+-]{1,20}", domain in "[a-z]{1,10}\\.[a-z]{2,4}") {
            let once = Email::parse(&format!("{local}@{domain}")).unwrap();
            let twice = Email::parse(once.as_str()).unwrap();
            prop_assert_eq!(once, twice);
        }
    }
}
