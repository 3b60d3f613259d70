//! The notice of processing to Roskomnadzor (ст. 22 152-ФЗ): its content built from the policy,
//! its canonical form and hash, the items that changed since a filed version, and the Russian
//! text in the order of ст. 22 ч. 3.
//!
//! The operator files the notice before it starts processing (ст. 22 ч. 1) and notifies every
//! change of its content within 10 working days (ч. 7). So that a change is never missed, the
//! content is a structured value derived from the registers of the policy alone, and the hash is
//! SHA-256 over its canonical JSON — not over the prose: rewording the template does not make a
//! filed notice stale, while a new purpose, category, store or recipient does. Lists are sorted by
//! id, so reordering entries of the policy file is not a change either. What the content holds
//! is exactly what the notice states; anything else in the policy (retention periods, channels,
//! clause numbers, the texts of consents) can change without a new notice.
//!
//! Items the policy does not state (the start date, the level of protection, a phone of the
//! responsible person, the address of a database) are kept empty in the content and listed by
//! [`NoticeContent::missing`], never left out silently.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::law::{self, BasisKind};
use crate::operation::Operation;
use crate::policy::{AnchorEvent, ChannelKind, Policy, SensitivityClass, StorageKind, ThirdParty};

/// One item of ст. 22 ч. 3 152-ФЗ, with the field of [`NoticeContent`] that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeItem {
    /// The item's number in ст. 22 ч. 3 («7.1», «10.1» are items added by later amendments).
    pub number: &'static str,
    /// The field of the canonical JSON that holds the item.
    pub key: &'static str,
    pub title: &'static str,
}

/// Every item of ст. 22 ч. 3 152-ФЗ, in the law's order.
pub const ITEMS: [NoticeItem; 13] = [
    NoticeItem {
        number: "1",
        key: "operator",
        title: "Наименование и адрес оператора",
    },
    NoticeItem {
        number: "2",
        key: "purposes",
        title: "Цели обработки персональных данных",
    },
    NoticeItem {
        number: "3",
        key: "categories",
        title: "Категории персональных данных",
    },
    NoticeItem {
        number: "4",
        key: "subjects",
        title: "Категории субъектов, персональные данные которых обрабатываются",
    },
    NoticeItem {
        number: "5",
        key: "bases",
        title: "Правовое основание обработки персональных данных",
    },
    NoticeItem {
        number: "6",
        key: "processing",
        title: "Перечень действий с персональными данными, общее описание используемых оператором способов обработки",
    },
    NoticeItem {
        number: "7",
        key: "measures",
        title: "Описание мер, предусмотренных статьями 18.1 и 19 Федерального закона «О персональных данных», в том числе сведения о наличии шифровальных (криптографических) средств и их наименования",
    },
    NoticeItem {
        number: "7.1",
        key: "responsible",
        title: "Лицо, ответственное за организацию обработки персональных данных, и его контакты",
    },
    NoticeItem {
        number: "8",
        key: "processing_started",
        title: "Дата начала обработки персональных данных",
    },
    NoticeItem {
        number: "9",
        key: "termination",
        title: "Срок или условие прекращения обработки персональных данных",
    },
    NoticeItem {
        number: "10",
        key: "cross_border",
        title: "Сведения о наличии или об отсутствии трансграничной передачи персональных данных",
    },
    NoticeItem {
        number: "10.1",
        key: "databases",
        title: "Сведения о месте нахождения базы данных информации, содержащей персональные данные граждан Российской Федерации",
    },
    NoticeItem {
        number: "11",
        key: "security",
        title: "Сведения об обеспечении безопасности персональных данных в соответствии с требованиями к защите персональных данных, установленными Правительством Российской Федерации",
    },
];

/// The item by its number.
pub fn item(number: &str) -> Option<&'static NoticeItem> {
    ITEMS.iter().find(|i| i.number == number)
}

