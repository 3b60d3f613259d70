use super::*;
use crate::policy::LoadedPolicy;

const MINIMAL: &str = include_str!("../policy/testdata/minimal.toml");

fn load(src: &str) -> LoadedPolicy {
    Policy::from_toml("test.toml", src).unwrap_or_else(|e| panic!("{e}"))
}

fn variant(from: &str, to: &str) -> String {
    assert!(MINIMAL.contains(from), "fixture lacks {from:?}");
    MINIMAL.replacen(from, to, 1)
}

fn notice(src: &str) -> NoticeContent {
    NoticeContent::from_policy(&load(src).policy)
}

fn shipped() -> Vec<(String, LoadedPolicy)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let mut out = Vec::new();
    for name in ["lider.toml", "konekt.toml"] {
        let source = std::fs::read_to_string(dir.join(name)).expect("shipped policy");
        out.push((name.to_string(), load(&source)));
    }
    out
}

#[test]
fn items_follow_the_law_and_match_the_content_fields() {
    let numbers: Vec<&str> = ITEMS.iter().map(|i| i.number).collect();
    assert_eq!(
        numbers,
        [
            "1", "2", "3", "4", "5", "6", "7", "7.1", "8", "9", "10", "10.1", "11"
        ]
    );
    let value = serde_json::to_value(notice(MINIMAL)).unwrap();
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), ITEMS.len(), "one field per item: {keys:?}");
    for i in &ITEMS {
        assert!(
            value.get(i.key).is_some(),
            "item {} has no field {}",
            i.number,
            i.key
        );
    }
}

#[test]
fn the_notice_of_each_shipped_policy_contains_every_item() {
    for (name, loaded) in shipped() {
        let p = &loaded.policy;
        let content = NoticeContent::from_policy(p);
        let text = content.render();
        for i in &ITEMS {
            assert!(
                text.contains(&format!("\n## {}. {}\n", i.number, i.title)),
                "{name}: item {} missing from\n{text}",
                i.number
            );
        }
        assert_eq!(content.operator.inn, p.operator.inn.as_str(), "{name}");
        assert!(text.contains(&p.operator.full_name), "{name}");
        assert!(text.contains(&p.operator.address), "{name}");
        assert_eq!(content.purposes.len(), p.purposes.len(), "{name}");
        for x in &p.purposes {
            assert!(text.contains(&x.title), "{name}: purpose {}", x.id);
        }
        assert_eq!(content.categories.len(), p.categories.len(), "{name}");
        assert_eq!(content.subjects.len(), p.subject_kinds.len(), "{name}");
        assert_eq!(content.bases.len(), p.bases.len(), "{name}");
        assert!(!content.processing.operations.is_empty(), "{name}");
        assert_eq!(content.processing.method, "mixed", "{name}: paper channels");
        assert!(content.processing.internet, "{name}");
        for (tool, _) in CRYPTOGRAPHY {
            assert!(text.contains(tool), "{name}: {tool}");
        }
        assert!(text.contains("Argon2id") && text.contains("AES-256-GCM"));
        assert_eq!(
            content.measures.measures.len(),
            p.security_measures.len(),
            "{name}"
        );
        assert!(text.contains(&p.operator.responsible_person.name), "{name}");
        assert!(
            !content.cross_border.transfers,
            "{name}: the seeds promise none"
        );
        assert!(text.contains("не осуществляется"), "{name}");
        for kind in ["primary", "backup", "key_store", "export"] {
            assert!(
                content
                    .databases
                    .iter()
                    .any(|d| d.kind == kind && d.country == "RU"),
                "{name}: no {kind} in п. 10.1"
            );
        }
        // The shipped policies do not state what their seeds do not say; the notice says so.
        let missing: Vec<String> = content.missing().into_iter().map(|m| m.item).collect();
        assert!(
            missing.contains(&"8".to_string()) && missing.contains(&"11".to_string()),
            "{name}: {missing:?}"
        );
        assert!(text.contains("НЕ УКАЗАНО") && text.contains("## Не хватает сведений"));
        assert_eq!(content.hash().len(), 64);
        let back: NoticeContent = serde_json::from_str(&content.canonical_json()).unwrap();
        assert_eq!(back, content, "{name}: the canonical form reads back");
    }
}

#[test]
fn a_complete_policy_misses_only_what_it_lacks() {
    let content = notice(MINIMAL);
    let missing: Vec<String> = content.missing().into_iter().map(|m| m.item).collect();
    assert_eq!(missing, ["7", "7.1"], "no measures, no phone");
    let with_phone = notice(&variant(
        "email = \"dpo@example.ru\"",
        "email = \"dpo@example.ru\"\nphone = \"+7 495 000-00-00\"",
    ));
    assert_eq!(with_phone.missing().len(), 1);
    let text = with_phone.render();
    assert!(text.contains("телефон: +7 495 000-00-00"), "{text}");
    assert!(text.contains("2025-09-01"), "{text}");
    assert!(text.contains("4-й уровень защищённости"), "{text}");
    assert!(text.contains("автоматизированная обработка"), "{text}");
}

