//! Transfers to processors and recipients through the service, on both seed operators' policies:
//! ЛИДЕР's delivery of an order to a recipient other than the buyer, КОНЕКТ's installers
//! connecting a subscriber and collecting equipment, a partner transfer resting on a consent
//! that names the partner, refusals with their codes (each audited, nothing transferred), a
//! withdrawal for one recipient that leaves another intact and queues a notice, and the journal
//! in the subject's access answer.

use std::sync::Arc;

use pdv_core::consent::{ConsentDocument, Evidence};
use pdv_core::request::IdentityCheck;
use pdv_core::{Policy, SubjectId};
use pdv_crypto::MasterKey;
use pdv_service::{
    Actor, FixedClock, NewBlock, NewConsent, NewContract, NewRecord, NewRequest, NewSubject,
    NewTransfer, RecipientWithdrawal, Requester, ServiceError, Vault, Withdraw,
};
use pdv_store_sqlite::SqliteStore;

/// A second insurer beside ЛИДЕР's, so that a consent can name two partners.
const SECOND_PARTNER: &str = r#"
[[recipient]]
id = "second_insurer"
name = "АО «Второй страховщик» (ТЕСТ)"
class = "Страховые организации"
contact = "pd@insurer2.example"
country = "RU"
purposes = ["partner_offers"]
categories = ["identity", "personal_details", "marketing_profile"]
bases = ["consent_partner_transfer"]
"#;

async fn vault(file: &str, extra: &str) -> Vault {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(file);
    let source = std::fs::read_to_string(path).unwrap() + extra;
    let policy = Policy::from_toml(file, &source).unwrap();
    let clock = Arc::new(FixedClock::new(
        "2026-04-14T10:00:00+03:00".parse().unwrap(),
    ));
    Vault::open(
        Arc::new(store),
        Arc::new(policy),
        &MasterKey::generate(),
        clock,
    )
    .await
    .unwrap()
}

fn agent() -> Actor {
    Actor::new("user:agent")
}

fn fields(pairs: &[(&str, &str)]) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect()
}

async fn subject(v: &Vault, kind: &str, contract: &str) -> SubjectId {
    let id = v
        .create_subject(
            &agent(),
            NewSubject {
                kind: kind.into(),
                identifiers: Default::default(),
            },
        )
        .await
        .unwrap()
        .id;
    v.add_contract(
        &agent(),
        id,
        NewContract {
            reference: contract.into(),
            concluded_on: "2026-04-01".parse().unwrap(),
        },
    )
    .await
    .unwrap();
    id
}

async fn record(
    v: &Vault,
    id: SubjectId,
    category: &str,
    purpose: &str,
    source: Option<&str>,
    values: &[(&str, &str)],
) -> pdv_service::RecordCreated {
    v.add_record(
        &agent(),
        id,
        NewRecord {
            category: category.into(),
            purpose: purpose.into(),
            fields: fields(values),
            source: source.map(String::from),
            scope: None,
            notice_to: None,
        },
    )
    .await
    .unwrap()
}

fn ask(recipient: &str, purpose: &str, categories: &[&str], basis: &str) -> NewTransfer {
    NewTransfer {
        recipient: recipient.into(),
        purpose: purpose.into(),
        categories: categories.iter().map(|c| c.to_string()).collect(),
        basis: basis.into(),
        court: None,
        reference: Some("заказ 42".into()),
    }
}

async fn refused(v: &Vault, id: SubjectId, t: NewTransfer) -> String {
    match v.transfer(&agent(), id, t).await {
        Err(ServiceError::TransferDenied(d)) => d.code().to_string(),
        other => panic!("a refusal, got {other:?}"),
    }
}

/// Audit events of one action and outcome.
async fn audited(v: &Vault, action: &str, outcome: &str) -> usize {
    let events = v.store().audit_events(1, 10_000).await.unwrap();
    events
        .iter()
        .filter(|e| e.record.action == action && e.record.outcome.as_str() == outcome)
        .count()
}

