//! A realistic demo operator: subjects, contracts, consents and personal data generated from
//! whatever policy is loaded, so the same loader serves ЛИДЕР, КОНЕКТ and any operator's file.
//!
//! Everything goes through the ordinary commands, so the demo data is checked, encrypted and
//! audited exactly like real data. Values are generated deterministically from the subject's
//! number; e-mail domains and IP addresses come from ranges reserved for examples.

use pdv_core::access::{self, AccessQuery, SubjectFacts};
use pdv_core::consent::{ConsentDocument, Evidence};
use pdv_core::field::FieldType;
use pdv_core::law::BasisKind;
use pdv_core::policy::{ChannelKind, DataSource, Field, Policy};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ServiceResult;
use crate::vault::Vault;
use crate::views::*;

const LAST: [&str; 10] = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
];
const LAST_LATIN: [&str; 10] = [
    "ivanov",
    "smirnov",
    "kuznetsov",
    "popov",
    "vasiliev",
    "petrov",
    "sokolov",
    "mikhailov",
    "novikov",
    "fedorov",
];
const FIRST: [&str; 10] = [
    "Александр",
    "Мария",
    "Дмитрий",
    "Анна",
    "Сергей",
    "Елена",
    "Андрей",
    "Ольга",
    "Иван",
    "Наталья",
];
const MIDDLE: [&str; 10] = [
    "Сергеевич",
    "Ивановна",
    "Петрович",
    "Алексеевна",
    "Николаевич",
    "Дмитриевна",
    "Викторович",
    "Андреевна",
    "Олегович",
    "Юрьевна",
];
const CITIES: [&str; 6] = [
    "Москва",
    "Новосибирск",
    "Казань",
    "Екатеринбург",
    "Самара",
    "Тверь",
];
const STREETS: [&str; 6] = [
    "Лесная",
    "Садовая",
    "Школьная",
    "Центральная",
    "Молодёжная",
    "Заречная",
];

/// What the demo loader created.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DemoSummary {
    pub subjects: usize,
    pub contracts: usize,
    pub consents: usize,
    pub records: usize,
    /// Retention events recorded (an order fulfilled, a claim closed…).
    pub events: usize,
    pub skipped_categories: usize,
}

