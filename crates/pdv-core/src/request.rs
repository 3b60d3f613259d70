//! Subjects' requests as the journal sees them (журнал учёта обращений, seed clause 6(3)): the
//! kinds of request the law knows, the deadline rule each one starts, the identity check of
//! ст. 14 ч. 3 152-ФЗ, the human-readable number, and the life of a request as a closed state
//! machine.
//!
//! The journal is append-only: a request never changes, it gains entries. [`Status::after`] is the
//! one place that says which entry may follow which, so the service, the API and a replay of the
//! journal all agree on what state a request is in.

use serde::{Deserialize, Serialize};

use crate::deadline::RuleId;

/// What the requester asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Confirmation of processing and the information of ст. 14 ч. 7.
    Access,
    /// The data are incomplete, inaccurate or outdated (ст. 14 ч. 1, ст. 20 ч. 3).
    Rectification,
    /// Block the data while inaccurate or unlawful processing is checked (ст. 21 ч. 1).
    Blocking,
    /// The data were obtained unlawfully or are not needed for the purpose (ст. 20 ч. 3).
    Destruction,
    /// Withdrawal of consent (ст. 9 ч. 2, ст. 21 ч. 5).
    ConsentWithdrawal,
    /// Demand to stop processing (ст. 21 ч. 5.1).
    StopProcessing,
    /// Demand to stop processing for direct marketing (ст. 15 ч. 2).
    StopMarketing,
    /// A question about processing (seed clause 9).
    Clarification,
    /// An enquiry from Roskomnadzor (ст. 20 ч. 4).
    AuthorityEnquiry,
}

impl RequestKind {
    pub const ALL: [RequestKind; 9] = [
        RequestKind::Access,
        RequestKind::Rectification,
        RequestKind::Blocking,
        RequestKind::Destruction,
        RequestKind::ConsentWithdrawal,
        RequestKind::StopProcessing,
        RequestKind::StopMarketing,
        RequestKind::Clarification,
        RequestKind::AuthorityEnquiry,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Access => "access",
            RequestKind::Rectification => "rectification",
            RequestKind::Blocking => "blocking",
            RequestKind::Destruction => "destruction",
            RequestKind::ConsentWithdrawal => "consent_withdrawal",
            RequestKind::StopProcessing => "stop_processing",
            RequestKind::StopMarketing => "stop_marketing",
            RequestKind::Clarification => "clarification",
            RequestKind::AuthorityEnquiry => "authority_enquiry",
        }
    }

    pub fn parse(s: &str) -> Option<RequestKind> {
        RequestKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The name of the kind in the journal and in answers.
    pub fn title(self) -> &'static str {
        match self {
            RequestKind::Access => "запрос сведений об обработке",
            RequestKind::Rectification => "требование уточнить данные",
            RequestKind::Blocking => "требование заблокировать данные",
            RequestKind::Destruction => "требование уничтожить данные",
            RequestKind::ConsentWithdrawal => "отзыв согласия",
            RequestKind::StopProcessing => "требование прекратить обработку",
            RequestKind::StopMarketing => "требование прекратить обработку в целях продвижения",
            RequestKind::Clarification => "вопрос об обработке",
            RequestKind::AuthorityEnquiry => "запрос Роскомнадзора",
        }
    }

    /// The deadline rule (REQUIREMENTS §3, table D1–D14) that receipt of this kind starts.
    /// A question about processing is answered like a request for information, within the
    /// ст. 14 ч. 3 period: the law gives it no shorter one, and the seed promises an answer.
    pub fn rule(self) -> RuleId {
        match self {
            RequestKind::Access | RequestKind::Clarification => RuleId::D1,
            RequestKind::Rectification => RuleId::D2,
            RequestKind::Destruction => RuleId::D3,
            RequestKind::Blocking => RuleId::D4,
            RequestKind::ConsentWithdrawal => RuleId::D9,
            RequestKind::StopProcessing => RuleId::D10,
            RequestKind::StopMarketing => RuleId::D12,
            RequestKind::AuthorityEnquiry => RuleId::D13,
        }
    }

    /// Whether a motivated notice may extend the deadline (ст. 14 ч. 3, ст. 20 ч. 2 and ч. 4,
    /// ст. 21 ч. 5.1): whatever the deadline table says of the kind's rule.
    pub fn extendable(self) -> bool {
        self.rule().rule().extension.is_some()
    }

    /// Whether the identity check of ст. 14 ч. 3 applies: an enquiry from the authority is not a
    /// subject's request.
    pub fn needs_identity_check(self) -> bool {
        self != RequestKind::AuthorityEnquiry
    }
}

