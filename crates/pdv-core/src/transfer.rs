//! The transfer check: whether a subject's data may go to a processor or recipient.
//!
//! A transfer (предоставление, передача) names a registered third party, a purpose, the categories
//! and the legal basis it relies on (seed clauses 4.4–4.8, REQUIREMENTS §6). It is allowed only
//! when the purpose check of [`crate::access`] allows the use itself, the party is registered for
//! that purpose and those categories, a processor's contract carries every term ст. 6 ч. 3
//! requires, a party abroad passed the cross-border procedure of ст. 12, and the named basis is
//! one the party is registered under and holds for this subject now: a consent in force that
//! names the party or its class, a contract in force, a court decision with its details, or a law.
//! Like [`crate::access::decide`], the function is pure; the caller gathers the facts and audits
//! the answer either way.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::access::{self, AccessQuery, Denial, SubjectFacts};
use crate::calendar::WorkCalendar;
use crate::law::{self, BasisKind};
use crate::policy::{Adequacy, Policy, ThirdParty};

/// A consent in force, as far as transfers are concerned.
#[derive(Debug, Clone, Default)]
pub struct ConsentFact {
    pub id: String,
    pub purposes: Vec<String>,
    /// Recipients (ids or classes) the consent names.
    pub recipients: Vec<String>,
    /// Recipients (ids or classes) the subject withdrew the consent for; it covers the rest.
    pub withdrawn: Vec<String>,
}

/// The details of a court decision a transfer relies on (ст. 6 ч. 1 п. 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourtDecision {
    /// The court, e.g. «Тверской районный суд г. Москвы».
    pub court: String,
    /// The case number.
    pub case_number: String,
    /// The date of the decision or request, YYYY-MM-DD.
    pub date: String,
}

/// The question asked.
#[derive(Debug, Clone)]
pub struct TransferQuery<'a> {
    pub recipient: &'a str,
    pub purpose: &'a str,
    /// Categories asked for; empty means every category both the purpose and the party allow.
    pub categories: &'a [String],
    /// The id of a `[[basis]]` the party is registered under.
    pub basis: &'a str,
    pub court: Option<&'a CourtDecision>,
}

/// What the transfer may carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferGrant {
    pub categories: Vec<String>,
    pub basis: String,
    pub basis_kind: BasisKind,
    /// The consent the transfer rests on, for a consent basis.
    pub consent: Option<String>,
    pub processor: bool,
    pub country: String,
}

/// Why a transfer was refused. Each variant has a stable machine code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum TransferDenial {
    UnknownRecipient {
        recipient: String,
    },
    /// The use itself is not allowed (purpose, categories, subject kind, purpose basis, blocks).
    Access {
        denial: Denial,
    },
    PurposeNotRegistered {
        recipient: String,
        purpose: String,
    },
    CategoryNotRegistered {
        recipient: String,
        category: String,
    },
    ContractIncomplete {
        recipient: String,
        missing: Vec<String>,
    },
    CrossBorderNotAllowed {
        recipient: String,
        country: String,
    },
    CrossBorderNotNotified {
        recipient: String,
        notice_date: Date,
    },
    CrossBorderWait {
        recipient: String,
        allowed_from: Date,
    },
    CalendarMissing {
        detail: String,
    },
    BasisNotRegistered {
        recipient: String,
        basis: String,
    },
    NoConsentForRecipient {
        recipient: String,
        purpose: String,
    },
    NoContract {
        purpose: String,
    },
    CourtDetailsMissing {
        missing: Vec<String>,
    },
    DepersonalisedOnly {
        basis: String,
    },
}