#[tokio::test]
async fn lider_delivers_an_order_to_another_recipient_through_a_checked_journaled_transfer() {
    let v = vault("lider.toml", "").await;
    let buyer = subject(&v, "buyer", "заказ 42").await;
    record(
        &v,
        buyer,
        "identity",
        "contract",
        None,
        &[("last_name", "Петров"), ("first_name", "Иван")],
    )
    .await;
    record(
        &v,
        buyer,
        "contacts",
        "contract",
        None,
        &[("phone", "+7 900 000-00-01")],
    )
    .await;
    record(
        &v,
        buyer,
        "order",
        "contract",
        None,
        &[("order_number", "42")],
    )
    .await;
    // The recipient of the goods is a subject of their own, named by the buyer (ст. 18 ч. 3),
    // and the beneficiary of the buyer's contract.
    let recipient = subject(&v, "recipient", "заказ 42 в пользу получателя").await;
    let named = record(
        &v,
        recipient,
        "recipient_contacts",
        "contract",
        Some("third_party"),
        &[
            ("last_name", "Сидорова"),
            ("phone", "+7 900 000-00-02"),
            ("delivery_address", "г. Москва, ул. Тестовая, д. 1"),
        ],
    )
    .await;
    // Named by the buyer, not told by the operator: the policy's ground of ст. 18 ч. 4 п. 2 (the
    // recipient is the contract's beneficiary) is recorded instead of a notice.
    assert_eq!(
        named.source_notice.as_deref(),
        Some("exempt: law_or_contract (ст. 18 ч. 4 п. 2 152-ФЗ)")
    );

    let made = v
        .transfer(
            &agent(),
            buyer,
            ask(
                "delivery_courier",
                "contract",
                &["identity", "contacts", "order"],
                "contract",
            ),
        )
        .await
        .unwrap();
    assert!(made.processor);
    assert_eq!(made.categories, ["identity", "contacts", "order"]);
    assert_eq!(made.records.len(), 3, "the data travel with the answer");
    let to_recipient = v
        .transfer(
            &agent(),
            recipient,
            ask("delivery_courier", "contract", &[], "contract"),
        )
        .await
        .unwrap();
    // With no categories named: what both the purpose and the courier's registration allow.
    assert_eq!(to_recipient.categories, ["recipient_contacts"]);
    assert_eq!(to_recipient.records[0].fields["last_name"], "Сидорова");

    // Refusals, each with its code and nothing journaled.
    for (t, code) in [
        (
            ask("nobody", "contract", &[], "contract"),
            "unknown_recipient",
        ),
        (
            ask("delivery_courier", "contract", &["payment"], "contract"),
            "category_not_registered",
        ),
        (
            ask("delivery_courier", "marketing", &[], "contract"),
            "no_consent",
        ),
        (
            ask("web_analytics", "contract", &[], "contract"),
            "purpose_not_registered",
        ),
        (
            ask(
                "delivery_courier",
                "contract",
                &[],
                "consent_partner_transfer",
            ),
            "basis_not_registered",
        ),
        (
            ask(
                "courts_and_authorities",
                "court_orders",
                &["identity"],
                "court",
            ),
            "court_details_missing",
        ),
    ] {
        assert_eq!(refused(&v, buyer, t).await, code);
    }
    v.place_block(
        &Actor::new("user:dpo"),
        buyer,
        NewBlock {
            category: Some("contacts".into()),
            reason: "проверка".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        refused(
            &v,
            buyer,
            ask("delivery_courier", "contract", &["contacts"], "contract")
        )
        .await,
        "blocked"
    );
    assert_eq!(audited(&v, "data.transfer", "done").await, 2);
    assert_eq!(audited(&v, "data.transfer", "denied").await, 7);

    let journal = v.transfers(&agent(), buyer).await.unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].recipient, "delivery_courier");
    assert_eq!(journal[0].reference.as_deref(), Some("заказ 42"));

    // The buyer's access answer names the transfer that took place.
    let request = v
        .receive_request(
            &Actor::new("user:dpo"),
            NewRequest {
                kind: "access".into(),
                channel: "post".into(),
                received_at: None,
                subject: Some(buyer),
                requester: Requester {
                    name: "Петров Иван".into(),
                    contact: None,
                    representative: None,
                },
                identity: IdentityCheck::default(),
                text: "Прошу сообщить, кому передавались мои данные".into(),
                purposes: vec![],
                categories: vec![],
            },
        )
        .await
        .unwrap();
    let answer = v
        .access_answer(&Actor::new("user:dpo"), request.number.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(answer.transfers.len(), 1, "{:?}", answer.transfers);
    assert!(answer.transfers[0].recipient.contains("Курьер"));
    assert!(answer.to_html().contains("Состоявшиеся передачи"));
}