/// How a request reached the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    InPerson,
    Post,
    Email,
    /// The operator's site or the subject's personal account.
    Site,
    /// A telephone call to the contact centre: enough to stop marketing, recorded for the rest
    /// so that the written request the law requires can be asked for.
    Phone,
    /// Roskomnadzor's own channels (its portal, interagency e-mail).
    Authority,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::InPerson,
        Channel::Post,
        Channel::Email,
        Channel::Site,
        Channel::Phone,
        Channel::Authority,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::InPerson => "in_person",
            Channel::Post => "post",
            Channel::Email => "email",
            Channel::Site => "site",
            Channel::Phone => "phone",
            Channel::Authority => "authority",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How the request was signed (ст. 14 ч. 3: a signature of the subject or the representative; an
/// electronic request is signed with an electronic signature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Signature {
    Handwritten,
    /// Усиленная квалифицированная электронная подпись.
    QualifiedElectronic,
    /// Простая электронная подпись, e.g. a signed-in session of the personal account (Госуслуги
    /// or the operator's own, where the subject agreed to it).
    SimpleElectronic,
    /// Not signed: the request is recorded and the answer asks for a signed one.
    None,
}

impl Signature {
    pub fn as_str(self) -> &'static str {
        match self {
            Signature::Handwritten => "handwritten",
            Signature::QualifiedElectronic => "qualified_electronic",
            Signature::SimpleElectronic => "simple_electronic",
            Signature::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Signature> {
        [
            Signature::Handwritten,
            Signature::QualifiedElectronic,
            Signature::SimpleElectronic,
            Signature::None,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// What the request contains of the particulars ст. 14 ч. 3 requires. Recorded as stated by the
/// staff member who checked the paper or the file, never guessed from other data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IdentityCheck {
    /// Number of the main identity document, with the date of issue and the issuing authority.
    pub document: Option<String>,
    /// What shows the subject's relation to the operator (a contract number and date, an order
    /// number) or otherwise confirms processing by this operator.
    pub relation: Option<String>,
    pub signature: Option<Signature>,
    /// For a representative: the power of attorney or other document of authority.
    pub authority_document: Option<String>,
}

/// A particular the request lacks; the answer asks the requester for it, the clock keeps
/// running (the law counts from receipt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    Document,
    Relation,
    Signature,
    AuthorityDocument,
}

impl Missing {
    pub fn as_str(self) -> &'static str {
        match self {
            Missing::Document => "document",
            Missing::Relation => "relation",
            Missing::Signature => "signature",
            Missing::AuthorityDocument => "authority_document",
        }
    }

    /// What the answer asks for, in Russian.
    pub fn request_text(self) -> &'static str {
        match self {
            Missing::Document => {
                "номер основного документа, удостоверяющего личность, сведения о дате его выдачи и выдавшем органе"
            }
            Missing::Relation => {
                "сведения, подтверждающие участие в отношениях с оператором (номер и дата договора, номер заказа) либо иначе подтверждающие обработку данных оператором"
            }
            Missing::Signature => {
                "подпись субъекта или его представителя (для электронного обращения — электронную подпись)"
            }
            Missing::AuthorityDocument => "документ, подтверждающий полномочия представителя",
        }
    }
}

impl IdentityCheck {
    /// What ст. 14 ч. 3 requires and the request lacks, in a fixed order. A blank text counts
    /// as missing.
    pub fn missing(&self, by_representative: bool) -> Vec<Missing> {
        let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
        let mut out = Vec::new();
        if blank(&self.document) {
            out.push(Missing::Document);
        }
        if blank(&self.relation) {
            out.push(Missing::Relation);
        }
        if matches!(self.signature, None | Some(Signature::None)) {
            out.push(Missing::Signature);
        }
        if by_representative && blank(&self.authority_document) {
            out.push(Missing::AuthorityDocument);
        }
        out
    }
}

