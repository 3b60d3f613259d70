use jiff::civil::date;
use proptest::prelude::*;

use super::*;
use crate::deadline::Term;

fn shipped(name: &str) -> Policy {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(name);
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match Policy::from_toml(name, &src) {
        Ok(loaded) => loaded.policy,
        Err(e) => panic!("{e}"),
    }
}

fn lider() -> Policy {
    shipped("lider.toml")
}

fn konekt() -> Policy {
    shipped("konekt.toml")
}

fn id(n: u128) -> RecordId {
    RecordId(uuid::Uuid::from_u128(n))
}

fn record(n: u128, category: &str, created: Date) -> RecordFacts {
    RecordFacts {
        id: id(n),
        category: category.to_string(),
        created,
        scope: None,
    }
}

fn scoped(n: u128, category: &str, created: Date, scope: &str) -> RecordFacts {
    RecordFacts {
        scope: Some(scope.to_string()),
        ..record(n, category, created)
    }
}

fn history(kind: &str, records: Vec<RecordFacts>) -> SubjectHistory {
    SubjectHistory {
        kind: kind.to_string(),
        records,
        ..SubjectHistory::default()
    }
}

fn consent(purposes: &[&str], withdrawn: Option<Date>) -> ConsentFact {
    ConsentFact {
        purposes: purposes.iter().map(|p| p.to_string()).collect(),
        withdrawn,
        valid_until: None,
    }
}

fn demand(received: Date, due: Date) -> DestructionDemand {
    DestructionDemand {
        received,
        due,
        accepted: None,
        categories: Vec::new(),
        request: None,
    }
}

fn planned(policy: &Policy, subject: &SubjectHistory) -> Plan {
    plan(policy, subject).unwrap_or_else(|e| panic!("{e}"))
}

fn item(plan: &Plan, n: u128) -> &PlanItem {
    plan.items
        .iter()
        .find(|i| i.record == id(n))
        .unwrap_or_else(|| panic!("no item for record {n}"))
}

fn rule(item: &PlanItem) -> &str {
    item.ground.rule_id().unwrap_or("—")
}

// ЛИДЕР -------------------------------------------------------------------------------------------

#[test]
fn lider_registered_user_is_kept_while_the_account_exists_then_destroyed() {
    let policy = lider();
    let created = date(2025, 1, 10);
    let mut user = history(
        "user",
        vec![
            record(1, "identity", created),
            record(2, "account", created),
            record(3, "loyalty", created),
            record(4, "review", created),
        ],
    );
    let before = planned(&policy, &user);
    for i in &before.items {
        assert_eq!(i.expires, None, "{i:?}");
        assert_eq!(rule(i), "registered_user_account");
        assert!(
            i.reason.contains("пока существует учётная запись"),
            "{}",
            i.reason
        );
        assert!(!i.statutory);
    }
    assert!(due(&before, date(2099, 1, 1)).is_empty());

    user.events.push(AnchorFact::happened(
        AnchorEvent::AccountDeleted,
        date(2026, 3, 1),
    ));
    let after = planned(&policy, &user);
    for i in &after.items {
        assert_eq!(i.expires, Some(date(2026, 3, 1)), "{i:?}");
        // ст. 21 ч. 4: 30 calendar days to destroy once the purpose is achieved.
        assert_eq!(i.deadline, Some(date(2026, 3, 31)), "{i:?}");
        assert_eq!(i.action, RetentionAction::Destroy);
        assert!(i.reason.contains("ст. 21 ч. 4"), "{}", i.reason);
    }
    assert!(due(&after, date(2026, 2, 28)).is_empty());
    assert_eq!(due(&after, date(2026, 3, 1)).len(), 4);
    assert!(!after.items[0].overdue(date(2026, 3, 31)));
    assert!(after.items[0].overdue(date(2026, 4, 1)));
}

#[test]
fn lider_loyalty_goes_when_its_consent_is_withdrawn_though_the_account_stays() {
    let policy = lider();
    let created = date(2025, 1, 10);
    let mut user = history(
        "user",
        vec![
            record(1, "loyalty", created),
            record(2, "identity", created),
        ],
    );
    user.consents
        .push(consent(&["loyalty"], Some(date(2025, 6, 1))));
    let plan = planned(&policy, &user);
    let loyalty = item(&plan, 1);
    assert_eq!(rule(loyalty), "loyalty_consent_withdrawn");
    assert_eq!(loyalty.expires, Some(date(2025, 7, 1)));
    // The ст. 21 ч. 5 deadline counts from the withdrawal, not from the end of the rule's period.
    assert_eq!(loyalty.deadline, Some(date(2025, 7, 1)));
    assert!(loyalty.reason.contains("ст. 21 ч. 5"), "{}", loyalty.reason);
    // Identity is covered by the contract purpose too: the withdrawal does not end it.
    let identity = item(&plan, 2);
    assert_eq!(identity.expires, None);
    assert_eq!(rule(identity), "registered_user_account");
}