#[tokio::test]
async fn konekt_installers_connect_a_subscriber_and_collect_equipment() {
    let v = vault("konekt.toml", "").await;
    let subscriber = subject(&v, "subscriber", "договор 7").await;
    record(
        &v,
        subscriber,
        "identity",
        "contract",
        None,
        &[("last_name", "Иванов")],
    )
    .await;
    record(
        &v,
        subscriber,
        "contacts",
        "contract",
        None,
        &[("phone", "+7 900 000-00-03")],
    )
    .await;
    record(
        &v,
        subscriber,
        "connection_address",
        "contract",
        None,
        &[
            ("service_address", "г. Тверь, ул. Тестовая, д. 2"),
            ("equipment", "роутер"),
        ],
    )
    .await;
    for purpose in ["service_provision", "contract"] {
        let made = v
            .transfer(
                &agent(),
                subscriber,
                ask(
                    "installers",
                    purpose,
                    &["identity", "contacts", "connection_address"],
                    "contract",
                ),
            )
            .await
            .unwrap();
        assert_eq!(made.records.len(), 3);
    }
    // Billing is not the installers' to see.
    assert_eq!(
        refused(
            &v,
            subscriber,
            ask("installers", "contract", &["billing"], "contract")
        )
        .await,
        "category_not_registered"
    );
    assert_eq!(v.transfers(&agent(), subscriber).await.unwrap().len(), 2);
}

fn partner_consent(recipients: &[&str]) -> NewConsent {
    NewConsent {
        purposes: vec!["partner_offers".into()],
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        channel: "site".into(),
        evidence: Evidence {
            ip: Some("203.0.113.7".into()),
            user_agent: Some("test".into()),
            form_id: Some("partners-form".into()),
            ..Default::default()
        },
        document: ConsentDocument {
            id: "consent-partners".into(),
            version: "1.0".into(),
            sha256: "a".repeat(64),
        },
        valid_until: None,
        representative: None,
    }
}

