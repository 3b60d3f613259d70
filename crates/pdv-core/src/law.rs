//! The legal table: every legal number and closed list the engine relies on, each with its norm.
//!
//! A lawyer reviewing pdvault reads this one file. Other modules refer to these items instead of
//! repeating numbers or lists.

use serde::{Deserialize, Serialize};

/// The federal law the engine implements.
pub const LAW: &str = "Федеральный закон от 27.07.2006 № 152-ФЗ «О персональных данных»";

/// Grounds for processing listed in ст. 6 ч. 1 152-ФЗ (and ст. 10, 11 for written consent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BasisKind {
    /// Consent of the subject, ст. 6 ч. 1 п. 1.
    Consent,
    /// Consent in writing (ст. 9 ч. 4), required for special categories (ст. 10 ч. 2 п. 1) and
    /// biometrics (ст. 11 ч. 1).
    WrittenConsent,
    /// An international treaty or a law imposes the processing, ст. 6 ч. 1 п. 2.
    Law,
    /// Justice: a court act or enforcement proceedings, ст. 6 ч. 1 п. 3.
    Court,
    /// A contract with the subject (or its conclusion at the subject's initiative), ст. 6 ч. 1 п. 5.
    Contract,
    /// Protection of the subject's life, health or other vital interests, ст. 6 ч. 1 п. 6.
    VitalInterests,
    /// Rights and legitimate interests of the operator or third parties, ст. 6 ч. 1 п. 7.
    LegitimateInterest,
    /// Statistical or research purposes with mandatory depersonalisation, ст. 6 ч. 1 п. 9.
    Statistics,
}

impl BasisKind {
    /// All kinds, in the order of the law.
    pub const ALL: [BasisKind; 8] = [
        BasisKind::Consent,
        BasisKind::WrittenConsent,
        BasisKind::Law,
        BasisKind::Court,
        BasisKind::Contract,
        BasisKind::VitalInterests,
        BasisKind::LegitimateInterest,
        BasisKind::Statistics,
    ];

    /// The norm the basis comes from.
    pub fn norm(self) -> &'static str {
        match self {
            BasisKind::Consent => "ст. 6 ч. 1 п. 1 152-ФЗ",
            BasisKind::WrittenConsent => "ст. 9 ч. 4, ст. 10 ч. 2 п. 1, ст. 11 ч. 1 152-ФЗ",
            BasisKind::Law => "ст. 6 ч. 1 п. 2 152-ФЗ",
            BasisKind::Court => "ст. 6 ч. 1 п. 3 152-ФЗ",
            BasisKind::Contract => "ст. 6 ч. 1 п. 5 152-ФЗ",
            BasisKind::VitalInterests => "ст. 6 ч. 1 п. 6 152-ФЗ",
            BasisKind::LegitimateInterest => "ст. 6 ч. 1 п. 7 152-ФЗ",
            BasisKind::Statistics => "ст. 6 ч. 1 п. 9 152-ФЗ",
        }
    }

    /// Whether the basis rests on a consent the subject can withdraw.
    pub fn is_consent(self) -> bool {
        matches!(self, BasisKind::Consent | BasisKind::WrittenConsent)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BasisKind::Consent => "consent",
            BasisKind::WrittenConsent => "written_consent",
            BasisKind::Law => "law",
            BasisKind::Court => "court",
            BasisKind::Contract => "contract",
            BasisKind::VitalInterests => "vital_interests",
            BasisKind::LegitimateInterest => "legitimate_interest",
            BasisKind::Statistics => "statistics",
        }
    }
}

/// Special categories of personal data, ст. 10 ч. 1 152-ФЗ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialKind {
    Race,
    Nationality,
    PoliticalViews,
    ReligiousBeliefs,
    PhilosophicalBeliefs,
    Health,
    IntimateLife,
    /// Membership of a trade union is not in ст. 10 ч. 1 itself but courts and Roskomnadzor
    /// treat it with the same care; the seeds list it alongside (clause 4.2).
    UnionMembership,
    Criminal,
}

