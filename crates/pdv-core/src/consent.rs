//! Consents (ст. 9 152-ФЗ): what a consent must contain to be accepted, and its state.
//!
//! The operator bears the burden of proving consent (ст. 9 ч. 3), so a consent without evidence
//! matching its channel is refused. Since 01.09.2025 consent is a separate document (156-ФЗ), and
//! marketing consent (ст. 15) is distinct, so one consent may not mix marketing and other purposes.

use serde::{Deserialize, Serialize};

use crate::law::{self, BasisKind};
use crate::policy::{ChannelKind, Policy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentKind {
    /// Consent to processing for non-marketing purposes (ст. 9).
    Processing,
    /// Consent to direct marketing (ст. 15).
    Marketing,
}

impl ConsentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentKind::Processing => "processing",
            ConsentKind::Marketing => "marketing",
        }
    }

    pub fn parse(s: &str) -> Option<ConsentKind> {
        match s {
            "processing" => Some(ConsentKind::Processing),
            "marketing" => Some(ConsentKind::Marketing),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentState {
    Given,
    Withdrawn,
    Expired,
}

/// Proof that the subject gave the consent. Holds personal data (IP, user agent), so the service
/// encrypts it with the subject's key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    /// The form on the site (or in the app) where the box was ticked.
    #[serde(default)]
    pub form_id: Option<String>,
    /// A qualified or simple e-signature, or a reference to a signed paper original.
    #[serde(default)]
    pub signature: Option<String>,
    /// A scan of the paper document, by reference to the operator's archive.
    #[serde(default)]
    pub document_scan: Option<String>,
    /// A recorded phone call in the contact centre, by reference.
    #[serde(default)]
    pub call_recording: Option<String>,
}

/// Which consent document text the subject saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentDocument {
    pub id: String,
    pub version: String,
    /// SHA-256 of the text shown, 64 hex digits.
    pub sha256: String,
}

/// A representative acting for the subject (ст. 9 ч. 4 п. 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Representative {
    pub name: String,
    /// The power of attorney or other authority, e.g. «доверенность № 12 от 01.02.2025».
    pub authority: String,
}

/// The terms of a consent as the integration submits them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentTerms {
    pub purposes: Vec<String>,
    pub recipients: Vec<String>,
    pub channel: String,
    pub evidence: Evidence,
    pub document: ConsentDocument,
    pub valid_until: Option<jiff::civil::Date>,
    pub representative: Option<Representative>,
}

/// One reason a consent is refused, tied to the request field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentProblem {
    pub field: String,
    pub message: String,
}

fn problem(field: impl Into<String>, message: impl Into<String>) -> ConsentProblem {
    ConsentProblem {
        field: field.into(),
        message: message.into(),
    }
}

/// Checks a consent against the policy for a subject of `subject_kind`, on `today`.
/// Returns its kind, or every problem found.
pub fn check_terms(
    policy: &Policy,
    subject_kind: &str,
    terms: &ConsentTerms,
    today: jiff::civil::Date,
) -> Result<ConsentKind, Vec<ConsentProblem>> {
    let mut problems = Vec::new();
    if terms.purposes.is_empty() {
        problems.push(problem(
            "purposes",
            "согласие должно называть хотя бы одну цель (ст. 9 ч. 1: согласие конкретное)",
        ));
    }
    let mut marketing = 0;
    for (i, id) in terms.purposes.iter().enumerate() {
        let field = format!("purposes[{i}]");
        let Some(purpose) = policy.purpose(id) else {
            problems.push(problem(
                field,
                format!("цель «{id}» не объявлена в политике"),
            ));
            continue;
        };
        let kind = policy.basis_kind(purpose);
        if !kind.is_consent() {
            problems.push(problem(
                field.clone(),
                format!("цель «{id}» основана не на согласии, а на основании «{}» ({}): согласие для неё не берётся", kind.as_str(), kind.norm()),
            ));
        }
        if kind == BasisKind::WrittenConsent && terms.evidence.signature.is_none() {
            problems.push(problem("evidence.signature", format!("цель «{id}» требует письменного согласия (ст. 9 ч. 4): нужна подпись или электронная подпись")));
        }
        if !purpose.subjects.iter().any(|s| *s == *subject_kind) {
            problems.push(problem(
                field,
                format!("цель «{id}» не относится к субъектам вида «{subject_kind}»"),
            ));
        }
        if purpose.marketing {
            marketing += 1;
        }
    }
    if marketing > 0 && marketing < terms.purposes.len() {
        problems.push(problem(
            "purposes",
            format!("согласие на рекламу и информирование ({}) оформляется отдельно от согласия на иные цели ({})", law::MARKETING_NORM, law::SEPARATE_CONSENT_NORM),
        ));
    }
    for (i, id) in terms.recipients.iter().enumerate() {
        let field = format!("recipients[{i}]");
        match policy.third_party(id) {
            None => problems.push(problem(
                field,
                format!("получатель «{id}» не объявлен в политике"),
            )),
            Some(party) => {
                if !terms
                    .purposes
                    .iter()
                    .any(|p| party.purposes.iter().any(|x| *x == **p))
                {
                    problems.push(problem(
                        field,
                        format!(
                            "получатель «{id}» не получает данные ни для одной из целей согласия"
                        ),
                    ));
                }
            }
        }
    }
    let channel = policy.channel(&terms.channel);
    match channel {
        None => problems.push(problem(
            "channel",
            format!("канал «{}» не объявлен в политике", terms.channel),
        )),
        Some(channel) => check_evidence(channel.kind, &terms.evidence, &mut problems),
    }
    let doc = &terms.document;
    if doc.id.trim().is_empty() {
        problems.push(problem("document.id", "не указан документ согласия"));
    }
    if doc.version.trim().is_empty() {
        problems.push(problem(
            "document.version",
            "не указана версия документа согласия",
        ));
    }
    if doc.sha256.len() != 64 || !doc.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
        problems.push(problem(
            "document.sha256",
            "ожидается SHA-256 текста согласия: 64 шестнадцатеричных знака",
        ));
    }
    if let Some(until) = terms.valid_until
        && until <= today
    {
        problems.push(problem("valid_until", "срок действия согласия уже истёк"));
    }
    if let Some(rep) = &terms.representative
        && (rep.name.trim().is_empty() || rep.authority.trim().is_empty())
    {
        problems.push(problem(
            "representative",
            "для представителя нужны ФИО и реквизиты доверенности (ст. 9 ч. 4 п. 2)",
        ));
    }
    if problems.is_empty() {
        Ok(if marketing > 0 {
            ConsentKind::Marketing
        } else {
            ConsentKind::Processing
        })
    } else {
        Err(problems)
    }
}