impl Vault {
    /// Loads `count` demo subjects under the current policy.
    pub async fn load_demo(&self, count: usize) -> ServiceResult<DemoSummary> {
        let actor = Actor::new("demo");
        let policy = self.policy().policy.clone();
        let kinds = demo_kinds(&policy);
        let mut summary = DemoSummary::default();
        let Some(site) = policy
            .channels
            .iter()
            .find(|c| matches!(c.kind, ChannelKind::Site | ChannelKind::MobileApp))
            .or(policy.channels.first())
        else {
            return Ok(summary);
        };
        for i in 0..count {
            let Some(kind) = kinds.get(i % kinds.len().max(1)) else {
                break;
            };
            let n = i % 10;
            let email = format!(
                "{}.{}{}@example.ru",
                LAST_LATIN[n],
                i,
                if i.is_multiple_of(2) { "a" } else { "b" }
            );
            let phone = format!("+7916{:07}", 1_000_000 + i * 7919 % 8_999_999);
            let created = self
                .create_subject(
                    &actor,
                    NewSubject {
                        kind: kind.clone(),
                        identifiers: [
                            ("email".to_string(), email.clone()),
                            ("phone".to_string(), phone.clone()),
                        ]
                        .into(),
                    },
                )
                .await?;
            summary.subjects += 1;
            let id = created.id;
            let mut facts = SubjectFacts {
                kind: kind.clone(),
                ..Default::default()
            };
            let covers = |basis: &[BasisKind]| {
                policy.purposes.iter().any(|p| {
                    p.subjects.iter().any(|s| *s == **kind) && basis.contains(&policy.basis_kind(p))
                })
            };
            if covers(&[BasisKind::Contract]) {
                let today = self.today();
                let concluded = today
                    .checked_sub(jiff::Span::new().days(30 + (i as i64 * 37) % 700))
                    .unwrap_or(today);
                self.add_contract(
                    &actor,
                    id,
                    NewContract {
                        reference: format!("Д-{:05}", 1000 + i),
                        concluded_on: concluded,
                    },
                )
                .await?;
                facts.contract_active = true;
                summary.contracts += 1;
            }
            // One consent for the ordinary consent purposes and, for every other subject, a
            // separate one for marketing: the law wants them as separate documents.
            let consent_purposes = |marketing: bool| -> Vec<String> {
                policy
                    .purposes
                    .iter()
                    .filter(|p| {
                        p.subjects.iter().any(|s| *s == **kind)
                            && policy.basis_kind(p) == BasisKind::Consent
                            && p.marketing == marketing
                    })
                    .map(|p| p.id.to_string())
                    .collect()
            };
            for (marketing, wanted) in [(false, true), (true, i.is_multiple_of(2))] {
                let purposes = consent_purposes(marketing);
                if !wanted || purposes.is_empty() {
                    continue;
                }
                let text = format!("Демо-текст согласия на цели: {}", purposes.join(", "));
                let document = ConsentDocument {
                    id: if marketing {
                        "consent-marketing".into()
                    } else {
                        "consent-processing".into()
                    },
                    version: policy.policy.version.to_string(),
                    sha256: hex::encode(Sha256::digest(text.as_bytes())),
                };
                let evidence = Evidence {
                    ip: Some(format!("203.0.113.{}", 1 + i % 250)),
                    user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) demo".into()),
                    form_id: Some(if marketing {
                        "subscribe-form".into()
                    } else {
                        "signup-form".into()
                    }),
                    signature: Some("demo-signature".into()),
                    document_scan: Some(format!("archive/consent-{i}.pdf")),
                    call_recording: Some(format!("calls/{i}.ogg")),
                };
                self.record_consent(
                    &actor,
                    id,
                    NewConsent {
                        purposes: purposes.clone(),
                        recipients: vec![],
                        channel: site.id.to_string(),
                        evidence,
                        document,
                        valid_until: None,
                        representative: None,
                    },
                )
                .await?;
                facts.consented_purposes.extend(purposes);
                summary.consents += 1;
            }
            for category in policy
                .categories
                .iter()
                .filter(|c| c.subjects.iter().any(|s| *s == **kind))
            {
                let wanted = vec![category.id.to_string()];
                let purpose = policy.purposes.iter().find(|p| {
                    p.categories.contains(&category.id)
                        && access::decide(
                            &policy,
                            &facts,
                            &AccessQuery {
                                purpose: &p.id,
                                categories: &wanted,
                            },
                        )
                        .is_ok()
                });
                let Some(purpose) = purpose else {
                    summary.skipped_categories += 1;
                    continue;
                };
                let fields: serde_json::Map<String, serde_json::Value> = category
                    .fields
                    .iter()
                    .filter_map(|f| {
                        let value = demo_value(f, i, &email, &phone);
                        f.spec()
                            .parse(&value)
                            .ok()
                            .map(|_| (f.id.to_string(), value))
                    })
                    .collect();
                if fields.is_empty() {
                    summary.skipped_categories += 1;
                    continue;
                }
                let source = if category.sources.contains(&DataSource::Subject) {
                    DataSource::Subject
                } else {
                    category
                        .sources
                        .first()
                        .copied()
                        .unwrap_or(DataSource::Subject)
                };
                self.add_record(
                    &actor,
                    id,
                    NewRecord {
                        category: category.id.to_string(),
                        purpose: purpose.id.to_string(),
                        fields,
                        source: Some(source.as_str().to_string()),
                        scope: None,
                        notice_to: None,
                    },
                )
                .await?;
                summary.records += 1;
            }
            // Retention needs the events periods count from. Every third round over the kinds,
            // each subject had its order fulfilled, claim closed, account deleted or contract
            // terminated: in half of those rounds long enough ago that a period has run out (so
            // `pdv retention run` has work on the demo), in the other half recently (so it has
            // something to leave alone). Counting in rounds gives every kind both.
            let round = i / kinds.len().max(1);
            if round.is_multiple_of(3)
                && let Some(event) = demo_event(&policy, kind)
            {
                let years = if round.is_multiple_of(6) { 4 } else { 1 };
                let on = self
                    .today()
                    .checked_sub(jiff::Span::new().years(years).days(10))
                    .unwrap_or(self.today());
                self.record_anchor(
                    &actor,
                    id,
                    crate::anchors::NewAnchor {
                        event: event.into(),
                        scope: None,
                        purpose: None,
                        occurred_on: Some(on.to_string()),
                    },
                )
                .await?;
                summary.events += 1;
            }
        }
        Ok(summary)
    }
}

