//! The end-to-end check, for both shipped operators: demo data run through the
//! retention runner lose exactly what section 8 of the policy and 126-ФЗ say, on the right day,
//! with an act. The expectations below are written from the policy texts by hand, per subject
//! kind, not derived from the planner.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::civil::Date;
use pdv_core::Policy;
use pdv_crypto::MasterKey;
use pdv_service::{Actor, FixedClock, NewAnchor, ServiceError, Vault};
use pdv_store_sqlite::SqliteStore;

async fn vault(policy_file: &str) -> (Arc<Vault>, Arc<FixedClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("d.db").display()))
        .await
        .unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(policy_file);
    let policy = Policy::from_toml(policy_file, &std::fs::read_to_string(path).unwrap()).unwrap();
    let clock = Arc::new(FixedClock::new(
        "2026-11-20T10:00:00+03:00".parse().unwrap(),
    ));
    let vault = Vault::open(
        Arc::new(store),
        Arc::new(policy),
        &MasterKey::generate(),
        clock.clone(),
    )
    .await
    .unwrap();
    (Arc::new(vault), clock, dir)
}

/// Every subject's kind and the categories it holds, from the plan of the whole store.
async fn holdings(v: &Vault) -> BTreeMap<pdv_core::SubjectId, (String, BTreeSet<String>)> {
    v.retention_plan(v.today())
        .await
        .unwrap()
        .subjects
        .into_iter()
        .map(|s| {
            let cats = s.items.iter().map(|i| i.category.clone()).collect();
            (s.subject, (s.kind, cats))
        })
        .collect()
}

/// What a subject whose governing event happened more than four years ago keeps, per kind:
/// `None` when it must be gone whole. After an event a year ago, only the user (whose account
/// data end with the account) loses anything.
type Expected = &'static [(&'static str, Option<&'static [&'static str]>)];

/// ЛИДЕР, section 8. A registered user's account data (identity, details, contacts, addresses,
/// the account, loyalty, reviews) live while the account exists: P0D after its deletion. What
/// the site collects about the visit lives by its own rule from collection (cookies a year, logs
/// six months: collected today in the demo), and what waits for another event (an enquiry
/// answered, a request closed, a consent withdrawn) stays until it comes. A buyer's, guest's and
/// recipient's data go 3 years after the order, except the order and payment records that the
/// accounting law (402-ФЗ ст. 29) keeps 6 years; a claimant's 3 years after the claim.
/// Marks "keeps everything" in the table.
const ALL: &[&str] = &["*"];

const USER_KEEPS: &[&str] = &[
    "cookie",
    "device",
    "enquiry",
    "geolocation",
    "marketing_profile",
    "search_queries",
    "site_activity",
    "subject_request",
];
const LIDER: Expected = &[
    ("user", Some(USER_KEEPS)),
    ("guest", Some(USER_KEEPS)),
    (
        "buyer",
        Some(&[
            "order",
            "payment",
            "marketing_profile",
            "review",
            "claim",
            "enquiry",
            "subject_request",
        ]),
    ),
    // A recipient of goods: the contacts 3 years after the order; its requests to the operator
    // wait for their answer.
    ("recipient", Some(&["subject_request"])),
    ("claimant", None),
    ("representative", None),
];

/// КОНЕКТ, section 8 and 126-ФЗ. The user as at ЛИДЕР. A subscriber's register data
/// (126-ФЗ ст. 53) and the rest of its data go 3 years after the contract ends; billing and
/// payment records (402-ФЗ) count 6 years from collection (today in the demo); connection
/// records and message content (126-ФЗ ст. 64) count from the end of communication, a claim from
/// its closing, and consent-based data from a withdrawal, none of which the demo records.
const KONEKT: Expected = &[
    ("user", Some(USER_KEEPS)),
    // The connection request's guest: the request's data 3 years after it was carried out; the
    // visit's data by their own rules, as for a user.
    ("guest", Some(USER_KEEPS)),
    (
        "subscriber",
        Some(&[
            "billing",
            "payment",
            "claim",
            "communication_content",
            "traffic_metadata",
            "enquiry",
            "marketing_profile",
            "review",
            "subject_request",
        ]),
    ),
    // The service recipient's contacts go 3 years after the contract; its connection records
    // and message content wait for the end of communication (126-ФЗ ст. 64).
    (
        "service_recipient",
        Some(&[
            "communication_content",
            "traffic_metadata",
            "subject_request",
        ]),
    ),
    ("claimant", None),
    ("representative", None),
];