#[test]
fn lider_guest_keeps_order_data_three_years_after_the_order_is_fulfilled() {
    let policy = lider();
    let mut guest = history(
        "guest",
        vec![
            record(1, "identity", date(2025, 2, 1)),
            record(2, "contacts", date(2025, 2, 1)),
        ],
    );
    guest.events.push(
        AnchorFact::happened(AnchorEvent::OrderFulfilled, date(2025, 3, 10)).in_scope("order-1"),
    );
    let plan = planned(&policy, &guest);
    for i in &plan.items {
        assert_eq!(rule(i), "guest_after_order");
        assert_eq!(i.expires, Some(date(2028, 3, 10)));
        assert_eq!(i.deadline, Some(date(2028, 4, 9)));
        assert!(
            i.reason.contains("3 года с исполнения заказа (2025-03-10)"),
            "{}",
            i.reason
        );
    }

    // A second order still open keeps the data the two orders share.
    guest
        .events
        .push(AnchorFact::awaited(AnchorEvent::OrderFulfilled).in_scope("order-2"));
    let plan = planned(&policy, &guest);
    for i in &plan.items {
        assert_eq!(i.expires, None);
        assert!(i.reason.contains("пока заказ не исполнен"), "{}", i.reason);
    }
    // Once it is fulfilled too, the later fulfilment counts.
    guest.events.pop();
    guest.events.push(
        AnchorFact::happened(AnchorEvent::OrderFulfilled, date(2025, 9, 1)).in_scope("order-2"),
    );
    let plan = planned(&policy, &guest);
    assert_eq!(item(&plan, 1).expires, Some(date(2028, 9, 1)));
}

#[test]
fn lider_order_scoped_data_follow_their_own_order() {
    let policy = lider();
    let mut buyer = history(
        "buyer",
        vec![
            scoped(1, "goods_return", date(2025, 2, 1), "order-1"),
            scoped(2, "goods_return", date(2025, 8, 1), "order-2"),
        ],
    );
    buyer.events.push(
        AnchorFact::happened(AnchorEvent::OrderFulfilled, date(2025, 3, 10)).in_scope("order-1"),
    );
    buyer
        .events
        .push(AnchorFact::awaited(AnchorEvent::OrderFulfilled).in_scope("order-2"));
    let plan = planned(&policy, &buyer);
    assert_eq!(item(&plan, 1).expires, Some(date(2028, 3, 10)));
    assert_eq!(item(&plan, 2).expires, None);
}

#[test]
fn lider_claimant_is_kept_while_the_claim_is_handled_and_three_years_after() {
    let policy = lider();
    let mut claimant = history(
        "claimant",
        vec![
            record(1, "identity", date(2025, 4, 1)),
            scoped(2, "claim", date(2025, 4, 1), "claim-7"),
        ],
    );
    claimant
        .events
        .push(AnchorFact::awaited(AnchorEvent::ClaimClosed).in_scope("claim-7"));
    let open = planned(&policy, &claimant);
    for i in &open.items {
        assert_eq!(rule(i), "claimant_after_claim");
        assert_eq!(i.expires, None);
        assert!(
            i.reason.contains("пока обращение рассматривается"),
            "{}",
            i.reason
        );
    }
    claimant.events[0].on = Some(date(2025, 6, 1));
    let closed = planned(&policy, &claimant);
    for i in &closed.items {
        assert_eq!(i.expires, Some(date(2028, 6, 1)));
        assert_eq!(i.action, RetentionAction::Destroy);
    }
}