impl TransferDenial {
    pub fn code(&self) -> &'static str {
        match self {
            TransferDenial::UnknownRecipient { .. } => "unknown_recipient",
            TransferDenial::Access { denial } => denial.code(),
            TransferDenial::PurposeNotRegistered { .. } => "purpose_not_registered",
            TransferDenial::CategoryNotRegistered { .. } => "category_not_registered",
            TransferDenial::ContractIncomplete { .. } => "processor_contract_incomplete",
            TransferDenial::CrossBorderNotAllowed { .. } => "cross_border_not_allowed",
            TransferDenial::CrossBorderNotNotified { .. } => "cross_border_not_notified",
            TransferDenial::CrossBorderWait { .. } => "cross_border_wait",
            TransferDenial::CalendarMissing { .. } => "calendar_missing",
            TransferDenial::BasisNotRegistered { .. } => "basis_not_registered",
            TransferDenial::NoConsentForRecipient { .. } => "no_consent_for_recipient",
            TransferDenial::NoContract { .. } => "no_contract",
            TransferDenial::CourtDetailsMissing { .. } => "court_details_missing",
            TransferDenial::DepersonalisedOnly { .. } => "depersonalised_only",
        }
    }

    /// Which request field the refusal concerns.
    pub fn field(&self) -> &'static str {
        match self {
            TransferDenial::Access { denial } => denial.field(),
            TransferDenial::PurposeNotRegistered { .. } => "purpose",
            TransferDenial::CategoryNotRegistered { .. } => "categories",
            TransferDenial::BasisNotRegistered { .. }
            | TransferDenial::NoConsentForRecipient { .. }
            | TransferDenial::NoContract { .. }
            | TransferDenial::DepersonalisedOnly { .. } => "basis",
            TransferDenial::CourtDetailsMissing { .. } => "court",
            TransferDenial::UnknownRecipient { .. }
            | TransferDenial::ContractIncomplete { .. }
            | TransferDenial::CrossBorderNotAllowed { .. }
            | TransferDenial::CrossBorderNotNotified { .. }
            | TransferDenial::CrossBorderWait { .. }
            | TransferDenial::CalendarMissing { .. } => "recipient",
        }
    }

    /// A plain-language explanation with the norm.
    pub fn message(&self) -> String {
        match self {
            TransferDenial::UnknownRecipient { recipient } => format!(
                "«{recipient}» нет в перечне обработчиков и получателей политики: передавать данные можно только тем, кто в нём назван ({})",
                law::TRANSFER_NORM
            ),
            TransferDenial::Access { denial } => denial.message(),
            TransferDenial::PurposeNotRegistered { recipient, purpose } => format!(
                "«{recipient}» не получает данные для цели «{purpose}»: в политике для него объявлены другие цели"
            ),
            TransferDenial::CategoryNotRegistered {
                recipient,
                category,
            } => format!(
                "категория «{category}» не передаётся «{recipient}»: её нет в перечне категорий этого лица ({})",
                law::MINIMISATION_NORM
            ),
            TransferDenial::ContractIncomplete { recipient, missing } => format!(
                "договор поручения с «{recipient}» не содержит обязательных условий: {} ({})",
                missing.join(", "),
                law::PROCESSOR_CONTRACT_NORM
            ),
            TransferDenial::CrossBorderNotAllowed { recipient, country } => format!(
                "«{recipient}» находится за пределами России ({country}), а трансграничная передача ему политикой не разрешена ({})",
                law::CROSS_BORDER_NORM
            ),
            TransferDenial::CrossBorderNotNotified {
                recipient,
                notice_date,
            } => format!(
                "трансграничная передача «{recipient}» возможна только после уведомления Роскомнадзора, а оно датировано {notice_date} ({})",
                law::CROSS_BORDER_NORM
            ),
            TransferDenial::CrossBorderWait {
                recipient,
                allowed_from,
            } => format!(
                "страна «{recipient}» не обеспечивает адекватной защиты: передача возможна не ранее {allowed_from}, когда истекут {} рабочих дней после уведомления Роскомнадзора ({})",
                law::CROSS_BORDER_WAIT_WORKING_DAYS,
                law::CROSS_BORDER_WAIT_NORM
            ),
            TransferDenial::CalendarMissing { detail } => {
                format!("срок ожидания трансграничной передачи нельзя сосчитать: {detail}")
            }
            TransferDenial::BasisNotRegistered { recipient, basis } => {
                format!("основание «{basis}» не объявлено в политике для передачи «{recipient}»")
            }
            TransferDenial::NoConsentForRecipient { recipient, purpose } => format!(
                "нет действующего согласия субъекта на передачу данных «{recipient}» для цели «{purpose}»: согласие должно называть это лицо или его категорию и не быть отозвано ({})",
                BasisKind::Consent.norm()
            ),
            TransferDenial::NoContract { purpose } => format!(
                "передача для цели «{purpose}» основана на договоре, а действующего договора с субъектом нет ({})",
                BasisKind::Contract.norm()
            ),
            TransferDenial::CourtDetailsMissing { missing } => format!(
                "для передачи по решению суда укажите его реквизиты: {} ({})",
                missing.join(", "),
                BasisKind::Court.norm()
            ),
            TransferDenial::DepersonalisedOnly { basis } => format!(
                "основание «{basis}» допускает передачу только обезличенных данных ({})",
                BasisKind::Statistics.norm()
            ),
        }
    }
}