/// Where a request stands. Only [`Status::after`] moves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Received,
    IdentityChecked,
    InProgress,
    Extended,
    Answered,
    Refused,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::IdentityChecked => "identity_checked",
            Status::InProgress => "in_progress",
            Status::Extended => "extended",
            Status::Answered => "answered",
            Status::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Received,
            Status::IdentityChecked,
            Status::InProgress,
            Status::Extended,
            Status::Answered,
            Status::Refused,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    pub fn title(self) -> &'static str {
        match self {
            Status::Received => "получено",
            Status::IdentityChecked => "личность проверена",
            Status::InProgress => "в работе",
            Status::Extended => "срок продлён",
            Status::Answered => "ответ дан",
            Status::Refused => "отказано",
        }
    }

    /// Whether the request is closed: nothing but a correction note may follow.
    pub fn is_closed(self) -> bool {
        matches!(self, Status::Answered | Status::Refused)
    }

    /// The status after `step`, or why `step` cannot follow now.
    pub fn after(self, step: Step, kind: RequestKind) -> Result<Status, StepRefused> {
        use Status::*;
        if self.is_closed() && step != Step::Note {
            return Err(StepRefused::Closed(self));
        }
        match (step, self) {
            (Step::Note, s) => Ok(s),
            (Step::CheckIdentity, Received) if kind.needs_identity_check() => Ok(IdentityChecked),
            (Step::CheckIdentity, _) => Err(StepRefused::Order { step, from: self }),
            (Step::Start, Received) if !kind.needs_identity_check() => Ok(InProgress),
            (Step::Start, IdentityChecked) => Ok(InProgress),
            (Step::Start, _) => Err(StepRefused::Order { step, from: self }),
            (Step::Extend, _) if !kind.extendable() => Err(StepRefused::NotExtendable(kind)),
            (Step::Extend, Extended) => Err(StepRefused::AlreadyExtended),
            (Step::Extend, _) => Ok(Extended),
            // An answer may say that identity could not be established or that particulars are
            // missing, so it needs no earlier step; a refusal must be motivated (ст. 14 ч. 6), which
            // the service checks on the entry itself.
            (Step::Answer, _) => Ok(Answered),
            (Step::Refuse, _) => Ok(Refused),
        }
    }
}

/// A journal entry that moves a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    CheckIdentity,
    Start,
    /// A motivated notice extending the deadline by five working days.
    Extend,
    Answer,
    Refuse,
    /// A correction or remark; it changes nothing but the record.
    Note,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::CheckIdentity => "check_identity",
            Step::Start => "start",
            Step::Extend => "extend",
            Step::Answer => "answer",
            Step::Refuse => "refuse",
            Step::Note => "note",
        }
    }
}

/// Why a step was refused; the message is for the staff member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StepRefused {
    #[error("обращение закрыто (статус «{}»): можно добавить только примечание", .0.title())]
    Closed(Status),
    #[error("шаг «{}» невозможен в статусе «{}»", .step.as_str(), .from.title())]
    Order { step: Step, from: Status },
    #[error("срок ответа на {} продлить нельзя: закон не допускает продления", .0.title())]
    NotExtendable(RequestKind),
    #[error("срок уже продлён: закон допускает одно продление на пять рабочих дней")]
    AlreadyExtended,
}

impl StepRefused {
    pub fn code(self) -> &'static str {
        match self {
            StepRefused::Closed(_) => "request_closed",
            StepRefused::Order { .. } => "step_out_of_order",
            StepRefused::NotExtendable(_) => "not_extendable",
            StepRefused::AlreadyExtended => "already_extended",
        }
    }
}

/// A request's number in the journal: the year of receipt and a running number within it,
/// written `2026-000042`, which staff can say on the phone and subjects can quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestNumber {
    pub year: i16,
    pub seq: u32,
}

impl std::fmt::Display for RequestNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:06}", self.year, self.seq)
    }
}

impl std::str::FromStr for RequestNumber {
    type Err = String;

    fn from_str(s: &str) -> Result<RequestNumber, String> {
        let bad = || format!("номер обращения «{s}» не в виде ГГГГ-НННННН, например 2026-000042");
        let (year, seq) = s.trim().split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: i16 = year.parse().map_err(|_| bad())?;
        let seq: u32 = seq.parse().map_err(|_| bad())?;
        if seq == 0 {
            return Err(bad());
        }
        Ok(RequestNumber { year, seq })
    }
}