/// Norm forbidding special categories without a written consent.
pub const SPECIAL_CATEGORY_NORM: &str = "ст. 10 152-ФЗ";
/// Norm for biometric personal data.
pub const BIOMETRIC_NORM: &str = "ст. 11 152-ФЗ";
/// Since 01.07.2025 recording and storing PD of Russian citizens must use databases in Russia.
pub const LOCALISATION_NORM: &str = "ст. 18 ч. 5 152-ФЗ";
/// The notice of processing to Roskomnadzor: what it contains (ч. 3) and that a change of its
/// content is notified within 10 working days (ч. 7).
pub const NOTICE_NORM: &str = "ст. 22 152-ФЗ";
/// The requirements for protecting personal data set by the Government, to which item 11 of the
/// notice refers: four levels of protection (уровни защищённости).
pub const PROTECTION_REQUIREMENTS: &str = "Постановление Правительства РФ от 01.11.2012 № 1119 «Об утверждении требований к защите персональных данных при их обработке в информационных системах персональных данных»";
/// Transfer of personal data abroad (трансграничная передача).
pub const CROSS_BORDER_NORM: &str = "ст. 12 152-ФЗ";
/// Marketing by direct contact needs the subject's prior consent and stops at once on demand.
pub const MARKETING_NORM: &str = "ст. 15 ч. 1–2 152-ФЗ";
/// Consent must be a separate document since 01.09.2025 (156-ФЗ).
pub const SEPARATE_CONSENT_NORM: &str = "ст. 9 ч. 1 152-ФЗ в ред. 156-ФЗ";
/// Consent elements and the operator's burden of proof.
pub const CONSENT_PROOF_NORM: &str = "ст. 9 ч. 3 152-ФЗ";
/// Blocked data may be stored but not used or transferred.
pub const BLOCKING_NORM: &str = "ст. 3 п. 6, ст. 21 ч. 1 152-ФЗ";
/// Incompatible purposes may not be combined, and their databases may not be merged.
pub const INCOMPATIBLE_PURPOSES_NORM: &str = "ст. 5 ч. 2–3 152-ФЗ";
/// Data are kept no longer than their purposes require and then destroyed or depersonalised,
/// unless a federal law or a contract with the subject sets the period.
pub const RETENTION_NORM: &str = "ст. 5 ч. 7 152-ФЗ";
/// Only data compatible with the declared purposes may be processed (minimisation).
pub const MINIMISATION_NORM: &str = "ст. 5 ч. 4–5 152-ФЗ";
/// Data are provided to third parties only on a basis of ст. 6 ч. 1 and to those the operator
/// names (seed clauses 4.4–4.8); a transfer is a processing operation of its own (ст. 3 п. 3, 6).
pub const TRANSFER_NORM: &str = "ст. 3 п. 6, ст. 6 ч. 1, 3 152-ФЗ";
/// What a contract entrusting processing to a processor must contain: the operations and
/// purposes, confidentiality, the protection duties of ст. 19, and since 2022 the localisation
/// and incident duties.
pub const PROCESSOR_CONTRACT_NORM: &str = "ст. 6 ч. 3 152-ФЗ";
/// On a withdrawal of consent the operator stops processing, and makes those who process on its
/// behalf stop, and destroys the data within 30 days unless a law or contract allows otherwise.
pub const WITHDRAWAL_STOP_NORM: &str = "ст. 21 ч. 5 152-ФЗ";
/// Data obtained not from the subject: before processing them the operator tells the subject
/// who it is, the purpose and basis, the intended users, the subject's rights and the source.
pub const SOURCE_NOTICE_NORM: &str = "ст. 18 ч. 3 152-ФЗ";

/// Why the operator need not send the notice of [`SOURCE_NOTICE_NORM`] (ст. 18 ч. 4): a category
/// of the policy that comes from third parties names one, and each record of it keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeExemption {
    /// The subject was notified by the operator who provided the data (п. 1).
    NotifiedByProvider,
    /// Obtained under a federal law, or for a contract the subject is a party to, a beneficiary
    /// of or a guarantor under (п. 2): e.g. the recipient of goods ordered for them.
    LawOrContract,
    /// Made public by the subject or taken from a public source (п. 3).
    PublicSource,
    /// Statistics, research, journalism, science or literature, without harm to the subject (п. 4).
    Research,
    /// The notice would violate the rights and legitimate interests of third parties (п. 5).
    ThirdPartyRights,
}

impl NoticeExemption {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeExemption::NotifiedByProvider => "notified_by_provider",
            NoticeExemption::LawOrContract => "law_or_contract",
            NoticeExemption::PublicSource => "public_source",
            NoticeExemption::Research => "research",
            NoticeExemption::ThirdPartyRights => "third_party_rights",
        }
    }

    /// The clause of ст. 18 ч. 4 it rests on.
    pub fn norm(self) -> &'static str {
        match self {
            NoticeExemption::NotifiedByProvider => "ст. 18 ч. 4 п. 1 152-ФЗ",
            NoticeExemption::LawOrContract => "ст. 18 ч. 4 п. 2 152-ФЗ",
            NoticeExemption::PublicSource => "ст. 18 ч. 4 п. 3 152-ФЗ",
            NoticeExemption::Research => "ст. 18 ч. 4 п. 4 152-ФЗ",
            NoticeExemption::ThirdPartyRights => "ст. 18 ч. 4 п. 5 152-ФЗ",
        }
    }
}