/// The terms ст. 6 ч. 3 requires of a contract with a processor that the party lacks, in Russian,
/// in the order of the law; empty when the contract is complete. Recipients that are not
/// processors need no such contract.
pub fn contract_gaps(party: &ThirdParty) -> Vec<&'static str> {
    let Some(c) = &party.contract else {
        return vec!["договор поручения (номер и дата)"];
    };
    let mut missing = Vec::new();
    if party.operations.is_empty() {
        missing.push("перечень действий (операций)");
    }
    if party.purposes.is_empty() {
        missing.push("цели обработки");
    }
    if party.categories.is_empty() {
        missing.push("категории данных");
    }
    for (ok, what) in [
        (
            c.confidentiality,
            "обязанность соблюдать конфиденциальность",
        ),
        (c.security_measures, "требования к защите данных (ст. 19)"),
        (c.localisation, "обязанность локализации (ст. 18 ч. 5)"),
        (
            c.incident_notice,
            "обязанность сообщать об инцидентах (ст. 21 ч. 3.1)",
        ),
    ] {
        if !ok {
            missing.push(what);
        }
    }
    missing
}

/// When a transfer to `party` may start under ст. 12, or why it may not: `Ok(None)` for a party
/// in Russia, `Ok(Some(date))` for a party abroad whose procedure allows transfers from `date`.
pub fn cross_border_from(
    party: &ThirdParty,
    calendar: &WorkCalendar,
) -> Result<Option<Date>, TransferDenial> {
    if *party.country == *"RU" {
        return Ok(None);
    }
    let Some(cb) = &party.cross_border else {
        return Err(TransferDenial::CrossBorderNotAllowed {
            recipient: party.id.to_string(),
            country: party.country.to_string(),
        });
    };
    if cb.adequacy.is_adequate() {
        return Ok(Some(cb.rkn_notice_date));
    }
    calendar
        .add_working_days(cb.rkn_notice_date, law::CROSS_BORDER_WAIT_WORKING_DAYS)
        .map(|counted| Some(counted.value))
        .map_err(|e| TransferDenial::CalendarMissing {
            detail: e.to_string(),
        })
}