/// The cryptography pdvault itself applies, whatever the policy says: a fact of the product that
/// item 7 must name. The name goes into the content (a change of algorithm is a change of the
/// notice); the description is only for the text.
pub const CRYPTOGRAPHY: [(&str, &str); 5] = [
    (
        "AES-256-GCM",
        "шифрование каждого поля персональных данных ключом категории; ключи категорий и субъектов хранятся обёрнутыми (зашифрованными) ключом верхнего уровня",
    ),
    (
        "HKDF-SHA-256",
        "выработка независимых подключей из мастер-ключа, который хранится отдельно от базы данных",
    ),
    (
        "HMAC-SHA-256",
        "слепые индексы для поиска по адресу электронной почты и номеру телефона без расшифровки; печать журнала аудита; контроль целостности резервных копий",
    ),
    (
        "SHA-256",
        "цепочка хешей журнала аудита, хеши актов об уничтожении, хранение токенов доступа",
    ),
    ("Argon2id", "хеширование паролей работников"),
];

/// The note that goes with [`CRYPTOGRAPHY`]: the tools are software, not certified ones.
pub const CRYPTOGRAPHY_NOTE: &str = "Средства реализованы программно в составе pdvault (библиотеки RustCrypto); сертификата ФСБ России как СКЗИ не имеют.";