/// Working days Roskomnadzor has to consider a cross-border notice; to a country without adequate
/// protection nothing may go before they pass.
pub const CROSS_BORDER_WAIT_WORKING_DAYS: u32 = 10;
/// The norm of [`CROSS_BORDER_WAIT_WORKING_DAYS`].
pub const CROSS_BORDER_WAIT_NORM: &str = "ст. 12 ч. 6, 10 152-ФЗ";

/// Incidents: on an unlawful or accidental transfer (provision, dissemination, access) of
/// personal data that violated subjects' rights, the operator notifies Roskomnadzor twice,
/// within 24 and 72 hours of detection (ч. 3.1 added by 266-ФЗ of 14.07.2022, in force since
/// 01.09.2022). The two periods are the stages of rule D7 of `deadline::RULES`.
pub const INCIDENT_NORM: &str = "ст. 21 ч. 3.1 152-ФЗ";

/// An element a notice about an incident must contain: its id (as the draft's `missing` names
/// it), the law's words, and the heading the draft gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NoticeElement {
    pub id: &'static str,
    pub law: &'static str,
    pub heading: &'static str,
    pub norm: &'static str,
}

/// What the first notice, within 24 hours, must say (ст. 21 ч. 3.1 п. 1).
pub const INCIDENT_FIRST_NOTICE_ELEMENTS: [NoticeElement; 5] = [
    NoticeElement {
        id: "incident",
        law: "о произошедшем инциденте",
        heading: "Сведения об инциденте",
        norm: "ст. 21 ч. 3.1 п. 1 152-ФЗ",
    },
    NoticeElement {
        id: "causes",
        law: "о предполагаемых причинах, повлекших нарушение прав субъектов персональных данных",
        heading: "Предполагаемые причины, повлёкшие нарушение прав субъектов персональных данных",
        norm: "ст. 21 ч. 3.1 п. 1 152-ФЗ",
    },
    NoticeElement {
        id: "harm",
        law: "о предполагаемом вреде, нанесенном правам субъектов персональных данных",
        heading: "Предполагаемый вред, нанесённый правам субъектов персональных данных",
        norm: "ст. 21 ч. 3.1 п. 1 152-ФЗ",
    },
    NoticeElement {
        id: "measures",
        law: "о принятых мерах по устранению последствий соответствующего инцидента",
        heading: "Принятые меры по устранению последствий инцидента",
        norm: "ст. 21 ч. 3.1 п. 1 152-ФЗ",
    },
    NoticeElement {
        id: "contact",
        law: "сведения о лице, уполномоченном оператором на взаимодействие с уполномоченным органом по защите прав субъектов персональных данных, по вопросам, связанным с выявленным инцидентом",
        heading: "Лицо, уполномоченное оператором на взаимодействие с Роскомнадзором по вопросам, связанным с инцидентом",
        norm: "ст. 21 ч. 3.1 п. 1 152-ФЗ",
    },
];

/// What the second notice, within 72 hours, must say (ст. 21 ч. 3.1 п. 2).
pub const INCIDENT_RESULTS_ELEMENTS: [NoticeElement; 2] = [
    NoticeElement {
        id: "results",
        law: "о результатах внутреннего расследования выявленного инцидента",
        heading: "Результаты внутреннего расследования",
        norm: "ст. 21 ч. 3.1 п. 2 152-ФЗ",
    },
    NoticeElement {
        id: "persons",
        law: "сведения о лицах, действия которых стали причиной выявленного инцидента (при наличии)",
        heading: "Сведения о лицах, действия которых стали причиной инцидента",
        norm: "ст. 21 ч. 3.1 п. 2 152-ФЗ",
    },
];