#[test]
fn lider_accounting_data_survive_a_withdrawal_and_a_demand_the_rest_goes() {
    let policy = lider();
    let mut buyer = history(
        "buyer",
        vec![
            scoped(1, "order", date(2025, 3, 1), "order-1"),
            scoped(2, "payment", date(2025, 3, 1), "order-1"),
            record(3, "identity", date(2025, 3, 1)),
            record(4, "marketing_profile", date(2025, 3, 1)),
        ],
    );
    buyer.events.push(
        AnchorFact::happened(AnchorEvent::OrderFulfilled, date(2025, 4, 1)).in_scope("order-1"),
    );
    buyer
        .consents
        .push(consent(&["marketing"], Some(date(2025, 5, 1))));

    // The withdrawal ends marketing data only: the rest rests on the contract and the law.
    let withdrawn = planned(&policy, &buyer);
    let marketing = item(&withdrawn, 4);
    assert_eq!(rule(marketing), "marketing_consent_withdrawn");
    assert_eq!(marketing.expires, Some(date(2025, 5, 31)));
    assert_eq!(marketing.deadline, Some(date(2025, 5, 31)));
    assert_eq!(item(&withdrawn, 3).expires, Some(date(2028, 4, 1)));
    for n in [1, 2] {
        let i = item(&withdrawn, n);
        assert_eq!(rule(i), "accounting_documents");
        assert!(i.statutory);
        assert_eq!(i.expires, Some(date(2031, 4, 1)));
        // The ordinary three years end earlier and are held back.
        assert!(i.reason.contains("buyer_after_order"), "{}", i.reason);
        assert!(i.reason.contains("402-ФЗ"), "{}", i.reason);
    }

    // A demand to destroy: everything non-statutory goes by the journal's date.
    buyer
        .demands
        .push(demand(date(2025, 5, 2), date(2025, 5, 14)));
    let demanded = planned(&policy, &buyer);
    for n in [3, 4] {
        let i = item(&demanded, n);
        assert_eq!(
            i.ground,
            Ground::DestructionDemand {
                received: date(2025, 5, 2),
                request: None,
            }
        );
        assert_eq!(i.expires, Some(date(2025, 5, 14)));
        assert_eq!(i.deadline, Some(date(2025, 5, 14)));
        assert_eq!(i.action, RetentionAction::Destroy);
        assert!(!i.statutory);
    }
    for n in [1, 2] {
        let i = item(&demanded, n);
        assert!(i.statutory);
        assert_eq!(i.expires, Some(date(2031, 4, 1)));
        assert!(
            i.reason.contains("требованию об уничтожении от 2025-05-02"),
            "{}",
            i.reason
        );
    }
    let on_due = due(&demanded, date(2025, 5, 14));
    assert_eq!(on_due.len(), 2);
    assert!(on_due.iter().all(|i| !i.statutory));
}

#[test]
fn an_accepted_demand_is_due_on_the_day_it_was_accepted_and_names_its_request() {
    let policy = lider();
    let mut user = history("user", vec![record(1, "identity", date(2025, 3, 1))]);
    user.demands.push(DestructionDemand {
        accepted: Some(date(2025, 5, 6)),
        request: Some("2025-000007".into()),
        ..demand(date(2025, 5, 2), date(2025, 5, 14))
    });
    let p = planned(&policy, &user);
    let i = item(&p, 1);
    assert_eq!(i.expires, Some(date(2025, 5, 6)));
    // The legal deadline is still the journal's, not the acceptance.
    assert_eq!(i.deadline, Some(date(2025, 5, 14)));
    assert_eq!(
        i.ground,
        Ground::DestructionDemand {
            received: date(2025, 5, 2),
            request: Some("2025-000007".into()),
        }
    );
    assert!(i.reason.contains("№ 2025-000007"), "{}", i.reason);
    assert!(i.reason.contains("принято 2025-05-06"), "{}", i.reason);
    assert!(!i.is_due(date(2025, 5, 5)) && i.is_due(date(2025, 5, 6)));

    // Accepted after the due date changes nothing: the due date already binds.
    user.demands[0].accepted = Some(date(2025, 6, 1));
    let late = planned(&policy, &user);
    assert_eq!(item(&late, 1).expires, Some(date(2025, 5, 14)));
    assert!(!item(&late, 1).reason.contains("принято"));
}

#[test]
fn lider_marketing_data_stay_while_another_consent_covers_them() {
    let policy = lider();
    let mut buyer = history(
        "buyer",
        vec![record(1, "marketing_profile", date(2025, 1, 1))],
    );
    buyer
        .consents
        .push(consent(&["marketing"], Some(date(2025, 2, 1))));
    buyer.consents.push(consent(&["partner_offers"], None));
    let plan = planned(&policy, &buyer);
    assert_eq!(item(&plan, 1).expires, None);
    assert!(item(&plan, 1).reason.contains("пока действует согласие"));

    // When the second one is withdrawn as well, the later withdrawal counts.
    buyer.consents[1].withdrawn = Some(date(2025, 3, 1));
    let plan = planned(&policy, &buyer);
    let i = item(&plan, 1);
    assert_eq!(i.expires, Some(date(2025, 3, 31)));
    // A consent that ran out counts as withdrawn on its last day.
    buyer.consents[1] = ConsentFact {
        purposes: vec!["partner_offers".into()],
        withdrawn: None,
        valid_until: Some(date(2025, 2, 15)),
    };
    let plan = planned(&policy, &buyer);
    assert_eq!(item(&plan, 1).expires, Some(date(2025, 3, 17)));
}

#[test]
fn lider_consent_only_data_go_thirty_days_after_withdrawal_even_without_such_a_rule() {
    // Geolocation rests on consent alone and its rule is anchored on the purpose being achieved:
    // ст. 21 ч. 5 ends it anyway.
    let policy = lider();
    let mut user = history("user", vec![record(1, "geolocation", date(2025, 1, 1))]);
    user.consents
        .push(consent(&["pickup_by_location"], Some(date(2025, 1, 20))));
    let plan = planned(&policy, &user);
    let i = item(&plan, 1);
    assert_eq!(
        i.ground,
        Ground::ConsentWithdrawn {
            purposes: vec!["pickup_by_location".into()],
            on: date(2025, 1, 20)
        }
    );
    assert_eq!(i.expires, Some(date(2025, 2, 19)));
    assert_eq!(i.action, RetentionAction::Destroy);
    assert!(i.reason.contains("30 календарных дней"), "{}", i.reason);
}

