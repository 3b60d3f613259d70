//! The purpose check: the one function that decides whether personal data may be used.
//!
//! Every read or use of PD states a purpose. It is allowed only if the purpose is declared, the
//! categories asked for are allowed for it, the purpose's legal basis holds for this subject now,
//! and nothing asked for is blocked (REQUIREMENTS §2, ст. 5, 6, 9, 21). The function is pure: the
//! caller gathers the subject's facts, and logs the decision whichever way it goes.

use serde::Serialize;

use crate::law::{self, BasisKind};
use crate::policy::Policy;

/// What is known about a subject that bears on a decision.
#[derive(Debug, Clone, Default)]
pub struct SubjectFacts {
    pub kind: String,
    /// Purposes covered by consents in force (given, not withdrawn, not expired).
    pub consented_purposes: Vec<String>,
    /// Whether a contract with the subject is in force.
    pub contract_active: bool,
    /// Blocks in force: `None` blocks all the subject's data, `Some(category)` one category.
    pub blocks: Vec<Option<String>>,
}

/// The question asked.
#[derive(Debug, Clone)]
pub struct AccessQuery<'a> {
    pub purpose: &'a str,
    /// Categories asked for; empty means every category the purpose allows.
    pub categories: &'a [String],
}

/// A permission: which categories may be used, under which basis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub categories: Vec<String>,
    pub basis: BasisKind,
}

/// Why access was refused. Each variant has a stable machine code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Denial {
    UnknownPurpose {
        purpose: String,
    },
    UnknownCategory {
        category: String,
    },
    CategoryNotAllowed {
        purpose: String,
        category: String,
    },
    SubjectNotCovered {
        purpose: String,
        subject_kind: String,
    },
    NoConsent {
        purpose: String,
    },
    NoContract {
        purpose: String,
    },
    DepersonalisedOnly {
        purpose: String,
    },
    Blocked {
        category: Option<String>,
    },
}

impl Denial {
    pub fn code(&self) -> &'static str {
        match self {
            Denial::UnknownPurpose { .. } => "unknown_purpose",
            Denial::UnknownCategory { .. } => "unknown_category",
            Denial::CategoryNotAllowed { .. } => "category_not_allowed",
            Denial::SubjectNotCovered { .. } => "subject_not_covered",
            Denial::NoConsent { .. } => "no_consent",
            Denial::NoContract { .. } => "no_contract",
            Denial::DepersonalisedOnly { .. } => "depersonalised_only",
            Denial::Blocked { .. } => "blocked",
        }
    }

    /// Which request field the denial concerns.
    pub fn field(&self) -> &'static str {
        match self {
            Denial::UnknownPurpose { .. }
            | Denial::SubjectNotCovered { .. }
            | Denial::NoConsent { .. }
            | Denial::NoContract { .. }
            | Denial::DepersonalisedOnly { .. } => "purpose",
            Denial::UnknownCategory { .. }
            | Denial::CategoryNotAllowed { .. }
            | Denial::Blocked { .. } => "categories",
        }
    }

    /// A plain-language explanation with the norm.
    pub fn message(&self) -> String {
        match self {
            Denial::UnknownPurpose { purpose } => {
                format!("цель «{purpose}» не объявлена в политике оператора (ст. 5 ч. 2)")
            }
            Denial::UnknownCategory { category } => {
                format!("категория «{category}» не объявлена в политике")
            }
            Denial::CategoryNotAllowed { purpose, category } => format!(
                "категория «{category}» не нужна для цели «{purpose}» и для неё не используется ({})",
                law::MINIMISATION_NORM
            ),
            Denial::SubjectNotCovered {
                purpose,
                subject_kind,
            } => {
                format!("цель «{purpose}» не распространяется на субъектов вида «{subject_kind}»")
            }
            Denial::NoConsent { purpose } => format!(
                "для цели «{purpose}» нет действующего согласия субъекта (не дано, отозвано или истекло; {})",
                BasisKind::Consent.norm()
            ),
            Denial::NoContract { purpose } => format!(
                "цель «{purpose}» основана на договоре, а действующего договора с субъектом нет ({})",
                BasisKind::Contract.norm()
            ),
            Denial::DepersonalisedOnly { purpose } => format!(
                "для цели «{purpose}» допускаются только обезличенные данные ({})",
                BasisKind::Statistics.norm()
            ),
            Denial::Blocked { category: None } => {
                format!("данные субъекта заблокированы ({})", law::BLOCKING_NORM)
            }
            Denial::Blocked { category: Some(c) } => {
                format!(
                    "данные категории «{c}» заблокированы ({})",
                    law::BLOCKING_NORM
                )
            }
        }
    }
}