/// The event the kind's first retention rule counts from, if it is one the demo can say happened:
/// the end of an order, a claim, an account or a contract.
fn demo_event(policy: &Policy, kind: &str) -> Option<&'static str> {
    use pdv_core::policy::AnchorEvent as E;
    policy
        .retention
        .iter()
        .filter(|r| r.subjects.iter().any(|s| s.as_str() == kind))
        .find_map(|r| match r.anchor {
            E::OrderFulfilled => Some("order_fulfilled"),
            E::ClaimClosed => Some("claim_closed"),
            E::AccountDeleted => Some("account_deleted"),
            E::ContractTerminated => Some("contract_terminated"),
            _ => None,
        })
}

/// Subject kinds that some purpose with a basis the demo can establish applies to.
fn demo_kinds(policy: &Policy) -> Vec<String> {
    policy
        .subject_kinds
        .iter()
        .filter(|k| {
            policy.purposes.iter().any(|p| {
                p.subjects.contains(&k.id)
                    && matches!(
                        policy.basis_kind(p),
                        BasisKind::Contract | BasisKind::Consent
                    )
            })
        })
        .map(|k| k.id.to_string())
        .collect()
}

fn demo_value(field: &Field, i: usize, email: &str, phone: &str) -> serde_json::Value {
    use serde_json::Value::{Bool, String as S};
    let n = i % 10;
    let id = field.id.as_str();
    let text = match field.field_type {
        FieldType::Boolean => return Bool(i.is_multiple_of(2)),
        FieldType::Email => email.to_string(),
        FieldType::Phone => phone.to_string(),
        FieldType::Text if id.contains("last_name") || id == "surname" => LAST[n].to_string(),
        FieldType::Text if id.contains("first_name") || id == "name" => FIRST[n].to_string(),
        FieldType::Text if id.contains("middle_name") || id.contains("patronymic") => {
            MIDDLE[n].to_string()
        }
        FieldType::Text if id.contains("city") => CITIES[i % CITIES.len()].to_string(),
        FieldType::Text => format!("Демо: {}", field.title),
        FieldType::FreeText => format!(
            "Демонстрационный текст ({}) № {i}",
            field.title.to_lowercase()
        ),
        FieldType::Address => format!(
            "г. {}, ул. {}, д. {}, кв. {}",
            CITIES[i % CITIES.len()],
            STREETS[i % STREETS.len()],
            1 + i % 40,
            1 + i % 120
        ),
        FieldType::Date if id.contains("birth") => {
            format!("{}-{:02}-{:02}", 1960 + i % 45, 1 + i % 12, 1 + i % 28)
        }
        FieldType::Date => format!("2025-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
        FieldType::Datetime => format!(
            "2025-{:02}-{:02}T10:{:02}:00Z",
            1 + i % 12,
            1 + i % 28,
            i % 60
        ),
        FieldType::Enum => field
            .values
            .get(i % field.values.len().max(1))
            .cloned()
            .unwrap_or_default(),
        FieldType::Money => format!("{}.00", 490 + (i * 1370) % 20_000),
        FieldType::Number => format!("{}", 1 + i % 9),
        FieldType::CookieId => format!(
            "ck-{:016x}",
            (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ),
        FieldType::Passport => format!("45 {:02} {:06}", 10 + i % 90, 100_000 + i * 7 % 899_999),
        FieldType::PaymentCard => format!("427600******{:04}", 1000 + i % 9000),
        FieldType::IpAddress => format!("198.51.100.{}", 1 + i % 250),
        FieldType::Geo => format!(
            "{:.4},{:.4}",
            55.70 + (i % 10) as f64 / 100.0,
            37.50 + (i % 10) as f64 / 100.0
        ),
        FieldType::Url => format!("https://example.ru/catalog/{i}"),
    };
    let limit = field.max_len.unwrap_or(field.field_type.default_max_len());
    S(text.chars().take(limit).collect())
}