/// Decides whether the transfer may proceed for this subject on `today`.
pub fn decide(
    policy: &Policy,
    subject: &SubjectFacts,
    consents: &[ConsentFact],
    query: &TransferQuery<'_>,
    today: Date,
    calendar: &WorkCalendar,
) -> Result<TransferGrant, TransferDenial> {
    let party =
        policy
            .third_party(query.recipient)
            .ok_or_else(|| TransferDenial::UnknownRecipient {
                recipient: query.recipient.to_string(),
            })?;
    let recipient = party.id.to_string();
    // With no categories named, the transfer carries what the purpose and the party allow and
    // the subject's kind can have.
    let wanted: Vec<String> = if query.categories.is_empty() {
        match policy.purpose(query.purpose) {
            Some(p) => p
                .categories
                .iter()
                .filter(|c| party.categories.iter().any(|pc| pc == *c))
                .filter(|c| {
                    policy
                        .category(c)
                        .is_some_and(|k| k.subjects.iter().any(|s| *s == *subject.kind))
                })
                .map(|c| c.to_string())
                .collect(),
            None => Vec::new(),
        }
    } else {
        query.categories.to_vec()
    };
    let grant = access::decide(
        policy,
        subject,
        &AccessQuery {
            purpose: query.purpose,
            categories: &wanted,
        },
    )
    .map_err(|denial| TransferDenial::Access { denial })?;
    if !party.purposes.iter().any(|p| *p == *query.purpose) {
        return Err(TransferDenial::PurposeNotRegistered {
            recipient,
            purpose: query.purpose.to_string(),
        });
    }
    if grant.categories.is_empty() {
        // Nothing the purpose uses is the party's to receive.
        let category = policy
            .purpose(query.purpose)
            .and_then(|p| p.categories.first())
            .map(|c| c.to_string())
            .unwrap_or_default();
        return Err(TransferDenial::CategoryNotRegistered {
            recipient,
            category,
        });
    }
    if let Some(category) = grant
        .categories
        .iter()
        .find(|c| !party.categories.iter().any(|pc| **pc == ***c))
    {
        return Err(TransferDenial::CategoryNotRegistered {
            recipient,
            category: category.clone(),
        });
    }
    let processor = policy.processors.iter().any(|p| p.id == party.id);
    if processor {
        let missing = contract_gaps(party);
        if !missing.is_empty() {
            return Err(TransferDenial::ContractIncomplete {
                recipient,
                missing: missing.into_iter().map(String::from).collect(),
            });
        }
    }
    if let Some(from) = cross_border_from(party, calendar)? {
        let cb_date = party
            .cross_border
            .as_ref()
            .map(|c| c.rkn_notice_date)
            .unwrap_or(from);
        if today < cb_date {
            return Err(TransferDenial::CrossBorderNotNotified {
                recipient,
                notice_date: cb_date,
            });
        }
        if today < from {
            return Err(TransferDenial::CrossBorderWait {
                recipient,
                allowed_from: from,
            });
        }
    }
    let basis = party
        .bases
        .iter()
        .find(|b| *b == query.basis)
        .and_then(|b| policy.bases.iter().find(|pb| pb.id == *b))
        .ok_or_else(|| TransferDenial::BasisNotRegistered {
            recipient: recipient.clone(),
            basis: query.basis.to_string(),
        })?;
    let mut consent = None;
    match basis.kind {
        BasisKind::Consent | BasisKind::WrittenConsent => {
            let names_party = |r: &String| {
                *r == *party.id || party.class.as_deref().is_some_and(|class| r == class)
            };
            let found = consents.iter().find(|c| {
                c.purposes.iter().any(|p| p == query.purpose)
                    && c.recipients.iter().any(names_party)
                    && !c.withdrawn.iter().any(names_party)
            });
            match found {
                Some(c) => consent = Some(c.id.clone()),
                None => {
                    return Err(TransferDenial::NoConsentForRecipient {
                        recipient,
                        purpose: query.purpose.to_string(),
                    });
                }
            }
        }
        BasisKind::Contract => {
            if !subject.contract_active {
                return Err(TransferDenial::NoContract {
                    purpose: query.purpose.to_string(),
                });
            }
        }
        BasisKind::Court => {
            let mut missing = Vec::new();
            match query.court {
                None => missing.extend(["суд", "номер дела", "дата"]),
                Some(c) => {
                    if c.court.trim().is_empty() {
                        missing.push("суд");
                    }
                    if c.case_number.trim().is_empty() {
                        missing.push("номер дела");
                    }
                    if c.date.parse::<Date>().is_err() {
                        missing.push("дата (ГГГГ-ММ-ДД)");
                    }
                }
            }
            if !missing.is_empty() {
                return Err(TransferDenial::CourtDetailsMissing {
                    missing: missing.into_iter().map(String::from).collect(),
                });
            }
        }
        BasisKind::Statistics => {
            return Err(TransferDenial::DepersonalisedOnly {
                basis: basis.id.to_string(),
            });
        }
        BasisKind::Law | BasisKind::VitalInterests | BasisKind::LegitimateInterest => {}
    }
    Ok(TransferGrant {
        categories: grant.categories,
        basis: basis.id.to_string(),
        basis_kind: basis.kind,
        consent,
        processor,
        country: party.country.to_string(),
    })
}