#[test]
fn an_absent_start_date_is_listed_not_omitted() {
    let content = notice(&variant("processing_started = 2025-09-01\n", ""));
    assert_eq!(content.processing_started, None);
    assert!(content.missing().iter().any(|m| m.item == "8"));
    let text = content.render();
    let item8 = text.split("\n## 8. ").nth(1).unwrap();
    let item8 = item8.split("\n## ").next().unwrap();
    assert!(item8.contains("НЕ УКАЗАНО"), "{item8}");
}

fn changed(before: &NoticeContent, after: &NoticeContent) -> Vec<String> {
    let filed = serde_json::from_str(&before.canonical_json()).unwrap();
    after
        .changed_since(&filed)
        .into_iter()
        .map(|c| c.item)
        .collect()
}

#[test]
fn a_change_the_notice_covers_changes_the_hash_and_names_the_item() {
    let base = notice(MINIMAL);
    assert_eq!(changed(&base, &base), Vec::<String>::new());
    let cases: [(&str, &str, &[&str]); 6] = [
        (
            "title = \"Информирование об акциях\"",
            "title = \"Рассылка новостей и акций\"",
            &["2"],
        ),
        (
            "title = \"Сумма заказа\"\ntype = \"money\"",
            "title = \"Сумма заказа\"\ntype = \"money\"\n[[category.field]]\nid = \"comment\"\ntitle = \"Комментарий\"\ntype = \"free_text\"",
            &["3"],
        ),
        (
            "address = \"Московская обл., г. Химки, ЦОД\"",
            "address = \"г. Санкт-Петербург, ЦОД\"",
            &["10.1"],
        ),
        (
            "[requests]",
            "[[recipient]]\nid = \"analytics\"\nname = \"Analytics GmbH\"\ncountry = \"DE\"\npurposes = [\"order\"]\ncategories = [\"contacts\"]\n[recipient.cross_border]\nrkn_notice_date = 2025-10-01\nadequacy = \"adequate\"\n\n[requests]",
            &["10"],
        ),
        ("protection_level = 4", "protection_level = 3", &["11"]),
        (
            "basis = \"contract\"\ncategories",
            "basis = \"consent\"\ncategories",
            &["5"],
        ),
    ];
    for (from, to, items) in cases {
        let after = notice(&variant(from, to));
        assert_ne!(after.hash(), base.hash(), "{to}");
        assert_eq!(changed(&base, &after), items, "{to}");
    }
    let abroad = notice(&variant(
        "[requests]",
        "[[recipient]]\nid = \"analytics\"\nname = \"Analytics GmbH\"\ncountry = \"DE\"\npurposes = [\"order\"]\ncategories = [\"contacts\"]\n[recipient.cross_border]\nrkn_notice_date = 2025-10-01\nadequacy = \"adequate\"\n\n[requests]",
    ));
    assert!(abroad.cross_border.transfers);
    assert!(abroad.render().contains("Analytics GmbH (получатель), DE"));
}

#[test]
fn what_the_notice_does_not_cover_leaves_it_current() {
    let base = notice(MINIMAL);
    for (from, to) in [
        // Retention periods are not an item of ст. 22 ч. 3; the events they count from are.
        ("period = \"P3Y\"", "period = \"P5Y\""),
        ("norm = \"ГК РФ ст. 196\"", "norm = \"ГК РФ ст. 196, 197\""),
        ("version = \"1.0\"", "version = \"1.1\""),
        ("title = \"Сайт\"", "title = \"Интернет-магазин\""),
        // Reordering entries is not a change.
        (
            "[[basis]]\nid = \"consent\"\nkind = \"consent\"\ntitle = \"Согласие субъекта\"\n\n[[basis]]\nid = \"contract\"\nkind = \"contract\"\ntitle = \"Договор с субъектом\"",
            "[[basis]]\nid = \"contract\"\nkind = \"contract\"\ntitle = \"Договор с субъектом\"\n\n[[basis]]\nid = \"consent\"\nkind = \"consent\"\ntitle = \"Согласие субъекта\"",
        ),
    ] {
        let after = notice(&variant(from, to));
        assert_eq!(after.hash(), base.hash(), "{to}");
        assert!(changed(&base, &after).is_empty());
    }
}

#[test]
fn a_filed_version_without_a_field_counts_that_item_as_changed() {
    let content = notice(MINIMAL);
    let mut filed = serde_json::to_value(&content).unwrap();
    filed.as_object_mut().unwrap().remove("security");
    let items: Vec<String> = content
        .changed_since(&filed)
        .into_iter()
        .map(|c| c.item)
        .collect();
    assert_eq!(items, ["11"]);
}
