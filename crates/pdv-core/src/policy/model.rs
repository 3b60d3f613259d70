//! The policy model: the types a policy TOML file is read into.
//!
//! Each `[[table]]` of the file maps to one struct here; unknown keys are refused so that a typo
//! never silently disables a rule. Identifiers are [`Name`]s, which remember their position in
//! the file for error messages. Every entry may carry `clause`, the number of the clause of the
//! published policy it comes from, so a reviewer can trace each rule to its text.

use serde::{Deserialize, Serialize};

use super::name::Name;
use super::period::{Period, de_date, de_opt_date, de_protection_level};
use crate::field::FieldType;
use crate::law::{BasisKind, SpecialKind};
use crate::operation::Operation;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub policy: PolicyMeta,
    pub operator: Operator,
    pub terms: Terms,
    #[serde(default, rename = "channel")]
    pub channels: Vec<Channel>,
    #[serde(default, rename = "subject_kind")]
    pub subject_kinds: Vec<SubjectKind>,
    #[serde(default, rename = "category")]
    pub categories: Vec<Category>,
    #[serde(default, rename = "basis")]
    pub bases: Vec<Basis>,
    #[serde(default, rename = "purpose")]
    pub purposes: Vec<Purpose>,
    #[serde(default, rename = "retention")]
    pub retention: Vec<RetentionRule>,
    #[serde(default, rename = "processor")]
    pub processors: Vec<ThirdParty>,
    #[serde(default, rename = "recipient")]
    pub recipients: Vec<ThirdParty>,
    #[serde(default, rename = "storage")]
    pub storage: Vec<StorageLocation>,
    #[serde(default, rename = "security_measure")]
    pub security_measures: Vec<SecurityMeasure>,
    pub requests: Requests,
}

/// `[policy]`: the document's identity (seed clause 11.1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyMeta {
    pub title: String,
    /// Version of the policy; every consent records the version it was given under.
    pub version: Name,
    #[serde(deserialize_with = "de_date")]
    pub published: jiff::civil::Date,
    #[serde(default)]
    pub clause: Option<String>,
}

/// `[operator]`: who the operator is (seed clauses 1.1, 2.2).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    pub full_name: String,
    pub short_name: String,
    /// Organisational and legal form, e.g. «ООО», «АНО ДПО».
    pub legal_form: String,
    pub inn: Name,
    pub ogrn: Name,
    #[serde(default)]
    pub kpp: Option<Name>,
    pub address: String,
    pub site: Name,
    pub emails: Vec<Name>,
    #[serde(default)]
    pub phones: Vec<String>,
    /// IANA time zone in which deadlines are counted (Europe/Moscow by default in the law's practice).
    pub time_zone: Name,
    /// Number in Roskomnadzor's register of operators, once notified (ст. 22).
    #[serde(default)]
    pub rkn_registry_number: Option<String>,
    pub responsible_person: ResponsiblePerson,
    /// The day processing of personal data began: item 8 of the notice of ст. 22 ч. 3. Absent
    /// until the operator states it; the notice then lists the item as missing.
    #[serde(default, deserialize_with = "de_opt_date")]
    pub processing_started: Option<jiff::civil::Date>,
    /// The level of protection (уровень защищённости, 1–4) the operator established for its
    /// information system under Постановление Правительства РФ от 01.11.2012 № 1119: item 11 of
    /// the notice of ст. 22 ч. 3. Absent until the operator has assessed it.
    #[serde(default, deserialize_with = "de_protection_level")]
    pub protection_level: Option<u8>,
    /// The details are placeholders that the operator must replace before going live.
    #[serde(default)]
    pub demo: bool,
    #[serde(default)]
    pub clause: Option<String>,
}

/// The person responsible for organising PD processing (ст. 22.1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsiblePerson {
    pub name: String,
    pub position: String,
    pub email: Name,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub demo: bool,
}

/// `[terms]`: the words the operator's documents use for its customers and what it sells.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    /// «Покупатель», «Абонент»…
    pub customer: String,
    pub customer_plural: String,
    pub offering: Offering,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Offering {
    Goods,
    Services,
    GoodsAndServices,
}

/// `[[channel]]`: a way data and requests reach the operator (seed clause 1.5).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub id: Name,
    pub kind: ChannelKind,
    pub title: String,
    #[serde(default)]
    pub address: Option<String>,
    /// Subjects may send requests and withdraw consents through this channel.
    #[serde(default)]
    pub accepts_requests: bool,
    #[serde(default)]
    pub clause: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Site,
    ContactCentre,
    Email,
    Post,
    InPerson,
    MobileApp,
}