#[test]
fn lider_purpose_achieved_applies_to_the_purpose_it_names() {
    let policy = lider();
    let mut user = history(
        "user",
        vec![
            record(1, "geolocation", date(2025, 1, 1)),
            scoped(2, "enquiry", date(2025, 1, 1), "enquiry-3"),
        ],
    );
    user.events.push(
        AnchorFact::happened(AnchorEvent::PurposeAchieved, date(2025, 1, 2))
            .about("pickup_by_location"),
    );
    let plan = planned(&policy, &user);
    assert_eq!(rule(item(&plan, 1)), "geolocation");
    assert_eq!(item(&plan, 1).expires, Some(date(2025, 1, 2)));
    assert_eq!(item(&plan, 2).expires, None);

    user.events.push(
        AnchorFact::happened(AnchorEvent::PurposeAchieved, date(2025, 2, 1))
            .about("enquiries")
            .in_scope("enquiry-3"),
    );
    let plan = planned(&policy, &user);
    let enquiry = item(&plan, 2);
    assert_eq!(rule(enquiry), "enquiries_after_answer");
    assert_eq!(enquiry.expires, Some(date(2026, 2, 1)));
    assert_eq!(enquiry.action, RetentionAction::Depersonalise);
}

#[test]
fn lider_collected_rules_count_from_the_record() {
    let policy = lider();
    let guest = history(
        "guest",
        vec![
            record(1, "cookie", date(2025, 1, 31)),
            record(2, "device", date(2025, 8, 31)),
        ],
    );
    let plan = planned(&policy, &guest);
    assert_eq!(item(&plan, 1).expires, Some(date(2026, 1, 31)));
    // Six months from 31 August end on the last day of February.
    assert_eq!(item(&plan, 2).expires, Some(date(2026, 2, 28)));
}

#[test]
fn a_blocked_record_waits_for_the_check_at_most_six_months() {
    let policy = lider();
    let mut guest = history("guest", vec![record(1, "identity", date(2021, 12, 1))]);
    guest.events.push(AnchorFact::happened(
        AnchorEvent::OrderFulfilled,
        date(2022, 1, 10),
    ));
    guest.blocks.push(BlockFact {
        category: None,
        since: date(2024, 12, 1),
    });
    let plan = planned(&policy, &guest);
    let i = item(&plan, 1);
    assert_eq!(i.expires, Some(date(2025, 1, 10)));
    assert_eq!(i.blocked_since, Some(date(2024, 12, 1)));
    // ст. 21 ч. 6: not more than six months instead of 30 days.
    assert_eq!(i.deadline, Some(date(2025, 7, 10)));
    assert!(i.reason.contains("ст. 21 ч. 6"), "{}", i.reason);
    assert!(i.held(date(2025, 3, 1)));
    assert_eq!(due(&plan, date(2025, 3, 1)).len(), 1);
    assert!(actionable(&plan, date(2025, 3, 1)).is_empty());
    // On the last day the hold ends even if the block stays.
    assert!(!i.held(date(2025, 7, 10)));
    assert_eq!(actionable(&plan, date(2025, 7, 10)).len(), 1);

    // A block on another category does not touch it.
    guest.blocks[0].category = Some("contacts".into());
    let plan = planned(&policy, &guest);
    assert_eq!(item(&plan, 1).blocked_since, None);
    assert_eq!(item(&plan, 1).deadline, Some(date(2025, 2, 9)));
}

#[test]
fn a_record_no_rule_covers_is_reviewed_at_once() {
    let policy = lider();
    let mut recipient = history(
        "recipient",
        vec![
            record(1, "identity", date(2025, 1, 1)),
            record(2, "horoscope", date(2025, 1, 1)),
        ],
    );
    let plan = planned(&policy, &recipient);
    for i in &plan.items {
        assert_eq!(i.ground, Ground::NoRule);
        assert_eq!(i.action, RetentionAction::Review);
        assert_eq!(i.expires, Some(date(2025, 1, 1)));
        assert!(i.reason.contains("ст. 5 ч. 7"), "{}", i.reason);
    }
    assert!(item(&plan, 1).reason.contains("нет правила хранения"));
    assert!(item(&plan, 2).reason.contains("не объявлена в политике"));
    // A demand still destroys such data.
    recipient
        .demands
        .push(demand(date(2025, 2, 1), date(2025, 2, 12)));
    let plan = planned(&policy, &recipient);
    assert!(
        plan.items
            .iter()
            .all(|i| i.action == RetentionAction::Destroy && i.expires == Some(date(2025, 2, 12)))
    );
}