impl Adequacy {
    /// Whether transfers may start once Roskomnadzor is notified, without the wait.
    pub fn is_adequate(self) -> bool {
        matches!(self, Adequacy::Convention108 | Adequacy::RknList)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    const PARTIES: &str = r#"
[[basis]]
id = "court"
kind = "court"
title = "Судебный акт"

[[basis]]
id = "partner_consent"
kind = "consent"
title = "Согласие на передачу партнёрам"

[[processor]]
id = "courier"
name = "ООО «Курьер»"
class = "Службы доставки"
country = "RU"
purposes = ["order"]
categories = ["contacts"]
operations = ["recording", "use", "destruction"]
bases = ["contract", "court"]
[processor.contract]
number = "1"
date = 2025-01-10
confidentiality = true
security_measures = true
localisation = true
incident_notice = true

[[processor]]
id = "sloppy"
name = "ООО «Небрежный»"
country = "RU"
purposes = ["order"]
categories = ["contacts"]
operations = ["use"]
bases = ["contract"]
[processor.contract]
number = "2"
date = 2025-01-10
confidentiality = true

[[recipient]]
id = "partner"
name = "ООО «Партнёр»"
class = "Партнёры"
country = "RU"
purposes = ["marketing"]
categories = ["contacts"]
bases = ["partner_consent"]

[[recipient]]
id = "other_partner"
name = "ООО «Другой партнёр»"
country = "RU"
purposes = ["marketing"]
categories = ["contacts"]
bases = ["partner_consent"]

[[recipient]]
id = "abroad"
name = "Foreign GmbH"
country = "DE"
purposes = ["marketing"]
categories = ["contacts"]
bases = ["partner_consent"]
[recipient.cross_border]
rkn_notice_date = 2026-03-02
adequacy = "convention_108"

[[recipient]]
id = "far_abroad"
name = "Faraway Ltd"
country = "XX"
purposes = ["marketing"]
categories = ["contacts"]
bases = ["partner_consent"]
[recipient.cross_border]
rkn_notice_date = 2026-03-02
adequacy = "other"
"#;

    fn policy() -> Policy {
        let source = format!(
            "{}\n{PARTIES}",
            include_str!("policy/testdata/minimal.toml")
        );
        match Policy::from_toml("parties.toml", &source) {
            Ok(loaded) => loaded.policy,
            Err(e) => panic!("the fixture must load:\n{e}"),
        }
    }

    fn buyer() -> SubjectFacts {
        SubjectFacts {
            kind: "buyer".into(),
            contract_active: true,
            consented_purposes: vec!["marketing".into()],
            ..Default::default()
        }
    }

    fn consent(recipients: &[&str]) -> Vec<ConsentFact> {
        vec![ConsentFact {
            id: "c1".into(),
            purposes: vec!["marketing".into()],
            recipients: recipients.iter().map(|r| r.to_string()).collect(),
            withdrawn: vec![],
        }]
    }

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn ask<'a>(recipient: &'a str, purpose: &'a str, basis: &'a str) -> TransferQuery<'a> {
        TransferQuery {
            recipient,
            purpose,
            categories: &[],
            basis,
            court: None,
        }
    }

    fn check(
        q: &TransferQuery<'_>,
        s: &SubjectFacts,
        c: &[ConsentFact],
        today: &str,
    ) -> Result<TransferGrant, TransferDenial> {
        decide(&policy(), s, c, q, day(today), &WorkCalendar::embedded())
    }

    #[test]
    fn a_registered_processor_under_contract_gets_what_the_purpose_and_its_register_allow() {
        let g = check(
            &ask("courier", "order", "contract"),
            &buyer(),
            &[],
            "2026-04-01",
        )
        .unwrap();
        // The purpose allows contacts and order; the courier is registered for contacts only.
        assert_eq!(g.categories, ["contacts"]);
        assert_eq!(g.basis_kind, BasisKind::Contract);
        assert!(g.processor);
        let order = vec!["order".to_string()];
        let q = TransferQuery {
            categories: &order,
            ..ask("courier", "order", "contract")
        };
        assert_eq!(
            check(&q, &buyer(), &[], "2026-04-01").unwrap_err().code(),
            "category_not_registered"
        );
    }

    #[test]
    fn each_refusal_has_its_code() {
        let s = buyer();
        let codes = [
            (ask("nobody", "order", "contract"), "unknown_recipient"),
            (ask("courier", "spam", "contract"), "unknown_purpose"),
            (
                ask("courier", "marketing", "contract"),
                "purpose_not_registered",
            ),
            (
                ask("sloppy", "order", "contract"),
                "processor_contract_incomplete",
            ),
            (
                ask("courier", "order", "partner_consent"),
                "basis_not_registered",
            ),
            (ask("courier", "order", "court"), "court_details_missing"),
            (
                ask("partner", "marketing", "partner_consent"),
                "no_consent_for_recipient",
            ),
        ];
        for (q, code) in codes {
            let denial = check(&q, &s, &[], "2026-04-01").unwrap_err();
            assert_eq!(denial.code(), code, "{q:?}");
            assert!(!denial.message().is_empty());
        }
        let mut no_contract = buyer();
        no_contract.contract_active = false;
        assert_eq!(
            check(
                &ask("courier", "order", "contract"),
                &no_contract,
                &[],
                "2026-04-01"
            )
            .unwrap_err()
            .code(),
            "no_contract"
        );
        let mut blocked = buyer();
        blocked.blocks.push(Some("contacts".into()));
        assert_eq!(
            check(
                &ask("courier", "order", "contract"),
                &blocked,
                &[],
                "2026-04-01"
            )
            .unwrap_err()
            .code(),
            "blocked"
        );
    }

    #[test]
    fn the_incomplete_contract_names_what_it_lacks() {
        let TransferDenial::ContractIncomplete { missing, .. } = check(
            &ask("sloppy", "order", "contract"),
            &buyer(),
            &[],
            "2026-04-01",
        )
        .unwrap_err() else {
            panic!("a contract refusal")
        };
        assert_eq!(missing.len(), 3, "{missing:?}");
        assert!(missing.iter().any(|m| m.contains("локализ")));
        assert!(missing.iter().any(|m| m.contains("инцидент")));
    }

    #[test]
    fn a_court_transfer_needs_the_decisions_details() {
        let decision = CourtDecision {
            court: "Арбитражный суд г. Москвы".into(),
            case_number: "А40-1/2026".into(),
            date: "2026-03-01".into(),
        };
        let q = TransferQuery {
            court: Some(&decision),
            ..ask("courier", "order", "court")
        };
        let g = check(&q, &buyer(), &[], "2026-04-01").unwrap();
        assert_eq!(g.basis_kind, BasisKind::Court);
        let bad = CourtDecision {
            date: "01.03.2026".into(),
            ..decision.clone()
        };
        let q = TransferQuery {
            court: Some(&bad),
            ..ask("courier", "order", "court")
        };
        assert_eq!(
            check(&q, &buyer(), &[], "2026-04-01").unwrap_err().code(),
            "court_details_missing"
        );
    }

    #[test]
    fn a_consent_must_name_the_party_or_its_class_and_the_purpose() {
        let q = ask("partner", "marketing", "partner_consent");
        let g = check(&q, &buyer(), &consent(&["partner"]), "2026-04-01").unwrap();
        assert_eq!(g.consent.as_deref(), Some("c1"));
        assert!(check(&q, &buyer(), &consent(&["Партнёры"]), "2026-04-01").is_ok());
        // A consent naming another partner does not cover this one, and the reverse.
        assert_eq!(
            check(&q, &buyer(), &consent(&["other_partner"]), "2026-04-01")
                .unwrap_err()
                .code(),
            "no_consent_for_recipient"
        );
        let other = ask("other_partner", "marketing", "partner_consent");
        assert!(check(&other, &buyer(), &consent(&["other_partner"]), "2026-04-01").is_ok());
        // Withdrawn for one partner (by id or by class), the consent covers the other only.
        for withdrawn in ["partner", "Партнёры"] {
            let mut both = consent(&["partner", "other_partner"]);
            both[0].withdrawn.push(withdrawn.into());
            assert_eq!(
                check(&q, &buyer(), &both, "2026-04-01").unwrap_err().code(),
                "no_consent_for_recipient"
            );
            assert!(check(&other, &buyer(), &both, "2026-04-01").is_ok());
        }
        // The purpose's own consent is needed too: the check of the use comes first.
        let mut withdrawn = buyer();
        withdrawn.consented_purposes.clear();
        assert_eq!(
            check(&q, &withdrawn, &consent(&["partner"]), "2026-04-01")
                .unwrap_err()
                .code(),
            "no_consent"
        );
    }

    #[test]
    fn abroad_needs_the_notice_and_for_other_countries_ten_working_days() {
        let c = consent(&["abroad", "far_abroad"]);
        let q = ask("abroad", "marketing", "partner_consent");
        // Convention 108 country: from the notice date on.
        assert_eq!(
            check(&q, &buyer(), &c, "2026-03-01").unwrap_err().code(),
            "cross_border_not_notified"
        );
        assert!(check(&q, &buyer(), &c, "2026-03-02").is_ok());
        // Other countries: ten working days after the notice of Monday 2 March 2026; 9 March is a
        // holiday (8 March fell on a Sunday), so the tenth working day is Tuesday 17 March.
        let far = ask("far_abroad", "marketing", "partner_consent");
        let denial = check(&far, &buyer(), &c, "2026-03-16").unwrap_err();
        assert_eq!(
            denial,
            TransferDenial::CrossBorderWait {
                recipient: "far_abroad".into(),
                allowed_from: day("2026-03-17"),
            }
        );
        assert!(check(&far, &buyer(), &c, "2026-03-17").is_ok());
    }
}