impl ChannelKind {
    /// Channels where a consent is given on paper or by signature rather than online.
    pub fn is_paper(self) -> bool {
        matches!(self, ChannelKind::Post | ChannelKind::InPerson)
    }
}

/// `[[subject_kind]]`: a kind of subject whose data is processed (seed clause 2.4).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectKind {
    pub id: Name,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub clause: Option<String>,
}

/// `[[category]]`: a category of PD and its typed fields (seed clauses 3.1, 3.2, 10).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub id: Name,
    pub title: String,
    /// Subject kinds whose data of this category may be held.
    pub subjects: Vec<Name>,
    #[serde(default)]
    pub sensitivity: SensitivityClass,
    /// Required when `sensitivity = "special"`: which special category of ст. 10.
    #[serde(default)]
    pub special_kind: Option<SpecialKind>,
    /// Where the data comes from (seed clause 3.3): the subject, or a third party (ст. 18 ч. 3).
    #[serde(default = "default_sources")]
    pub sources: Vec<DataSource>,
    /// For data that come from third parties: why the subject need not be notified
    /// (ст. 18 ч. 4). Without it every record from a third party queues the ст. 18 ч. 3 notice.
    #[serde(default)]
    pub notice_exemption: Option<crate::law::NoticeExemption>,
    #[serde(rename = "field")]
    pub fields: Vec<Field>,
    #[serde(default)]
    pub clause: Option<String>,
}

fn default_sources() -> Vec<DataSource> {
    vec![DataSource::Subject]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensitivityClass {
    #[default]
    Ordinary,
    Special,
    Biometric,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// From the subject themself.
    Subject,
    /// From someone else, e.g. the buyer naming a recipient (ст. 18 ч. 3 notice duty).
    ThirdParty,
    /// Collected automatically by the site (seed clause 10).
    Automatic,
}

impl DataSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DataSource::Subject => "subject",
            DataSource::ThirdParty => "third_party",
            DataSource::Automatic => "automatic",
        }
    }
}

/// `[[category.field]]`: one typed field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub id: Name,
    pub title: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Allowed values of an `enum` field.
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub max_len: Option<usize>,
}

/// `[[basis]]`: a legal basis the operator relies on (seed clause 2.3, ст. 6 ч. 1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Basis {
    pub id: Name,
    pub kind: BasisKind,
    pub title: String,
    /// For `kind = "law"`: the act and article that impose the processing.
    #[serde(default)]
    pub law_reference: Option<String>,
    #[serde(default)]
    pub clause: Option<String>,
}

/// `[[purpose]]`: a declared purpose of processing (seed clause 2.5).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    pub id: Name,
    pub title: String,
    /// Exactly one basis.
    pub basis: Name,
    pub categories: Vec<Name>,
    pub subjects: Vec<Name>,
    /// Direct marketing (ст. 15): needs its own consent and stops at once on demand.
    #[serde(default)]
    pub marketing: bool,
    /// Only depersonalised data may be used (statistics, ст. 6 ч. 1 п. 9; seed 10.2).
    #[serde(default)]
    pub depersonalised_only: bool,
    /// Purposes whose data may not be combined with this one's (ст. 5 ч. 3, seed 4.1).
    #[serde(default)]
    pub incompatible_with: Vec<Name>,
    /// Operations allowed for this purpose; all of ст. 3 п. 3 when omitted.
    #[serde(default)]
    pub operations: Option<Vec<Operation>>,
    #[serde(default)]
    pub clause: Option<String>,
}

/// `[[retention]]`: how long a data set lives and what happens then (seed clause 8.1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    pub id: Name,
    pub title: String,
    pub subjects: Vec<Name>,
    pub categories: Vec<Name>,
    pub anchor: AnchorEvent,
    pub period: Period,
    pub action: RetentionAction,
    /// A law requires keeping this data set; it survives withdrawal and destruction demands,
    /// for this data set only.
    #[serde(default)]
    pub statutory: bool,
    /// The norm that sets the period.
    pub norm: String,
    #[serde(default)]
    pub clause: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorEvent {
    AccountDeleted,
    OrderFulfilled,
    ClaimClosed,
    ContractTerminated,
    PurposeAchieved,
    ConsentWithdrawn,
    CommunicationEnded,
    Collected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionAction {
    Destroy,
    Depersonalise,
    Review,
}

/// `[[processor]]` or `[[recipient]]`: someone the operator entrusts or gives data to
/// (seed clauses 4.4–4.6).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThirdParty {
    pub id: Name,
    pub name: String,
    /// A class of recipients («службы доставки») that consents may name instead of one company.
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub inn: Option<Name>,
    #[serde(default)]
    pub address: Option<String>,
    /// Where notices to the party go (an e-mail, or a postal address): a withdrawal of consent
    /// for it (ст. 21 ч. 5). The postal `address` is used when absent.
    #[serde(default)]
    pub contact: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Name,
    pub purposes: Vec<Name>,
    pub categories: Vec<Name>,
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// Legal bases under which data may go to this party.
    #[serde(default)]
    pub bases: Vec<Name>,
    #[serde(default)]
    pub contract: Option<Contract>,
    #[serde(default)]
    pub cross_border: Option<CrossBorder>,
    #[serde(default)]
    pub demo: bool,
    #[serde(default)]
    pub clause: Option<String>,
}