#[test]
fn a_demand_for_some_categories_leaves_the_others() {
    let policy = lider();
    let mut guest = history(
        "guest",
        vec![
            record(1, "contacts", date(2025, 1, 1)),
            record(2, "identity", date(2025, 1, 1)),
        ],
    );
    guest.demands.push(DestructionDemand {
        categories: vec!["contacts".into()],
        ..demand(date(2025, 2, 1), date(2025, 2, 12))
    });
    let plan = planned(&policy, &guest);
    assert_eq!(item(&plan, 1).expires, Some(date(2025, 2, 12)));
    assert_eq!(item(&plan, 2).expires, None);
}

#[test]
fn facts_the_planner_derives_itself_or_cannot_place_are_refused() {
    let policy = lider();
    let mut user = history("user", vec![record(1, "identity", date(2025, 1, 1))]);
    user.events.push(AnchorFact::happened(
        AnchorEvent::Collected,
        date(2025, 1, 1),
    ));
    assert_eq!(
        plan(&policy, &user),
        Err(PlanError::DerivedEvent("collected"))
    );
    user.events[0] = AnchorFact::happened(AnchorEvent::ConsentWithdrawn, date(2025, 1, 1));
    assert!(matches!(
        plan(&policy, &user),
        Err(PlanError::DerivedEvent("consent_withdrawn"))
    ));
    user.events[0] =
        AnchorFact::happened(AnchorEvent::PurposeAchieved, date(2025, 1, 1)).about("astrology");
    assert_eq!(
        plan(&policy, &user),
        Err(PlanError::UnknownPurpose("astrology".into()))
    );
    user.events[0] = AnchorFact::happened(AnchorEvent::PurposeAchieved, date(2025, 1, 1));
    assert_eq!(plan(&policy, &user), Err(PlanError::PurposeNotNamed));
}

// КОНЕКТ ------------------------------------------------------------------------------------------

fn subscriber() -> SubjectHistory {
    let joined = date(2019, 1, 15);
    let mut s = history(
        "subscriber",
        vec![
            record(1, "identity", joined),
            record(2, "passport", joined),
            record(3, "billing", joined),
            record(4, "payment", joined),
            record(5, "contacts", joined),
            record(6, "traffic_metadata", date(2025, 1, 10)),
            record(7, "communication_content", date(2025, 1, 10)),
            record(8, "marketing_profile", joined),
        ],
    );
    s.events
        .push(AnchorFact::awaited(AnchorEvent::ContractTerminated));
    s.events.push(AnchorFact::happened(
        AnchorEvent::CommunicationEnded,
        date(2025, 1, 10),
    ));
    s
}

#[test]
fn konekt_126_fz_data_are_kept_for_the_statutory_period() {
    let policy = konekt();
    let s = subscriber();
    let plan = planned(&policy, &s);
    for n in [1, 2, 3] {
        let i = item(&plan, n);
        assert_eq!(rule(i), "subscriber_register_statutory");
        assert!(i.statutory);
        assert_eq!(i.expires, None);
        assert!(i.reason.contains("пока действует договор"), "{}", i.reason);
    }
    // Accounting's six years from the payment are over, but the contract still needs it.
    let payment = item(&plan, 4);
    assert_eq!(rule(payment), "subscriber_after_contract");
    assert_eq!(payment.expires, None);
    assert!(
        payment.reason.contains("accounting_documents"),
        "{}",
        payment.reason
    );
    let traffic = item(&plan, 6);
    assert_eq!(rule(traffic), "traffic_metadata_statutory");
    assert!(traffic.statutory);
    assert_eq!(traffic.expires, Some(date(2028, 1, 10)));
    assert!(traffic.reason.contains("126-ФЗ"), "{}", traffic.reason);
    let content = item(&plan, 7);
    assert_eq!(content.expires, Some(date(2025, 7, 10)));
    assert!(content.statutory);
}

#[test]
fn konekt_statutory_data_survive_withdrawal_and_demand_the_rest_goes() {
    let policy = konekt();
    let mut s = subscriber();
    s.consents
        .push(consent(&["marketing"], Some(date(2025, 2, 1))));
    s.demands.push(demand(date(2025, 2, 3), date(2025, 2, 12)));
    let plan = planned(&policy, &s);
    for n in [1, 2, 3] {
        let i = item(&plan, n);
        assert!(i.statutory, "{i:?}");
        assert_eq!(i.expires, None);
        assert!(i.reason.contains("вопреки"), "{}", i.reason);
    }
    assert_eq!(item(&plan, 6).expires, Some(date(2028, 1, 10)));
    assert_eq!(item(&plan, 7).expires, Some(date(2025, 7, 10)));
    for n in [4, 5, 8] {
        let i = item(&plan, n);
        assert!(!i.statutory, "{i:?}");
        assert_eq!(i.expires, Some(date(2025, 2, 12)), "{i:?}");
        assert_eq!(i.action, RetentionAction::Destroy);
    }

    // After the contract ends the register runs three years; billing is held by the longer of
    // its two statutory rules.
    s.events[0].on = Some(date(2026, 1, 31));
    let plan = planned(&policy, &s);
    assert_eq!(item(&plan, 1).expires, Some(date(2029, 1, 31)));
    assert_eq!(rule(item(&plan, 3)), "subscriber_register_statutory");
    assert_eq!(item(&plan, 3).expires, Some(date(2029, 1, 31)));
}