#[tokio::test]
async fn withdrawing_a_consent_for_one_partner_stops_it_leaves_the_other_and_notifies_it() {
    let v = vault("lider.toml", SECOND_PARTNER).await;
    let buyer = subject(&v, "buyer", "заказ 43").await;
    record(
        &v,
        buyer,
        "identity",
        "contract",
        None,
        &[("last_name", "Кузнецова")],
    )
    .await;
    let to = |who: &str| {
        ask(
            who,
            "partner_offers",
            &["identity"],
            "consent_partner_transfer",
        )
    };
    // No consent naming the partner: refused.
    assert_eq!(
        refused(&v, buyer, to("insurance_partner")).await,
        "no_consent"
    );
    let consent = v
        .record_consent(
            &agent(),
            buyer,
            partner_consent(&["insurance_partner", "second_insurer"]),
        )
        .await
        .unwrap();
    for who in ["insurance_partner", "second_insurer"] {
        v.transfer(&agent(), buyer, to(who)).await.unwrap();
    }
    let out = v
        .withdraw_consent_for_recipients(
            &agent(),
            buyer,
            consent.id,
            RecipientWithdrawal {
                channel: "site".into(),
                recipients: vec!["insurance_partner".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(out.notified, ["insurance_partner"]);
    assert_eq!(
        refused(&v, buyer, to("insurance_partner")).await,
        "no_consent_for_recipient"
    );
    v.transfer(&agent(), buyer, to("second_insurer"))
        .await
        .unwrap();
    let queued = v.outbox(&Actor::new("user:dpo"), None).await.unwrap();
    let notice: Vec<_> = queued
        .iter()
        .filter(|m| m.kind == "recipient_withdrawal_notice")
        .collect();
    assert_eq!(notice.len(), 1);
    assert!(notice[0].body.contains("отозвал согласие") && notice[0].body.contains("ст. 21 ч. 5"));

    // A recipient the consent does not name cannot be withdrawn for; twice is a conflict.
    let again = |r: &str| RecipientWithdrawal {
        channel: "site".into(),
        recipients: vec![r.into()],
    };
    assert!(matches!(
        v.withdraw_consent_for_recipients(&agent(), buyer, consent.id, again("fiscal_data_operator")).await,
        Err(ServiceError::Invalid(p)) if p[0].code == "recipient_not_in_consent"
    ));
    assert!(matches!(
        v.withdraw_consent_for_recipients(&agent(), buyer, consent.id, again("insurance_partner"))
            .await,
        Err(ServiceError::Conflict {
            code: "already_withdrawn",
            ..
        })
    ));

    // Withdrawing the whole consent stops the other partner too and notifies it.
    let whole = v
        .withdraw_consent(
            &agent(),
            buyer,
            consent.id,
            Withdraw {
                channel: "site".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(whole.notified_recipients, ["second_insurer"]);
    assert_eq!(refused(&v, buyer, to("second_insurer")).await, "no_consent");
}

#[tokio::test]
async fn both_shipped_policies_refuse_every_foreign_recipient_and_register_what_is_ready() {
    for file in ["lider.toml", "konekt.toml"] {
        let v = vault(file, "").await;
        let register = v.register();
        assert!(!register.is_empty());
        for entry in &register {
            assert_eq!(entry.country, "RU", "{file}: {} is abroad", entry.id);
            if entry.role == "processor" {
                assert!(entry.contract_missing.is_empty(), "{file}: {entry:?}");
            }
        }
    }
    // A policy with a party abroad and no cross-border permission cannot even be loaded.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/lider.toml");
    let source = std::fs::read_to_string(path).unwrap()
        + &SECOND_PARTNER
            .replace("second_insurer", "foreign")
            .replace("country = \"RU\"", "country = \"DE\"");
    let err = Policy::from_toml("lider.toml", &source)
        .unwrap_err()
        .to_string();
    assert!(err.contains("ст. 12"), "{err}");
}

#[tokio::test]
async fn data_from_a_third_party_without_an_exemption_queue_the_subjects_notice_first() {
    let v = vault("lider.toml", "").await;
    let claimant = subject(&v, "claimant", "—").await;
    // A representative gives the claimant's name: no address to tell the claimant, so refused.
    let err = v
        .add_record(
            &agent(),
            claimant,
            NewRecord {
                category: "identity".into(),
                purpose: "rights_claims".into(),
                fields: fields(&[("last_name", "Орлова")]),
                source: Some("third_party".into()),
                scope: None,
                notice_to: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Invalid(p) if p[0].code == "notice_address_required" && p[0].field == "notice_to"),
        "{err:?}"
    );
    // With the claimant's e-mail among the fields, the notice goes there, in the same commit.
    let created = record(
        &v,
        claimant,
        "contacts",
        "rights_claims",
        Some("third_party"),
        &[("email", "orlova@example.ru")],
    )
    .await;
    assert_eq!(created.source_notice.as_deref(), Some("queued"));
    let queued = v.outbox(&Actor::new("user:dpo"), None).await.unwrap();
    let notice: Vec<_> = queued
        .iter()
        .filter(|m| m.kind == "source_notice")
        .collect();
    assert_eq!(notice.len(), 1);
    assert_eq!(notice[0].address, "orlova@example.ru");
    for part in [
        "ст. 18 ч. 3",
        "Цель обработки",
        "Правовое основание",
        "Источник данных",
        "Ваши права",
        "ИНН",
    ] {
        assert!(notice[0].body.contains(part), "{part}: {}", notice[0].body);
    }
    // Or to an address given with the record.
    let created = v
        .add_record(
            &agent(),
            claimant,
            NewRecord {
                category: "identity".into(),
                purpose: "rights_claims".into(),
                fields: fields(&[("last_name", "Орлова")]),
                source: Some("third_party".into()),
                scope: None,
                notice_to: Some("г. Тверь, ул. Тестовая, д. 3".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(created.source_notice.as_deref(), Some("queued"));
}