impl Serialize for RequestNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RequestNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RequestNumber, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_every_kind_has_a_rule_of_the_table() {
        for k in RequestKind::ALL {
            assert_eq!(RequestKind::parse(k.as_str()), Some(k));
            assert_eq!(
                k.rule().rule().id,
                k.rule(),
                "the rule is a row of the table"
            );
        }
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        assert_eq!(RequestKind::parse("Access"), None);
    }

    #[test]
    fn only_rules_with_an_extension_in_the_law_extend() {
        // ст. 14 ч. 3 and ст. 20 ч. 2 (D1), ст. 21 ч. 5.1 (D10), ст. 20 ч. 4 (D13).
        for k in RequestKind::ALL {
            assert_eq!(
                k.extendable(),
                matches!(k.rule(), RuleId::D1 | RuleId::D10 | RuleId::D13),
                "{k:?}"
            );
        }
    }

    #[test]
    fn a_request_moves_only_forward_and_closes_for_good() {
        let k = RequestKind::Access;
        let s = Status::Received;
        assert_eq!(
            s.after(Step::Start, k),
            Err(StepRefused::Order {
                step: Step::Start,
                from: Status::Received
            }),
            "work starts after the identity check"
        );
        let s = s.after(Step::CheckIdentity, k).unwrap();
        let s = s.after(Step::Start, k).unwrap();
        assert_eq!(s, Status::InProgress);
        let s = s.after(Step::Extend, k).unwrap();
        assert_eq!(s.after(Step::Extend, k), Err(StepRefused::AlreadyExtended));
        assert_eq!(s.after(Step::Note, k), Ok(Status::Extended));
        let s = s.after(Step::Answer, k).unwrap();
        assert!(s.is_closed());
        assert_eq!(
            s.after(Step::Refuse, k),
            Err(StepRefused::Closed(Status::Answered))
        );
        assert_eq!(s.after(Step::Note, k), Ok(Status::Answered));
    }

    #[test]
    fn marketing_cannot_be_extended_and_the_authority_needs_no_identity_check() {
        assert_eq!(
            Status::Received.after(Step::Extend, RequestKind::StopMarketing),
            Err(StepRefused::NotExtendable(RequestKind::StopMarketing))
        );
        let k = RequestKind::AuthorityEnquiry;
        assert_eq!(
            Status::Received.after(Step::Start, k),
            Ok(Status::InProgress)
        );
        assert!(Status::Received.after(Step::CheckIdentity, k).is_err());
    }

    #[test]
    fn the_identity_check_names_what_is_missing() {
        let full = IdentityCheck {
            document: Some("паспорт 4510 123456, выдан 01.02.2015 ОВД «Тверской»".into()),
            relation: Some("договор № 17 от 03.03.2025".into()),
            signature: Some(Signature::Handwritten),
            authority_document: None,
        };
        assert!(full.missing(false).is_empty());
        assert_eq!(full.missing(true), vec![Missing::AuthorityDocument]);
        let empty = IdentityCheck {
            document: Some("   ".into()),
            signature: Some(Signature::None),
            ..IdentityCheck::default()
        };
        assert_eq!(
            empty.missing(false),
            vec![Missing::Document, Missing::Relation, Missing::Signature]
        );
    }

    #[test]
    fn numbers_print_and_parse() {
        let n = RequestNumber {
            year: 2026,
            seq: 42,
        };
        assert_eq!(n.to_string(), "2026-000042");
        assert_eq!("2026-000042".parse::<RequestNumber>(), Ok(n));
        assert_eq!(
            "2026-1234567".parse::<RequestNumber>().unwrap().seq,
            1_234_567
        );
        for bad in [
            "",
            "2026",
            "26-000001",
            "2026-",
            "2026-0000x1",
            "2026-000000",
            "2026--1",
        ] {
            assert!(bad.parse::<RequestNumber>().is_err(), "{bad:?}");
        }
        assert_eq!(
            serde_json::to_string(&n).unwrap(),
            "\"2026-000042\"",
            "numbers travel as text"
        );
    }
}