#[test]
fn konekt_billing_collected_late_is_held_by_accounting() {
    let policy = konekt();
    let mut s = history("subscriber", vec![record(1, "billing", date(2025, 12, 1))]);
    s.events.push(AnchorFact::happened(
        AnchorEvent::ContractTerminated,
        date(2025, 12, 31),
    ));
    let plan = planned(&policy, &s);
    let i = item(&plan, 1);
    assert_eq!(rule(i), "accounting_documents");
    assert_eq!(i.expires, Some(date(2031, 12, 1)));
    assert!(i.statutory);
}

#[test]
fn konekt_a_demand_after_the_statutory_period_does_not_lengthen_it() {
    // The register's data have no purpose besides the law's: they are due when its period ends,
    // and a later demand changes nothing.
    let policy = konekt();
    let mut s = history("subscriber", vec![record(1, "passport", date(2019, 1, 15))]);
    s.events.push(AnchorFact::happened(
        AnchorEvent::ContractTerminated,
        date(2021, 6, 30),
    ));
    s.demands.push(demand(date(2025, 2, 3), date(2025, 2, 12)));
    let plan = planned(&policy, &s);
    let i = item(&plan, 1);
    assert_eq!(rule(i), "subscriber_register_statutory");
    assert_eq!(i.expires, Some(date(2024, 6, 30)));
    assert!(i.overdue(date(2025, 2, 3)));
}

// The legal table ---------------------------------------------------------------------------------

#[test]
fn the_planners_legal_terms_come_from_the_table_and_are_calendar_terms() {
    assert_eq!(RuleId::D8.rule().stages[0].term, Term::CalendarDays(30));
    assert_eq!(RuleId::D9.rule().stages[0].term, Term::CalendarDays(30));
    assert_eq!(RuleId::D11.rule().stages[0].term, Term::Months(6));
    for rule in [RuleId::D8, RuleId::D9, RuleId::D11] {
        let from = date(2025, 1, 1);
        assert!(term_end(rule, from) > from, "{rule}");
        assert!(term_end(rule, from) < Date::MAX, "{rule}");
    }
    assert!(RuleId::D8.rule().norm.contains("ст. 21 ч. 4"));
    assert!(RuleId::D9.rule().norm.contains("ст. 21 ч. 5"));
    assert!(RuleId::D11.rule().norm.contains("ст. 21 ч. 6"));
    assert!(RuleId::D3.rule().norm.contains("ст. 20 ч. 3"));
}

#[test]
fn every_kind_and_category_pair_of_the_shipped_policies_has_a_rule() {
    for policy in [lider(), konekt()] {
        for category in &policy.categories {
            for kind in &category.subjects {
                let s = history(kind, vec![record(1, &category.id, date(2025, 1, 1))]);
                let plan = planned(&policy, &s);
                assert_ne!(
                    plan.items[0].ground,
                    Ground::NoRule,
                    "{} × {}",
                    kind,
                    category.id
                );
            }
        }
    }
}

#[test]
fn a_plan_serialises_for_the_runner() {
    let policy = lider();
    let mut guest = history("guest", vec![record(1, "identity", date(2025, 1, 1))]);
    guest.events.push(AnchorFact::happened(
        AnchorEvent::OrderFulfilled,
        date(2025, 1, 5),
    ));
    let json = serde_json::to_value(planned(&policy, &guest)).unwrap();
    let i = &json["items"][0];
    assert_eq!(i["ground"]["kind"], "rule");
    assert_eq!(i["ground"]["id"], "guest_after_order");
    assert_eq!(i["ground"]["anchor"], "order_fulfilled");
    assert_eq!(i["expires"], "2028-01-05");
    assert_eq!(i["action"], "destroy");
}

// Properties --------------------------------------------------------------------------------------

/// Anchor events the caller supplies.
const FACT_EVENTS: [AnchorEvent; 6] = [
    AnchorEvent::AccountDeleted,
    AnchorEvent::OrderFulfilled,
    AnchorEvent::ClaimClosed,
    AnchorEvent::ContractTerminated,
    AnchorEvent::PurposeAchieved,
    AnchorEvent::CommunicationEnded,
];

fn day(offset: u16) -> Date {
    date(2020, 1, 1)
        .checked_add(jiff::Span::new().days(i64::from(offset)))
        .unwrap()
}