/// The contract (поручение) with a processor: ст. 6 ч. 3 lists what it must contain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    pub number: String,
    #[serde(deserialize_with = "de_date")]
    pub date: jiff::civil::Date,
    #[serde(default)]
    pub confidentiality: bool,
    #[serde(default)]
    pub security_measures: bool,
    #[serde(default)]
    pub localisation: bool,
    #[serde(default)]
    pub incident_notice: bool,
}

/// Permission for a transfer abroad (ст. 12).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossBorder {
    #[serde(deserialize_with = "de_date")]
    pub rkn_notice_date: jiff::civil::Date,
    pub adequacy: Adequacy,
}

/// How the country of a party abroad protects subjects' rights (ст. 12 ч. 1–2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Adequacy {
    /// A party to the Council of Europe Convention 108: adequate by law.
    #[serde(rename = "convention_108", alias = "adequate")]
    Convention108,
    /// On Roskomnadzor's list of countries with adequate protection.
    RknList,
    /// Any other country: transfers wait 10 working days after the notice.
    #[serde(alias = "not_adequate")]
    Other,
}

/// `[[storage]]`: a place personal data lives (seed clause 4.3; ст. 18 ч. 5).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageLocation {
    pub id: Name,
    pub kind: StorageKind,
    pub title: String,
    pub country: Name,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub demo: bool,
    #[serde(default)]
    pub clause: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageKind {
    Primary,
    Backup,
    KeyStore,
    Export,
    Paper,
}

impl StorageKind {
    pub const ALL: [StorageKind; 5] = [
        StorageKind::Primary,
        StorageKind::Backup,
        StorageKind::KeyStore,
        StorageKind::Export,
        StorageKind::Paper,
    ];

    /// The stores pdvault itself writes: its database, the archives of `pdv backup` (data and
    /// keys), the master key with the wrapped keys, and the files of `pdv export`. A policy must
    /// say where each lives (ст. 18 ч. 5; ст. 22 ч. 3 п. 10.1).
    pub const USED_BY_PDVAULT: [StorageKind; 4] = [
        StorageKind::Primary,
        StorageKind::Backup,
        StorageKind::KeyStore,
        StorageKind::Export,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StorageKind::Primary => "primary",
            StorageKind::Backup => "backup",
            StorageKind::KeyStore => "key_store",
            StorageKind::Export => "export",
            StorageKind::Paper => "paper",
        }
    }

    /// What the store is, in the notice and in messages.
    pub fn title_ru(self) -> &'static str {
        match self {
            StorageKind::Primary => "основная база данных",
            StorageKind::Backup => "резервные копии",
            StorageKind::KeyStore => "хранилище ключей",
            StorageKind::Export => "выгрузки",
            StorageKind::Paper => "бумажный архив",
        }
    }

    /// What lies there, for "where … are kept".
    pub fn what_ru(self) -> &'static str {
        match self {
            StorageKind::Primary => "основная база данных",
            StorageKind::Backup => "резервные копии (pdv backup)",
            StorageKind::KeyStore => "мастер-ключ и архивы ключей",
            StorageKind::Export => "выгрузки (pdv export, pdv requests export)",
            StorageKind::Paper => "бумажные документы",
        }
    }
}

/// `[[security_measure]]`: a protection measure the operator takes (seed clause 7).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityMeasure {
    pub id: Name,
    pub title: String,
    #[serde(default)]
    pub clause: Option<String>,
}

/// `[requests]`: how subjects reach the operator about their data (seed clauses 5, 6, 9).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requests {
    /// Channels through which requests and withdrawals are accepted.
    pub channels: Vec<Name>,
    pub email: Name,
    #[serde(default)]
    pub postal_address: Option<String>,
    #[serde(default)]
    pub clause: Option<String>,
}