/// Decides whether the query may proceed for this subject.
pub fn decide(
    policy: &Policy,
    subject: &SubjectFacts,
    query: &AccessQuery<'_>,
) -> Result<Grant, Denial> {
    let purpose = policy
        .purpose(query.purpose)
        .ok_or_else(|| Denial::UnknownPurpose {
            purpose: query.purpose.to_string(),
        })?;
    let allowed: Vec<String> = purpose.categories.iter().map(|c| c.to_string()).collect();
    let categories = if query.categories.is_empty() {
        allowed.clone()
    } else {
        for c in query.categories {
            if policy.category(c).is_none() {
                return Err(Denial::UnknownCategory {
                    category: c.clone(),
                });
            }
            if !allowed.contains(c) {
                return Err(Denial::CategoryNotAllowed {
                    purpose: query.purpose.to_string(),
                    category: c.clone(),
                });
            }
        }
        query.categories.to_vec()
    };
    if !purpose.subjects.iter().any(|s| *s == *subject.kind) {
        return Err(Denial::SubjectNotCovered {
            purpose: query.purpose.to_string(),
            subject_kind: subject.kind.clone(),
        });
    }
    let basis = policy.basis_kind(purpose);
    let holds = match basis {
        BasisKind::Consent | BasisKind::WrittenConsent => subject
            .consented_purposes
            .iter()
            .any(|p| p == query.purpose),
        BasisKind::Contract => subject.contract_active,
        BasisKind::Statistics => {
            return Err(Denial::DepersonalisedOnly {
                purpose: query.purpose.to_string(),
            });
        }
        // These bases do not depend on the subject's acts; an objection to legitimate interest is a
        // request handled by the journal, which places a block.
        BasisKind::Law
        | BasisKind::Court
        | BasisKind::VitalInterests
        | BasisKind::LegitimateInterest => true,
    };
    if !holds {
        return Err(match basis {
            BasisKind::Contract => Denial::NoContract {
                purpose: query.purpose.to_string(),
            },
            _ => Denial::NoConsent {
                purpose: query.purpose.to_string(),
            },
        });
    }
    if purpose.depersonalised_only {
        return Err(Denial::DepersonalisedOnly {
            purpose: query.purpose.to_string(),
        });
    }
    for block in &subject.blocks {
        match block {
            None => return Err(Denial::Blocked { category: None }),
            Some(c) if categories.contains(c) => {
                return Err(Denial::Blocked {
                    category: Some(c.clone()),
                });
            }
            Some(_) => {}
        }
    }
    Ok(Grant { categories, basis })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        crate::policy::test_fixture()
    }

    fn buyer() -> SubjectFacts {
        SubjectFacts {
            kind: "buyer".into(),
            ..Default::default()
        }
    }

    fn ask<'a>(purpose: &'a str, categories: &'a [String]) -> AccessQuery<'a> {
        AccessQuery {
            purpose,
            categories,
        }
    }

    #[test]
    fn consent_purpose_needs_a_consent_in_force() {
        let p = policy();
        let mut s = buyer();
        assert_eq!(
            decide(&p, &s, &ask("marketing", &[])).unwrap_err().code(),
            "no_consent"
        );
        s.consented_purposes.push("marketing".into());
        let grant = decide(&p, &s, &ask("marketing", &[])).unwrap();
        assert_eq!(grant.categories, vec!["contacts".to_string()]);
        assert_eq!(grant.basis, BasisKind::Consent);
    }

    #[test]
    fn contract_purpose_needs_a_contract() {
        let p = policy();
        let mut s = buyer();
        assert_eq!(
            decide(&p, &s, &ask("order", &[])).unwrap_err().code(),
            "no_contract"
        );
        s.contract_active = true;
        assert!(decide(&p, &s, &ask("order", &[])).is_ok());
        // A consent for marketing does not stand in for the contract.
        let mut s2 = buyer();
        s2.consented_purposes.push("order".into());
        assert_eq!(
            decide(&p, &s2, &ask("order", &[])).unwrap_err().code(),
            "no_contract"
        );
    }

    #[test]
    fn minimisation_refuses_categories_outside_the_purpose() {
        let p = policy();
        let mut s = buyer();
        s.consented_purposes.push("marketing".into());
        let order = vec!["order".to_string()];
        assert_eq!(
            decide(&p, &s, &ask("marketing", &order))
                .unwrap_err()
                .code(),
            "category_not_allowed"
        );
        let nonsense = vec!["nonsense".to_string()];
        assert_eq!(
            decide(&p, &s, &ask("marketing", &nonsense))
                .unwrap_err()
                .code(),
            "unknown_category"
        );
        assert_eq!(
            decide(&p, &s, &ask("spam", &[])).unwrap_err().code(),
            "unknown_purpose"
        );
    }

    #[test]
    fn blocks_win_over_every_basis() {
        let p = policy();
        let mut s = buyer();
        s.contract_active = true;
        s.blocks.push(Some("order".into()));
        let contacts = vec!["contacts".to_string()];
        assert!(decide(&p, &s, &ask("order", &contacts)).is_ok());
        assert_eq!(
            decide(&p, &s, &ask("order", &[])).unwrap_err(),
            Denial::Blocked {
                category: Some("order".into())
            }
        );
        s.blocks.push(None);
        assert_eq!(
            decide(&p, &s, &ask("order", &contacts)).unwrap_err().code(),
            "blocked"
        );
    }

    #[test]
    fn other_subject_kinds_are_not_covered() {
        let p = policy();
        let s = SubjectFacts {
            kind: "stranger".into(),
            contract_active: true,
            ..Default::default()
        };
        assert_eq!(
            decide(&p, &s, &ask("order", &[])).unwrap_err().code(),
            "subject_not_covered"
        );
    }

    #[test]
    fn every_denial_names_a_norm_or_the_policy() {
        let denials = [
            Denial::UnknownPurpose {
                purpose: "x".into(),
            },
            Denial::CategoryNotAllowed {
                purpose: "x".into(),
                category: "y".into(),
            },
            Denial::NoConsent {
                purpose: "x".into(),
            },
            Denial::NoContract {
                purpose: "x".into(),
            },
            Denial::DepersonalisedOnly {
                purpose: "x".into(),
            },
            Denial::Blocked { category: None },
        ];
        for d in denials {
            assert!(d.message().contains("ст."), "{d:?}");
        }
    }
}