/// A random subject of one of the shipped policies, without scopes on facts (the unit tests
/// above cover those), so that a rule's end can be worked out independently below.
#[derive(Debug, Clone)]
struct Case {
    konekt: bool,
    history: SubjectHistory,
}

fn case() -> impl Strategy<Value = Case> {
    (any::<bool>(), 0usize..16).prop_flat_map(|(konekt, kind_pick)| {
        let policy = if konekt {
            KONEKT.clone()
        } else {
            LIDER.clone()
        };
        let kind = policy.subject_kinds[kind_pick % policy.subject_kinds.len()]
            .id
            .to_string();
        let categories: Vec<String> = policy.categories.iter().map(|c| c.id.to_string()).collect();
        let purposes: Vec<String> = policy.purposes.iter().map(|p| p.id.to_string()).collect();
        let consent_purposes: Vec<String> = policy
            .purposes
            .iter()
            .filter(|p| policy.basis_kind(p).is_consent())
            .map(|p| p.id.to_string())
            .collect();
        let records =
            prop::collection::vec((prop::sample::select(categories.clone()), 0u16..3000), 1..8);
        let events = prop::collection::vec(
            (
                prop::sample::select(FACT_EVENTS.to_vec()),
                prop::option::weighted(0.8, 0u16..3000),
                prop::sample::select(purposes),
            ),
            0..6,
        );
        let consents = prop::collection::vec(
            (
                prop::sample::subsequence(consent_purposes.clone(), 1..=consent_purposes.len()),
                prop::option::of(0u16..3000),
            ),
            0..3,
        );
        let demands = prop::collection::vec(
            (
                0u16..3000,
                0u16..20,
                prop::option::of(prop::sample::select(categories.clone())),
                prop::option::of(0u16..30),
            ),
            0..2,
        );
        let blocks = prop::collection::vec(
            (
                prop::option::of(prop::sample::select(categories)),
                0u16..3000,
            ),
            0..2,
        );
        (records, events, consents, demands, blocks).prop_map(
            move |(records, events, consents, demands, blocks)| Case {
                konekt,
                history: SubjectHistory {
                    kind: kind.clone(),
                    records: records
                        .into_iter()
                        .enumerate()
                        .map(|(n, (category, created))| record(n as u128, &category, day(created)))
                        .collect(),
                    events: events
                        .into_iter()
                        .map(|(event, on, purpose)| AnchorFact {
                            event,
                            on: on.map(day),
                            scope: None,
                            // Only "purpose achieved" must name its purpose.
                            purpose: (event == AnchorEvent::PurposeAchieved).then_some(purpose),
                        })
                        .collect(),
                    consents: consents
                        .into_iter()
                        .map(|(purposes, withdrawn)| ConsentFact {
                            purposes,
                            withdrawn: withdrawn.map(day),
                            valid_until: None,
                        })
                        .collect(),
                    demands: demands
                        .into_iter()
                        .map(|(received, wait, category, accepted)| DestructionDemand {
                            received: day(received),
                            due: day(received + wait),
                            accepted: accepted.map(|a| day(received + a)),
                            categories: category.into_iter().collect(),
                            request: None,
                        })
                        .collect(),
                    blocks: blocks
                        .into_iter()
                        .map(|(category, since)| BlockFact {
                            category,
                            since: day(since),
                        })
                        .collect(),
                },
            },
        )
    })
}

static LIDER: std::sync::LazyLock<Policy> = std::sync::LazyLock::new(lider);
static KONEKT: std::sync::LazyLock<Policy> = std::sync::LazyLock::new(konekt);