async fn check(policy_file: &str, expected: Expected) {
    let (v, clock, _dir) = vault(policy_file).await;
    let demo = v.load_demo(48).await.unwrap();
    assert!(demo.events > 0, "the demo records retention events");
    let before = holdings(&v).await;
    let actor = Actor::new("test");
    let mut events: BTreeMap<pdv_core::SubjectId, Date> = BTreeMap::new();
    for id in before.keys() {
        if let Some(a) = v.anchors(&actor, *id).await.unwrap().first() {
            events.insert(*id, a.occurred_on.parse().unwrap());
        }
    }
    let four_years_ago = v.today().checked_sub(jiff::Span::new().years(4)).unwrap();

    let report = v.retention_run("test", 16, &mut |_| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
    assert_eq!(report.acts.len(), 1, "one act for the run: {report:?}");
    let after = holdings(&v).await;

    let mut destroyed_whole = 0;
    let mut wrong = Vec::new();
    let mut seen_kinds = BTreeSet::new();
    for (id, (kind, cats)) in &before {
        let left = after.get(id).map(|(_, c)| c.clone());
        let keeps = match events.get(id) {
            None => {
                assert_eq!(
                    left.as_ref(),
                    Some(cats),
                    "{policy_file}: {kind} {id} had no event and must keep everything"
                );
                continue;
            }
            Some(on) if *on < four_years_ago => {
                expected
                    .iter()
                    .find(|(k, _)| k == kind)
                    .unwrap_or_else(|| panic!("{policy_file}: no expectation for kind {kind}"))
                    .1
            }
            Some(_) if kind == "user" => Some(USER_KEEPS),
            Some(_) => Some(ALL),
        };
        seen_kinds.insert(kind.clone());
        let want: Option<BTreeSet<String>> = keeps.map(|keep| {
            cats.iter()
                .filter(|c| keep == ALL || keep.contains(&c.as_str()))
                .cloned()
                .collect()
        });
        if left != want {
            wrong.push(format!(
                "{kind} {id}: held {cats:?}, keeps {left:?}, the policy says {want:?}"
            ));
        } else if left.is_none() {
            let err = v.subject_summary(&actor, *id).await.unwrap_err();
            assert!(matches!(err, ServiceError::Destroyed { .. }), "{err:?}");
            destroyed_whole += 1;
        }
    }
    assert!(
        wrong.is_empty(),
        "{policy_file}: the run destroyed other than the policy says:\n{}",
        wrong.join("\n")
    );
    assert!(report.records_destroyed > 0, "{policy_file}: {report:?}");
    assert_eq!(report.subjects_destroyed, destroyed_whole, "{policy_file}");
    // Every kind the demo generates had an event long ago, so every row of the table that
    // applies was checked.
    let kinds: BTreeSet<String> = before.values().map(|(k, _)| k.clone()).collect();
    assert_eq!(seen_kinds, kinds, "{policy_file}");
    // The act lists every destruction the run made.
    let act = v.act(&actor, &report.acts[0]).await.unwrap();
    let destroyed: usize = before
        .iter()
        .filter(|(id, (_, cats))| after.get(*id).map(|(_, c)| c) != Some(cats))
        .count();
    assert_eq!(act.entries.len(), destroyed, "{policy_file}");

    // On the right day: for a subject without an event, record the event of its kind's first
    // rule so that the period ends tomorrow. Today's run leaves the subject alone; tomorrow's
    // destroys what that rule covers.
    let policy = &v.policy().policy;
    let (fresh, kind, rule) = before
        .iter()
        .filter(|(id, _)| !events.contains_key(*id))
        .find_map(|(id, (kind, cats))| {
            policy
                .retention
                .iter()
                .find(|r| {
                    r.subjects.iter().any(|s| s.as_str() == kind)
                        && !r.statutory
                        && r.categories.iter().any(|c| cats.contains(c.as_str()))
                        && matches!(
                            r.anchor,
                            pdv_core::policy::AnchorEvent::OrderFulfilled
                                | pdv_core::policy::AnchorEvent::ContractTerminated
                                | pdv_core::policy::AnchorEvent::ClaimClosed
                        )
                })
                .map(|r| (*id, kind.clone(), r))
        })
        .unwrap_or_else(|| panic!("{policy_file}: a subject without an event"));
    let tomorrow: Date = "2026-11-21".parse().unwrap();
    let mut on = v.today();
    while rule.period.end_from(on) != Some(tomorrow) {
        on = on.yesterday().unwrap();
        assert!(
            on.year() > 2000,
            "{policy_file}: no anchor ends {} tomorrow",
            rule.id
        );
    }
    let event = serde_json::to_value(rule.anchor).unwrap();
    v.record_anchor(
        &actor,
        fresh,
        NewAnchor {
            event: event.as_str().unwrap().into(),
            scope: None,
            purpose: None,
            occurred_on: Some(on.to_string()),
        },
    )
    .await
    .unwrap();
    let held_before = holdings(&v).await[&fresh].1.clone();
    let today = v.retention_run("test", 16, &mut |_| {}).await.unwrap();
    assert_eq!(
        today.records_destroyed, 0,
        "{policy_file}: {kind} {today:?}"
    );
    clock.set("2026-11-21T10:00:00+03:00".parse().unwrap());
    let next = v.retention_run("test", 16, &mut |_| {}).await.unwrap();
    assert!(next.records_destroyed > 0, "{policy_file}: {kind} {next:?}");
    let left = holdings(&v)
        .await
        .get(&fresh)
        .map(|(_, c)| c.clone())
        .unwrap_or_default();
    for c in &held_before {
        let covered = rule.categories.iter().any(|x| x.as_str() == c);
        assert_eq!(
            !left.contains(c),
            covered,
            "{policy_file}: {kind}: {c} under rule {} ({held_before:?} → {left:?})",
            rule.id
        );
    }
}

#[tokio::test]
async fn lider_demo_loses_what_section_8_says_on_the_right_day() {
    check("lider.toml", LIDER).await;
}

#[tokio::test]
async fn konekt_demo_loses_what_section_8_and_126_fz_say_on_the_right_day() {
    check("konekt.toml", KONEKT).await;
}

/// A small deterministic generator (an LCG), so the property below needs no new dependency and
/// replays the same history on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// Runs every 200 days over seven years on demo data with random events: after each run on day
/// D nothing whose action was due by D (and neither held by a block nor left for review) is
/// still there, and everything that went was due. With the runner scheduled every interval, no
/// record outlives its rule by more than one interval, and none goes early.
async fn runs_destroy_exactly_what_is_due(policy_file: &str, seed: u64) {
    let (v, clock, _dir) = vault(policy_file).await;
    v.load_demo(36).await.unwrap();
    let actor = Actor::new("test");
    let mut rng = Lcg(seed);
    let events = [
        "order_fulfilled",
        "claim_closed",
        "account_deleted",
        "contract_terminated",
        "communication_ended",
    ];
    let subjects: Vec<_> = holdings(&v).await.into_keys().collect();
    for id in &subjects {
        for event in events {
            if rng.next(3) != 0 {
                continue;
            }
            let on = v
                .today()
                .checked_sub(jiff::Span::new().days(rng.next(5 * 365) as i64))
                .unwrap();
            v.record_anchor(
                &actor,
                *id,
                NewAnchor {
                    event: event.into(),
                    scope: None,
                    purpose: None,
                    occurred_on: Some(on.to_string()),
                },
            )
            .await
            .unwrap();
        }
    }
    let start: jiff::Timestamp = "2026-11-20T10:00:00+03:00".parse().unwrap();
    let mut destroyed_total = 0;
    for step in 0..13 {
        clock.set(start + jiff::SignedDuration::from_hours(24 * 200 * step));
        let at = v.today();
        let before = v.retention_plan(at).await.unwrap();
        let mut all = BTreeSet::new();
        let mut due = BTreeSet::new();
        for s in &before.subjects {
            assert!(s.problem.is_none(), "{policy_file}: {:?}", s.problem);
            for i in &s.items {
                all.insert(i.record);
                if i.is_due(at)
                    && !i.held(at)
                    && i.action != pdv_core::policy::RetentionAction::Review
                {
                    due.insert(i.record);
                }
            }
        }
        let report = v.retention_run("test", 7, &mut |_| {}).await.unwrap();
        assert!(report.problems.is_empty(), "{report:?}");
        let after = v.retention_plan(at).await.unwrap();
        let left: BTreeSet<_> = after
            .subjects
            .iter()
            .flat_map(|s| s.items.iter().map(|i| i.record))
            .collect();
        let gone: BTreeSet<_> = all.difference(&left).copied().collect();
        assert_eq!(
            gone, due,
            "{policy_file} on {at}: what went is exactly what was due"
        );
        assert_eq!(report.records_destroyed as usize, due.len());
        destroyed_total += gone.len();
    }
    assert!(
        destroyed_total > 0,
        "{policy_file}: the runs destroyed something"
    );
}

#[tokio::test]
async fn runs_on_lider_demo_destroy_exactly_what_is_due_and_no_later() {
    for seed in [1, 2] {
        runs_destroy_exactly_what_is_due("lider.toml", seed).await;
    }
}

#[tokio::test]
async fn runs_on_konekt_demo_destroy_exactly_what_is_due_and_no_later() {
    for seed in [3, 4] {
        runs_destroy_exactly_what_is_due("konekt.toml", seed).await;
    }
}