/// Words that, used as a category or field name, reveal a special category or biometrics.
///
/// The policy model refuses an ordinary category whose id or title contains one of these, and
/// the API refuses a field of that name with a specific error, so that such data is never stored
/// by mistake (seed clause 4.2; ст. 10, 11).
pub const SENSITIVE_MARKERS: &[(&str, Sensitivity)] = &[
    ("race", Sensitivity::Special(SpecialKind::Race)),
    ("racial", Sensitivity::Special(SpecialKind::Race)),
    ("ethnic", Sensitivity::Special(SpecialKind::Nationality)),
    (
        "nationality",
        Sensitivity::Special(SpecialKind::Nationality),
    ),
    (
        "national_origin",
        Sensitivity::Special(SpecialKind::Nationality),
    ),
    (
        "political",
        Sensitivity::Special(SpecialKind::PoliticalViews),
    ),
    (
        "religion",
        Sensitivity::Special(SpecialKind::ReligiousBeliefs),
    ),
    (
        "religious",
        Sensitivity::Special(SpecialKind::ReligiousBeliefs),
    ),
    (
        "philosophical",
        Sensitivity::Special(SpecialKind::PhilosophicalBeliefs),
    ),
    ("health", Sensitivity::Special(SpecialKind::Health)),
    ("diagnosis", Sensitivity::Special(SpecialKind::Health)),
    ("medical", Sensitivity::Special(SpecialKind::Health)),
    ("disability", Sensitivity::Special(SpecialKind::Health)),
    ("intimate", Sensitivity::Special(SpecialKind::IntimateLife)),
    ("sexual", Sensitivity::Special(SpecialKind::IntimateLife)),
    (
        "union_member",
        Sensitivity::Special(SpecialKind::UnionMembership),
    ),
    ("criminal", Sensitivity::Special(SpecialKind::Criminal)),
    ("conviction", Sensitivity::Special(SpecialKind::Criminal)),
    ("biometric", Sensitivity::Biometric),
    ("fingerprint", Sensitivity::Biometric),
    ("face_image", Sensitivity::Biometric),
    ("face_template", Sensitivity::Biometric),
    ("voiceprint", Sensitivity::Biometric),
    ("iris", Sensitivity::Biometric),
    ("dna", Sensitivity::Biometric),
    ("раса", Sensitivity::Special(SpecialKind::Race)),
    ("национальн", Sensitivity::Special(SpecialKind::Nationality)),
    (
        "политическ",
        Sensitivity::Special(SpecialKind::PoliticalViews),
    ),
    (
        "религиоз",
        Sensitivity::Special(SpecialKind::ReligiousBeliefs),
    ),
    (
        "философск",
        Sensitivity::Special(SpecialKind::PhilosophicalBeliefs),
    ),
    ("здоровь", Sensitivity::Special(SpecialKind::Health)),
    ("интимн", Sensitivity::Special(SpecialKind::IntimateLife)),
    ("судимост", Sensitivity::Special(SpecialKind::Criminal)),
    ("биометр", Sensitivity::Biometric),
    ("отпечат", Sensitivity::Biometric),
];

/// How sensitive a category is in the eyes of the law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    #[default]
    Ordinary,
    /// Special category, ст. 10.
    Special(SpecialKind),
    /// Biometric data, ст. 11.
    Biometric,
}

impl Sensitivity {
    pub fn norm(self) -> Option<&'static str> {
        match self {
            Sensitivity::Ordinary => None,
            Sensitivity::Special(_) => Some(SPECIAL_CATEGORY_NORM),
            Sensitivity::Biometric => Some(BIOMETRIC_NORM),
        }
    }
}

/// Finds a marker of a special category or biometrics in a name, if there is one.
///
/// Matching is on lower-cased whole words or word prefixes joined by `_`, `-` or spaces, so
/// `health_status` and `состояние здоровья` match while `wealth` does not.
pub fn sensitive_marker(name: &str) -> Option<(&'static str, Sensitivity)> {
    let lower = name.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    for (marker, sensitivity) in SENSITIVE_MARKERS {
        let marker_words: Vec<&str> = marker.split('_').collect();
        let hit = words.windows(marker_words.len()).any(|window| {
            window
                .iter()
                .zip(&marker_words)
                .enumerate()
                .all(|(i, (w, m))| {
                    if i + 1 == marker_words.len() {
                        w.starts_with(m)
                    } else {
                        w == m
                    }
                })
        });
        if hit {
            return Some((marker, *sensitivity));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_match_words_not_substrings() {
        assert!(sensitive_marker("health_status").is_some());
        assert!(sensitive_marker("Состояние здоровья").is_some());
        assert!(sensitive_marker("fingerprint_hash").is_some());
        assert!(sensitive_marker("wealth").is_none());
        assert!(sensitive_marker("delivery_address").is_none());
        assert!(sensitive_marker("personal_data").is_none());
        assert_eq!(
            sensitive_marker("union_membership").map(|m| m.1),
            Some(Sensitivity::Special(SpecialKind::UnionMembership))
        );
        assert!(sensitive_marker("union").is_none());
    }

    #[test]
    fn every_basis_has_a_norm() {
        for kind in BasisKind::ALL {
            assert!(kind.norm().contains("152-ФЗ"), "{kind:?}");
        }
    }
}