impl Case {
    fn policy(&self) -> &'static Policy {
        if self.konekt { &KONEKT } else { &LIDER }
    }

    fn rules_for(&self, r: &RecordFacts) -> Vec<&'static RetentionRule> {
        let kind = self.history.kind.as_str();
        self.policy()
            .retention
            .iter()
            .filter(|x| {
                x.subjects.iter().any(|s| *s == *kind)
                    && x.categories.iter().any(|c| *c == *r.category)
            })
            .collect()
    }

    /// A rule's end worked out from the facts directly; `None` while its event has not happened.
    /// Rules anchored on a withdrawal are left out (`Some(None)` is never returned for them).
    fn oracle_end(&self, rule: &RetentionRule, r: &RecordFacts) -> Option<Option<Date>> {
        let anchor = match rule.anchor {
            AnchorEvent::Collected => Some(r.created),
            AnchorEvent::ConsentWithdrawn => return None,
            event => {
                let facts: Vec<Option<Date>> = self
                    .history
                    .events
                    .iter()
                    .filter(|f| f.event == event)
                    .filter(|f| {
                        f.purpose.as_deref().is_none_or(|p| {
                            let p = self.policy().purpose(p).unwrap();
                            p.subjects.iter().any(|s| *s == *self.history.kind)
                                && p.categories.iter().any(|c| *c == *r.category)
                        })
                    })
                    .map(|f| f.on)
                    .collect();
                if facts.is_empty() || facts.iter().any(Option::is_none) {
                    None
                } else {
                    facts.into_iter().flatten().max()
                }
            }
        };
        Some(anchor.map(|a| rule.period.end_from(a).unwrap()))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Nothing is planned before its rules allow: never before a statutory rule's end, and never
    /// before the earliest of the ordinary rules, the withdrawals and the demands.
    #[test]
    fn nothing_is_planned_before_its_rules_allow(case in case()) {
        let plan = plan(case.policy(), &case.history).unwrap();
        prop_assert_eq!(plan.items.len(), case.history.records.len());
        for (r, i) in case.history.records.iter().zip(&plan.items) {
            prop_assert_eq!(i.record, r.id);
            let rules = case.rules_for(r);
            for rule in rules.iter().filter(|x| x.statutory) {
                if let Some(end) = case.oracle_end(rule, r) {
                    match (end, i.expires) {
                        (Some(end), Some(expires)) => prop_assert!(
                            end <= expires,
                            "{} ends {end} but the record expires {expires}", rule.id
                        ),
                        (None, Some(expires)) => prop_assert!(
                            false,
                            "{} has not started but the record expires {expires}", rule.id
                        ),
                        (_, None) => {}
                    }
                }
            }
            if rules.iter().any(|x| x.statutory) || rules.is_empty() {
                continue;
            }
            let Some(expires) = i.expires else { continue };
            let mut earliest: Vec<Date> = rules
                .iter()
                .filter_map(|x| case.oracle_end(x, r).flatten())
                .collect();
            earliest.extend(
                case.history
                    .demands
                    .iter()
                    .filter(|d| d.categories.is_empty() || d.categories.contains(&r.category))
                    .map(|d| d.accepted.map_or(d.due, |a| a.min(d.due))),
            );
            earliest.extend(case.history.consents.iter().filter_map(ConsentFact::ended));
            let bound = earliest.into_iter().min();
            prop_assert!(
                bound.is_some_and(|b| b <= expires),
                "{:?} expires {expires}, before anything allows ({bound:?})", i
            );
            if let Some(deadline) = i.deadline {
                prop_assert!(deadline >= expires);
            }
        }
    }

    /// The same facts give the same plan, whatever order they come in.
    #[test]
    fn plans_are_deterministic(case in case()) {
        let policy = case.policy();
        let first = plan(policy, &case.history).unwrap();
        prop_assert_eq!(&first, &plan(policy, &case.history).unwrap());
        let mut shuffled = case.history.clone();
        shuffled.records.reverse();
        shuffled.events.reverse();
        shuffled.consents.reverse();
        shuffled.demands.reverse();
        shuffled.blocks.reverse();
        let mut again = plan(policy, &shuffled).unwrap().items;
        again.reverse();
        prop_assert_eq!(first.items, again);
    }

    /// A withdrawal of every consent and a demand to destroy everything leave statutory data as
    /// they were and end all the rest by the demand's date.
    #[test]
    fn statutory_data_survive_a_withdrawal_non_statutory_data_do_not(
        case in case(),
        at in 0u16..3000,
        wait in 0u16..20,
    ) {
        let policy = case.policy();
        let mut calm = case.history.clone();
        calm.demands.clear();
        calm.blocks.clear();
        let before = plan(policy, &calm).unwrap();
        let mut gone = calm.clone();
        for c in &mut gone.consents {
            c.withdrawn = Some(c.withdrawn.map_or(day(at), |w| w.min(day(at))));
        }
        gone.consents.push(ConsentFact {
            purposes: policy
                .purposes
                .iter()
                .filter(|p| policy.basis_kind(p).is_consent())
                .map(|p| p.id.to_string())
                .collect(),
            withdrawn: Some(day(at)),
            valid_until: None,
        });
        gone.demands.push(demand(day(at), day(at + wait)));
        let after = plan(policy, &gone).unwrap();
        for (b, a) in before.items.iter().zip(&after.items) {
            if b.statutory {
                prop_assert!(a.statutory, "{:?} lost its statutory hold: {:?}", b, a);
                prop_assert_eq!(b.expires, a.expires);
                prop_assert_eq!(&b.ground, &a.ground);
            }
            if !a.statutory {
                prop_assert!(
                    a.expires.is_some_and(|e| e <= day(at + wait)),
                    "{:?} survives the demand", a
                );
            }
        }
    }
}

#[test]
fn a_pending_item_gives_the_reason_of_its_own_rule() {
    let policy = lider();
    let created = date(2026, 11, 21);
    let subject = history(
        "user",
        vec![
            record(1, "search_queries", created),
            record(2, "subject_request", created),
        ],
    );
    let p = planned(&policy, &subject);
    let it = item(&p, 2);
    assert_eq!(rule(it), "subject_requests", "{it:?}");
    assert!(
        it.reason.contains("subject_requests"),
        "the reason names the governing rule: {}",
        it.reason
    );
}