fn check_evidence(kind: ChannelKind, e: &Evidence, problems: &mut Vec<ConsentProblem>) {
    let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    let norm = law::CONSENT_PROOF_NORM;
    match kind {
        ChannelKind::Site | ChannelKind::MobileApp => {
            for (value, name) in [
                (&e.ip, "ip"),
                (&e.user_agent, "user_agent"),
                (&e.form_id, "form_id"),
            ] {
                if !present(value) {
                    problems.push(problem(format!("evidence.{name}"), format!("для согласия через сайт или приложение нужны IP-адрес, user agent и форма ({norm}: доказать согласие обязан оператор)")));
                }
            }
            if let Some(ip) = e.ip.as_deref()
                && present(&e.ip)
                && ip.trim().parse::<std::net::IpAddr>().is_err()
            {
                problems.push(problem("evidence.ip", "не похоже на IP-адрес"));
            }
        }
        ChannelKind::ContactCentre => {
            if !present(&e.call_recording) && !present(&e.signature) {
                problems.push(problem("evidence.call_recording", format!("для согласия через контакт-центр нужна ссылка на запись разговора или подпись ({norm})")));
            }
        }
        ChannelKind::Email | ChannelKind::Post | ChannelKind::InPerson => {
            if !present(&e.signature) && !present(&e.document_scan) {
                problems.push(problem("evidence.signature", format!("для согласия по почте или лично нужна подпись или скан подписанного документа ({norm})")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        crate::policy::test_fixture()
    }

    fn terms(purposes: &[&str]) -> ConsentTerms {
        ConsentTerms {
            purposes: purposes.iter().map(|p| p.to_string()).collect(),
            recipients: vec![],
            channel: "site".into(),
            evidence: Evidence {
                ip: Some("203.0.113.1".into()),
                user_agent: Some("UA".into()),
                form_id: Some("form".into()),
                ..Default::default()
            },
            document: ConsentDocument {
                id: "c".into(),
                version: "1".into(),
                sha256: "a".repeat(64),
            },
            valid_until: None,
            representative: None,
        }
    }

    fn today() -> jiff::civil::Date {
        jiff::civil::date(2026, 3, 2)
    }

    fn fields(result: Result<ConsentKind, Vec<ConsentProblem>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn a_complete_web_consent_is_accepted_with_its_kind() {
        assert_eq!(
            check_terms(&policy(), "buyer", &terms(&["marketing"]), today()),
            Ok(ConsentKind::Marketing)
        );
    }

    #[test]
    fn evidence_must_match_the_channel() {
        let mut t = terms(&["marketing"]);
        t.evidence = Evidence::default();
        assert_eq!(
            fields(check_terms(&policy(), "buyer", &t, today())),
            ["evidence.ip", "evidence.user_agent", "evidence.form_id"]
        );
        t.evidence.ip = Some("not an ip".into());
        t.evidence.user_agent = Some("UA".into());
        t.evidence.form_id = Some("f".into());
        assert_eq!(
            fields(check_terms(&policy(), "buyer", &t, today())),
            ["evidence.ip"]
        );
    }

    #[test]
    fn purposes_must_rest_on_consent_and_cover_the_subject() {
        assert_eq!(
            fields(check_terms(&policy(), "buyer", &terms(&["order"]), today())),
            ["purposes[0]"]
        );
        assert_eq!(
            fields(check_terms(
                &policy(),
                "buyer",
                &terms(&["nothing"]),
                today()
            )),
            ["purposes[0]"]
        );
        assert_eq!(
            fields(check_terms(
                &policy(),
                "stranger",
                &terms(&["marketing"]),
                today()
            )),
            ["purposes[0]"]
        );
        assert_eq!(
            fields(check_terms(&policy(), "buyer", &terms(&[]), today())),
            ["purposes"]
        );
    }

    #[test]
    fn document_expiry_and_representative_are_checked() {
        let mut t = terms(&["marketing"]);
        t.document.sha256 = "xyz".into();
        t.valid_until = Some(today());
        t.representative = Some(Representative {
            name: "Иванов И. И.".into(),
            authority: " ".into(),
        });
        t.channel = "fax".into();
        assert_eq!(
            fields(check_terms(&policy(), "buyer", &t, today())),
            [
                "channel",
                "document.sha256",
                "valid_until",
                "representative"
            ]
        );
    }
}
