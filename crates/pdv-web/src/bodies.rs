//! Response bodies the web layer assembles itself (health, the public policy, consent evidence).
//!
//! They are typed rather than built with `json!` so that the OpenAPI schema is derived from the
//! very structs that are serialised: a renamed or added key changes the document, and the drift
//! test then insists that the committed `openapi.json` follow.

use pdv_core::consent::{Evidence, Representative};
use pdv_core::field::FieldType;
use pdv_core::law::BasisKind;
use pdv_core::policy::{LoadedPolicy, Name};
use pdv_core::{ConsentId, Policy};
use serde::Serialize;
use utoipa::ToSchema;

/// Liveness of the server, with what it runs on.
#[derive(Debug, Serialize, ToSchema)]
#[schema(description = "Состояние сервиса: хранилище и действующая версия политики.")]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The storage backend, e.g. `sqlite`.
    #[schema(example = "sqlite")]
    pub backend: &'static str,
    pub policy_version: String,
}

/// Readiness: whether the server can serve requests now, i.e. its database answers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(description = "Готовность: отвечает ли база данных.")]
pub struct Ready {
    #[schema(example = "ready")]
    pub status: &'static str,
    #[schema(example = "sqlite")]
    pub backend: &'static str,
}

/// The operator's policy as integrations need it: the vocabulary every other request uses.
#[derive(Debug, Serialize, ToSchema)]
#[schema(
    description = "Опубликованная политика оператора: виды субъектов, каналы, категории с полями, цели с основаниями и получатели. Идентификаторы отсюда используются в остальных запросах."
)]
pub struct PolicyView {
    pub version: String,
    /// Publication date, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub published: String,
    /// SHA-256 (hex) of the policy file enforced.
    pub fingerprint: String,
    pub operator: OperatorView,
    pub subject_kinds: Vec<TitledView>,
    pub channels: Vec<ChannelView>,
    pub categories: Vec<CategoryView>,
    pub purposes: Vec<PurposeView>,
    /// Processors and recipients together: both may be named in a consent.
    pub recipients: Vec<RecipientView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorView {
    pub name: String,
    pub short_name: String,
    pub inn: String,
    pub ogrn: String,
    pub address: String,
    pub site: String,
    /// IANA time zone in which the operator counts days.
    pub time_zone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TitledView {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    pub id: String,
    pub title: String,
    /// Whether subjects' requests and consent withdrawals are accepted through the channel.
    pub accepts_requests: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryView {
    pub id: String,
    pub title: String,
    /// Subject kinds whose data of this category may be held.
    pub subjects: Vec<String>,
    pub fields: Vec<FieldView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldView {
    pub id: String,
    pub title: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Allowed values of an `enum` field; empty for other types.
    pub values: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurposeView {
    pub id: String,
    pub title: String,
    pub basis: BasisKind,
    /// Direct marketing (ст. 15 152-ФЗ): needs its own consent.
    pub marketing: bool,
    pub categories: Vec<String>,
    pub subjects: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientView {
    pub id: String,
    pub name: String,
    pub purposes: Vec<String>,
}

/// The proof of one consent, decrypted.
#[derive(Debug, Serialize, ToSchema)]
#[schema(
    description = "Доказательства согласия (ст. 9 ч. 3 152-ФЗ): что передала интеграция при его записи, в расшифрованном виде."
)]
pub struct ConsentEvidence {
    pub consent: ConsentId,
    pub evidence: Evidence,
    pub representative: Option<Representative>,
}

fn names(items: &[Name]) -> Vec<String> {
    items.iter().map(Name::to_string).collect()
}

impl PolicyView {
    pub fn new(loaded: &LoadedPolicy) -> PolicyView {
        let p: &Policy = &loaded.policy;
        let o = &p.operator;
        PolicyView {
            version: p.policy.version.to_string(),
            published: p.policy.published.to_string(),
            fingerprint: loaded.fingerprint.clone(),
            operator: OperatorView {
                name: o.full_name.clone(),
                short_name: o.short_name.clone(),
                inn: o.inn.to_string(),
                ogrn: o.ogrn.to_string(),
                address: o.address.clone(),
                site: o.site.to_string(),
                time_zone: o.time_zone.to_string(),
            },
            subject_kinds: p
                .subject_kinds
                .iter()
                .map(|s| TitledView {
                    id: s.id.to_string(),
                    title: s.title.clone(),
                })
                .collect(),
            channels: p
                .channels
                .iter()
                .map(|c| ChannelView {
                    id: c.id.to_string(),
                    title: c.title.clone(),
                    accepts_requests: c.accepts_requests,
                })
                .collect(),
            categories: p
                .categories
                .iter()
                .map(|c| CategoryView {
                    id: c.id.to_string(),
                    title: c.title.clone(),
                    subjects: names(&c.subjects),
                    fields: c
                        .fields
                        .iter()
                        .map(|f| FieldView {
                            id: f.id.to_string(),
                            title: f.title.clone(),
                            field_type: f.field_type,
                            values: f.values.clone(),
                        })
                        .collect(),
                })
                .collect(),
            purposes: p
                .purposes
                .iter()
                .map(|x| PurposeView {
                    id: x.id.to_string(),
                    title: x.title.clone(),
                    basis: p.basis_kind(x),
                    marketing: x.marketing,
                    categories: names(&x.categories),
                    subjects: names(&x.subjects),
                })
                .collect(),
            recipients: p
                .processors
                .iter()
                .chain(&p.recipients)
                .map(|t| RecipientView {
                    id: t.id.to_string(),
                    name: t.name.clone(),
                    purposes: names(&t.purposes),
                })
                .collect(),
        }
    }
}