/// The content of the notice: one field per item of ст. 22 ч. 3 (see [`ITEMS`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeContent {
    /// п. 1.
    pub operator: NoticeOperator,
    /// п. 2, by id.
    pub purposes: Vec<NoticePurpose>,
    /// п. 3, by id.
    pub categories: Vec<NoticeCategory>,
    /// п. 4, by id.
    pub subjects: Vec<NoticeSubject>,
    /// п. 5, by id.
    pub bases: Vec<NoticeBasis>,
    /// п. 6.
    pub processing: NoticeProcessing,
    /// п. 7.
    pub measures: NoticeMeasures,
    /// п. 7.1.
    pub responsible: NoticeResponsible,
    /// п. 8: `YYYY-MM-DD`, or null while the policy does not state it.
    pub processing_started: Option<String>,
    /// п. 9.
    pub termination: NoticeTermination,
    /// п. 10.
    pub cross_border: NoticeCrossBorder,
    /// п. 10.1: every database (not the paper archive), by id.
    pub databases: Vec<NoticeDatabase>,
    /// п. 11.
    pub security: NoticeSecurity,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeOperator {
    pub full_name: String,
    pub short_name: String,
    pub legal_form: String,
    pub inn: String,
    pub ogrn: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticePurpose {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeCategory {
    pub id: String,
    pub title: String,
    /// `ordinary`, `special` (ст. 10) or `biometric` (ст. 11).
    pub sensitivity: String,
    /// The data it holds: the titles of its fields.
    pub fields: Vec<String>,
    /// Purposes it is processed for, by id.
    pub purposes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeSubject {
    pub id: String,
    pub title: String,
    pub purposes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeBasis {
    pub id: String,
    pub kind: BasisKind,
    pub title: String,
    /// The act and article, for a basis in a law.
    pub law_reference: Option<String>,
    /// Purposes resting on it, by id.
    pub purposes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeProcessing {
    /// Every operation of ст. 3 п. 3 performed for some purpose, in the law's order.
    pub operations: Vec<String>,
    /// Operations per purpose, for purposes that allow fewer than all.
    pub limited: Vec<NoticePurposeOperations>,
    /// `automated` or `mixed` (paper channels or archives besides the database).
    pub method: String,
    /// Data travel over the Internet (a site or an app collects them).
    pub internet: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticePurposeOperations {
    pub purpose: String,
    pub operations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeMeasures {
    /// The policy's `[[security_measure]]`, by id.
    pub measures: Vec<NoticeMeasure>,
    /// Names of the cryptographic tools pdvault applies ([`CRYPTOGRAPHY`]).
    pub cryptography: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeMeasure {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeResponsible {
    pub name: String,
    pub position: String,
    pub email: String,
    pub phone: Option<String>,
    /// The postal address for requests, or the operator's address.
    pub postal_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeTermination {
    /// Conditions that end processing, as codes: `purposes_achieved`, `consent_withdrawn`,
    /// `demand_to_stop`, `operator_liquidated`.
    pub conditions: Vec<String>,
    /// Events after which the retention rules count their periods (`order_fulfilled`…); the
    /// periods themselves are not part of the notice.
    pub retention_after: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeCrossBorder {
    /// Whether any processor or recipient is abroad.
    pub transfers: bool,
    /// Those abroad, by id.
    pub parties: Vec<NoticeForeignParty>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeForeignParty {
    pub id: String,
    pub name: String,
    /// `processor` or `recipient`.
    pub role: String,
    pub country: String,
    /// `convention_108`, `rkn_list` or `other`, as the policy's `[cross_border]` says.
    pub adequacy: Option<String>,
    /// When Roskomnadzor was notified of the transfer (ст. 12 ч. 3).
    pub rkn_notice_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeDatabase {
    pub id: String,
    /// `primary`, `backup`, `key_store`, `export`.
    pub kind: String,
    pub title: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoticeSecurity {
    /// The level of protection under ПП РФ № 1119 (1–4), once the operator states it.
    pub protection_level: Option<u8>,
}

/// Something an item needs that the policy does not state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MissingItem {
    /// The item's number in ст. 22 ч. 3.
    pub item: String,
    /// What is missing and where to state it.
    pub what: String,
}

/// An item whose content differs from the filed version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChangedItem {
    pub item: String,
    pub title: String,
}

fn sorted<T>(mut items: Vec<T>, key: impl Fn(&T) -> String) -> Vec<T> {
    items.sort_by_key(|t| key(t));
    items
}

fn ids_sorted<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    ids.map(str::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

impl NoticeContent {
    /// The notice as the policy states it.
    pub fn from_policy(p: &Policy) -> NoticeContent {
        let o = &p.operator;
        let purposes_of = |test: &dyn Fn(&crate::policy::Purpose) -> bool| {
            ids_sorted(p.purposes.iter().filter(|x| test(x)).map(|x| x.id.as_str()))
        };
        let categories = p
            .categories
            .iter()
            .map(|c| NoticeCategory {
                id: c.id.to_string(),
                title: c.title.clone(),
                sensitivity: match c.sensitivity {
                    SensitivityClass::Ordinary => "ordinary",
                    SensitivityClass::Special => "special",
                    SensitivityClass::Biometric => "biometric",
                }
                .to_string(),
                fields: c.fields.iter().map(|f| f.title.clone()).collect(),
                purposes: purposes_of(&|x| x.categories.iter().any(|id| *id == *c.id)),
            })
            .collect();
        let subjects = p
            .subject_kinds
            .iter()
            .map(|s| NoticeSubject {
                id: s.id.to_string(),
                title: s.title.clone(),
                purposes: purposes_of(&|x| x.subjects.iter().any(|id| *id == *s.id)),
            })
            .collect();
        let bases = p
            .bases
            .iter()
            .map(|b| NoticeBasis {
                id: b.id.to_string(),
                kind: b.kind,
                title: b.title.clone(),
                law_reference: b.law_reference.clone(),
                purposes: purposes_of(&|x| *x.basis == *b.id),
            })
            .collect();
        let operations_of = |x: &crate::policy::Purpose| -> Vec<Operation> {
            match &x.operations {
                None => Operation::ALL.to_vec(),
                Some(ops) => Operation::ALL
                    .into_iter()
                    .filter(|op| ops.contains(op))
                    .collect(),
            }
        };
        let names = |ops: &[Operation]| ops.iter().map(|op| op.as_str().to_string()).collect();
        let all_ops: Vec<Operation> = Operation::ALL
            .into_iter()
            .filter(|op| p.purposes.iter().any(|x| operations_of(x).contains(op)))
            .collect();
        let limited = sorted(
            p.purposes
                .iter()
                .filter(|x| operations_of(x).len() < Operation::ALL.len())
                .map(|x| NoticePurposeOperations {
                    purpose: x.id.to_string(),
                    operations: names(&operations_of(x)),
                })
                .collect(),
            |l| l.purpose.clone(),
        );
        // Paper channels or a paper archive make processing mixed (with and without automation).
        let paper = p.channels.iter().any(|c| c.kind.is_paper())
            || p.storage.iter().any(|s| s.kind == StorageKind::Paper);
        let internet = p
            .channels
            .iter()
            .any(|c| matches!(c.kind, ChannelKind::Site | ChannelKind::MobileApp));
        let foreign = |t: &ThirdParty, role: &str| NoticeForeignParty {
            id: t.id.to_string(),
            name: t.name.clone(),
            role: role.to_string(),
            country: t.country.to_string(),
            adequacy: t.cross_border.as_ref().map(|c| {
                match c.adequacy {
                    crate::policy::Adequacy::Convention108 => "convention_108",
                    crate::policy::Adequacy::RknList => "rkn_list",
                    crate::policy::Adequacy::Other => "other",
                }
                .to_string()
            }),
            rkn_notice_date: t
                .cross_border
                .as_ref()
                .map(|c| c.rkn_notice_date.to_string()),
        };
        let parties: Vec<NoticeForeignParty> = sorted(
            p.processors
                .iter()
                .filter(|t| *t.country != *"RU")
                .map(|t| foreign(t, "processor"))
                .chain(
                    p.recipients
                        .iter()
                        .filter(|t| *t.country != *"RU")
                        .map(|t| foreign(t, "recipient")),
                )
                .collect(),
            |f| f.id.clone(),
        );
        let mut conditions = vec!["purposes_achieved"];
        if p.bases.iter().any(|b| b.kind.is_consent()) {
            conditions.push("consent_withdrawn");
        }
        conditions.extend(["demand_to_stop", "operator_liquidated"]);
        NoticeContent {
            operator: NoticeOperator {
                full_name: o.full_name.clone(),
                short_name: o.short_name.clone(),
                legal_form: o.legal_form.clone(),
                inn: o.inn.to_string(),
                ogrn: o.ogrn.to_string(),
                address: o.address.clone(),
            },
            purposes: sorted(
                p.purposes
                    .iter()
                    .map(|x| NoticePurpose {
                        id: x.id.to_string(),
                        title: x.title.clone(),
                    })
                    .collect(),
                |x| x.id.clone(),
            ),
            categories: sorted(categories, |c| c.id.clone()),
            subjects: sorted(subjects, |s| s.id.clone()),
            bases: sorted(bases, |b| b.id.clone()),
            processing: NoticeProcessing {
                operations: names(&all_ops),
                limited,
                method: if paper { "mixed" } else { "automated" }.to_string(),
                internet,
            },
            measures: NoticeMeasures {
                measures: sorted(
                    p.security_measures
                        .iter()
                        .map(|m| NoticeMeasure {
                            id: m.id.to_string(),
                            title: m.title.clone(),
                        })
                        .collect(),
                    |m| m.id.clone(),
                ),
                cryptography: CRYPTOGRAPHY.iter().map(|(n, _)| n.to_string()).collect(),
            },
            responsible: NoticeResponsible {
                name: o.responsible_person.name.clone(),
                position: o.responsible_person.position.clone(),
                email: o.responsible_person.email.to_string(),
                phone: o
                    .responsible_person
                    .phone
                    .clone()
                    .or_else(|| o.phones.first().cloned()),
                postal_address: p
                    .requests
                    .postal_address
                    .clone()
                    .unwrap_or_else(|| o.address.clone()),
            },
            processing_started: o.processing_started.map(|d| d.to_string()),
            termination: NoticeTermination {
                conditions: conditions.into_iter().map(str::to_string).collect(),
                retention_after: ids_sorted(p.retention.iter().map(|r| anchor_code(r.anchor))),
            },
            cross_border: NoticeCrossBorder {
                transfers: !parties.is_empty(),
                parties,
            },
            databases: sorted(
                p.storage
                    .iter()
                    .filter(|s| s.kind != StorageKind::Paper)
                    .map(|s| NoticeDatabase {
                        id: s.id.to_string(),
                        kind: s.kind.as_str().to_string(),
                        title: s.title.clone(),
                        country: s.country.to_string(),
                        address: s.address.clone(),
                    })
                    .collect(),
                |d| d.id.clone(),
            ),
            security: NoticeSecurity {
                protection_level: o.protection_level,
            },
        }
    }

    /// The canonical JSON: fields in declaration order, lists sorted by id, no whitespace.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).expect("the notice content is plain data and serialises")
    }

    /// SHA-256 of the canonical JSON, hex: what "the notice as filed" is compared by.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_json().as_bytes()))
    }

    /// What the items need and the policy does not state, in the order of the items.
    pub fn missing(&self) -> Vec<MissingItem> {
        let mut out = Vec::new();
        let mut push = |item: &str, what: String| {
            out.push(MissingItem {
                item: item.to_string(),
                what,
            })
        };
        if self.measures.measures.is_empty() {
            push(
                "7",
                "в политике нет ни одной меры защиты: добавьте [[security_measure]]".to_string(),
            );
        }
        if self.responsible.phone.is_none() {
            push(
                "7.1",
                "телефон ответственного: добавьте phone в [operator.responsible_person] или phones в [operator]".to_string(),
            );
        }
        if self.processing_started.is_none() {
            push(
                "8",
                "дата начала обработки: добавьте processing_started = ГГГГ-ММ-ДД в [operator]"
                    .to_string(),
            );
        }
        if !self.databases.iter().any(|d| d.kind == "primary") {
            push(
                "10.1",
                "основная база данных: добавьте [[storage]] с kind = \"primary\"".to_string(),
            );
        }
        for d in self.databases.iter().filter(|d| d.address.is_none()) {
            push(
                "10.1",
                format!(
                    "адрес места хранения «{}»: добавьте address в его [[storage]]",
                    d.id
                ),
            );
        }
        if self.security.protection_level.is_none() {
            push(
                "11",
                format!(
                    "уровень защищённости: определите его по {} и добавьте protection_level = 1…4 в [operator]",
                    law::PROTECTION_REQUIREMENTS
                ),
            );
        }
        out
    }

    /// Items whose content differs from `filed` (the canonical JSON of a filed notice, read back
    /// as a value so that a version filed before the content gained a field still compares: the
    /// new field counts as a changed item).
    pub fn changed_since(&self, filed: &serde_json::Value) -> Vec<ChangedItem> {
        let current = serde_json::to_value(self).unwrap_or_default();
        ITEMS
            .iter()
            .filter(|i| current.get(i.key) != filed.get(i.key))
            .map(|i| ChangedItem {
                item: i.number.to_string(),
                title: i.title.to_string(),
            })
            .collect()
    }

    /// The notice as Russian text (Markdown), item by item in the order of ст. 22 ч. 3, with
    /// what is missing marked in its item and listed at the end.
    pub fn render(&self) -> String {
        let missing = self.missing();
        let mut out = String::new();
        out.push_str("# Уведомление об обработке персональных данных\n\n");
        out.push_str(&format!(
            "Содержание по {} ч. 3. Сформировано pdvault из политики оператора.\n",
            law::NOTICE_NORM
        ));
        for item in &ITEMS {
            out.push_str(&format!("\n## {}. {}\n\n", item.number, item.title));
            self.render_item(item.key, &mut out);
            for m in missing.iter().filter(|m| m.item == item.number) {
                out.push_str(&format!("- **НЕ УКАЗАНО:** {}\n", m.what));
            }
        }
        if !missing.is_empty() {
            out.push_str("\n## Не хватает сведений\n\n");
            for m in &missing {
                out.push_str(&format!("- п. {}: {}\n", m.item, m.what));
            }
        }
        out
    }

    fn render_item(&self, key: &str, out: &mut String) {
        let titles = |ids: &[String]| -> String {
            ids.iter()
                .map(|id| {
                    self.purposes
                        .iter()
                        .find(|x| x.id == *id)
                        .map_or(id.clone(), |x| format!("«{}»", x.title))
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let line = |out: &mut String, text: String| {
            out.push_str("- ");
            out.push_str(&text);
            out.push('\n');
        };
        match key {
            "operator" => {
                let o = &self.operator;
                line(
                    out,
                    format!("{} ({} «{}»)", o.full_name, o.legal_form, o.short_name),
                );
                line(out, format!("ИНН {}, ОГРН {}", o.inn, o.ogrn));
                line(out, format!("адрес: {}", o.address));
            }
            "purposes" => {
                for x in &self.purposes {
                    line(out, x.title.clone());
                }
            }
            "categories" => {
                for c in &self.categories {
                    let kind = match c.sensitivity.as_str() {
                        "special" => {
                            format!(" — специальная категория ({})", law::SPECIAL_CATEGORY_NORM)
                        }
                        "biometric" => {
                            format!(" — биометрические данные ({})", law::BIOMETRIC_NORM)
                        }
                        _ => String::new(),
                    };
                    line(
                        out,
                        format!(
                            "{}{kind}: {}; цели: {}",
                            c.title,
                            c.fields.join(", "),
                            titles(&c.purposes)
                        ),
                    );
                }
            }
            "subjects" => {
                for s in &self.subjects {
                    line(out, format!("{}; цели: {}", s.title, titles(&s.purposes)));
                }
            }
            "bases" => {
                for b in &self.bases {
                    let reference = b
                        .law_reference
                        .as_ref()
                        .map_or(String::new(), |r| format!(", {r}"));
                    line(
                        out,
                        format!(
                            "{} ({}{reference}); цели: {}",
                            b.title,
                            b.kind.norm(),
                            titles(&b.purposes)
                        ),
                    );
                }
            }
            "processing" => {
                fn ru(ops: &[String]) -> String {
                    ops.iter()
                        .map(|op| Operation::parse(op).map_or(op.as_str(), |o| o.title_ru()))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
                line(
                    out,
                    format!("действия: {}", ru(&self.processing.operations)),
                );
                for l in &self.processing.limited {
                    line(
                        out,
                        format!(
                            "для цели {} — только: {}",
                            titles(std::slice::from_ref(&l.purpose)),
                            ru(&l.operations)
                        ),
                    );
                }
                let method = if self.processing.method == "mixed" {
                    "смешанная обработка (с использованием средств автоматизации и без них)"
                } else {
                    "автоматизированная обработка"
                };
                let network = if self.processing.internet {
                    "с передачей по информационно-телекоммуникационной сети «Интернет»"
                } else {
                    "без передачи по сети «Интернет»"
                };
                line(out, format!("способ: {method}, {network}"));
            }
            "measures" => {
                for m in &self.measures.measures {
                    line(out, m.title.clone());
                }
                out.push_str("- шифровальные (криптографические) средства:\n");
                for name in &self.measures.cryptography {
                    let usage = CRYPTOGRAPHY
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or("", |(_, u)| u);
                    out.push_str(&format!("  - {name} — {usage}\n"));
                }
                out.push_str(&format!("  - {CRYPTOGRAPHY_NOTE}\n"));
            }
            "responsible" => {
                let r = &self.responsible;
                line(out, format!("{}, {}", r.name, r.position));
                if let Some(phone) = &r.phone {
                    line(out, format!("телефон: {phone}"));
                }
                line(out, format!("почтовый адрес: {}", r.postal_address));
                line(out, format!("электронная почта: {}", r.email));
            }
            "processing_started" => {
                if let Some(date) = &self.processing_started {
                    line(out, date.clone());
                }
            }
            "termination" => {
                for c in &self.termination.conditions {
                    line(out, condition_title(c).to_string());
                }
                if !self.termination.retention_after.is_empty() {
                    let events = self
                        .termination
                        .retention_after
                        .iter()
                        .map(|a| anchor_title(a))
                        .collect::<Vec<_>>()
                        .join("; ");
                    line(
                        out,
                        format!(
                            "истечение сроков хранения, установленных политикой и законом, исчисляемых от событий: {events}"
                        ),
                    );
                }
            }
            "cross_border" => {
                if self.cross_border.transfers {
                    line(out, format!("осуществляется ({}):", law::CROSS_BORDER_NORM));
                    for f in &self.cross_border.parties {
                        let role = if f.role == "processor" {
                            "обработчик"
                        } else {
                            "получатель"
                        };
                        let adequacy = match f.adequacy.as_deref() {
                            Some("convention_108") => {
                                "страна — участник Конвенции 108, обеспечивающая адекватную защиту"
                            }
                            Some("rkn_list") => {
                                "страна из перечня Роскомнадзора, обеспечивающая адекватную защиту"
                            }
                            Some(_) => "страна, не обеспечивающая адекватной защиты",
                            None => "передача не оформлена",
                        };
                        let date = f.rkn_notice_date.as_ref().map_or(String::new(), |d| {
                            format!(", уведомление о передаче от {d}")
                        });
                        out.push_str(&format!(
                            "  - {} ({role}), {}: {adequacy}{date}\n",
                            f.name, f.country
                        ));
                    }
                } else {
                    line(out, "не осуществляется".to_string());
                }
            }
            "databases" => {
                for d in &self.databases {
                    let country = if d.country == "RU" {
                        "Российская Федерация".to_string()
                    } else {
                        format!("ЗА ПРЕДЕЛАМИ РОССИИ ({})", d.country)
                    };
                    let address = d
                        .address
                        .as_ref()
                        .map_or(String::new(), |a| format!(", {a}"));
                    line(
                        out,
                        format!("{} ({}): {country}{address}", d.title, kind_title(&d.kind)),
                    );
                }
            }
            "security" => {
                if let Some(level) = self.security.protection_level {
                    line(
                        out,
                        format!(
                            "обеспечивается {level}-й уровень защищённости персональных данных по {}",
                            law::PROTECTION_REQUIREMENTS
                        ),
                    );
                }
            }
            _ => {}
        }
    }
}

fn kind_title(kind: &str) -> &'static str {
    StorageKind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind)
        .map_or("хранилище", StorageKind::title_ru)
}

fn condition_title(code: &str) -> &'static str {
    match code {
        "purposes_achieved" => {
            "достижение целей обработки или утрата необходимости в их достижении"
        }
        "consent_withdrawn" => {
            "отзыв согласия субъектом — для обработки на основании согласия (ст. 9 ч. 2, ст. 21 ч. 5)"
        }
        "demand_to_stop" => {
            "требование субъекта прекратить обработку, выявление неправомерной обработки (ст. 21)"
        }
        "operator_liquidated" => "ликвидация или реорганизация оператора",
        _ => "иное условие",
    }
}

fn anchor_code(anchor: AnchorEvent) -> &'static str {
    match anchor {
        AnchorEvent::AccountDeleted => "account_deleted",
        AnchorEvent::OrderFulfilled => "order_fulfilled",
        AnchorEvent::ClaimClosed => "claim_closed",
        AnchorEvent::ContractTerminated => "contract_terminated",
        AnchorEvent::PurposeAchieved => "purpose_achieved",
        AnchorEvent::ConsentWithdrawn => "consent_withdrawn",
        AnchorEvent::CommunicationEnded => "communication_ended",
        AnchorEvent::Collected => "collected",
    }
}

fn anchor_title(code: &str) -> &'static str {
    match code {
        "account_deleted" => "удаление учётной записи",
        "order_fulfilled" => "исполнение заказа",
        "claim_closed" => "рассмотрение претензии",
        "contract_terminated" => "прекращение договора",
        "purpose_achieved" => "достижение цели",
        "consent_withdrawn" => "отзыв согласия",
        "communication_ended" => "окончание переписки",
        "collected" => "получение данных",
        _ => "иное событие",
    }
}

#[cfg(test)]
mod tests;
