//! The operator's policy as code: reading a policy TOML file, checking it, and answering the
//! engine's questions about it (which purposes, bases, categories and fields exist).

mod diagnostic;
mod model;
mod name;
mod period;
mod validate;

use sha2::{Digest, Sha256};

pub use diagnostic::{Diagnostic, PolicyErrors, Severity};
pub use model::*;
pub use name::Name;
pub use period::Period;

use crate::field::FieldSpec;
use crate::law::{BasisKind, Sensitivity};

/// A policy that parsed and passed every check, with the warnings found on the way.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    pub policy: Policy,
    pub warnings: Vec<Diagnostic>,
    /// SHA-256 of the file's bytes, hex: identifies exactly which text was enforced.
    pub fingerprint: String,
    pub file: String,
    pub source: String,
}

impl Policy {
    /// Parses and checks a policy. `file` is used only in messages.
    pub fn from_toml(file: &str, source: &str) -> Result<LoadedPolicy, PolicyErrors> {
        let fail = |diagnostics| PolicyErrors {
            file: file.to_string(),
            source: source.to_string(),
            diagnostics,
        };
        let policy: Policy =
            toml::from_str(source).map_err(|e| fail(vec![translate_toml_error(&e)]))?;
        let diagnostics = validate::validate(&policy);
        if diagnostics.iter().any(|d| d.severity == Severity::Error) {
            return Err(fail(diagnostics));
        }
        Ok(LoadedPolicy {
            policy,
            warnings: diagnostics,
            fingerprint: hex::encode(Sha256::digest(source.as_bytes())),
            file: file.to_string(),
            source: source.to_string(),
        })
    }

    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.id == *id)
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == *id)
    }

    pub fn basis(&self, id: &str) -> Option<&Basis> {
        self.bases.iter().find(|b| b.id == *id)
    }

    /// The kind of legal basis a purpose rests on. Validation guarantees the basis exists.
    pub fn basis_kind(&self, purpose: &Purpose) -> BasisKind {
        self.basis(&purpose.basis)
            .map_or(BasisKind::Consent, |b| b.kind)
    }

    pub fn subject_kind(&self, id: &str) -> Option<&SubjectKind> {
        self.subject_kinds.iter().find(|s| s.id == *id)
    }

    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == *id)
    }

    /// A processor or recipient by id.
    pub fn third_party(&self, id: &str) -> Option<&ThirdParty> {
        self.processors
            .iter()
            .chain(&self.recipients)
            .find(|t| t.id == *id)
    }

    /// Whether two purposes were declared incompatible (in either direction).
    pub fn incompatible(&self, a: &str, b: &str) -> bool {
        let listed = |x: &str, y: &str| {
            self.purpose(x)
                .is_some_and(|p| p.incompatible_with.iter().any(|i| *i == *y))
        };
        listed(a, b) || listed(b, a)
    }
}

impl Category {
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == *id)
    }

    pub fn sensitivity(&self) -> Sensitivity {
        match (self.sensitivity, self.special_kind) {
            (SensitivityClass::Ordinary, _) => Sensitivity::Ordinary,
            (SensitivityClass::Biometric, _) => Sensitivity::Biometric,
            (SensitivityClass::Special, Some(kind)) => Sensitivity::Special(kind),
            (SensitivityClass::Special, None) => {
                Sensitivity::Special(crate::law::SpecialKind::Health)
            }
        }
    }
}

impl Field {
    pub fn spec(&self) -> FieldSpec<'_> {
        FieldSpec {
            field_type: self.field_type,
            max_len: self.max_len,
            values: &self.values,
        }
    }
}

/// Turns the TOML parser's English message into a Russian one with advice.
fn translate_toml_error(e: &toml::de::Error) -> Diagnostic {
    let msg = e.message().trim();
    let span = e.span();
    let between = |s: &str| s.split('`').nth(1).unwrap_or("").to_string();
    let expected = |s: &str| {
        s.split_once("expected")
            .map(|(_, r)| {
                r.trim()
                    .trim_start_matches("one of")
                    .trim()
                    .replace('`', "")
            })
            .unwrap_or_default()
    };
    if msg.starts_with("unknown field") {
        Diagnostic::error(span, format!("неизвестный ключ «{}»", between(msg))).help(format!(
            "проверьте написание; допустимые ключи здесь: {}",
            expected(msg)
        ))
    } else if msg.starts_with("missing field") {
        Diagnostic::error(
            span,
            format!("не хватает обязательного ключа «{}»", between(msg)),
        )
        .help("добавьте его в эту таблицу; справка по ключам — в docs/policy.md")
    } else if msg.starts_with("unknown variant") {
        Diagnostic::error(span, format!("недопустимое значение «{}»", between(msg)))
            .help(format!("допустимые значения: {}", expected(msg)))
    } else if msg.starts_with("invalid type") {
        Diagnostic::error(span, format!("неверный тип значения ({msg})"))
            .help("строки пишутся в кавычках, списки — в квадратных скобках, даты — без кавычек: 2025-09-01")
    } else if msg.starts_with("duplicate key") || msg.contains("duplicate key") {
        Diagnostic::error(span, format!("ключ задан дважды ({msg})")).help("оставьте одно значение")
    } else {
        Diagnostic::error(span, msg.to_string())
            .help("исправьте запись в указанном месте; формат файла — TOML")
    }
}

/// The small policy the unit tests of this crate share.
#[cfg(test)]
pub(crate) fn test_fixture() -> Policy {
    match Policy::from_toml("minimal.toml", include_str!("testdata/minimal.toml")) {
        Ok(loaded) => loaded.policy,
        Err(e) => panic!("the test fixture must load:\n{e}"),
    }
}

#[cfg(test)]
mod tests;
