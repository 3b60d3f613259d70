use super::*;

const MINIMAL: &str = include_str!("testdata/minimal.toml");

fn load(src: &str) -> Result<LoadedPolicy, PolicyErrors> {
    Policy::from_toml("test.toml", src)
}

/// Replaces the first occurrence of `from` (which must exist) in the fixture.
fn variant(from: &str, to: &str) -> String {
    assert!(MINIMAL.contains(from), "fixture lacks {from:?}");
    MINIMAL.replacen(from, to, 1)
}

/// Asserts that the variant fails with an error on the line holding `needle` in the text.
fn fails_at(src: &str, needle: &str, words: &str) {
    let errors = load(src).expect_err("variant must be refused");
    let offset = src.find(needle).expect("needle in text");
    let line = src[..offset].matches('\n').count() + 1;
    let found = errors
        .errors()
        .any(|d| d.line_col(src).map(|(l, _)| l) == Some(line) && d.message.contains(words));
    assert!(
        found,
        "expected an error on line {line} containing {words:?}, got:\n{errors}"
    );
}

#[test]
fn minimal_fixture_loads_with_demo_warning() {
    let loaded = load(MINIMAL).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.policy.purposes.len(), 2);
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.message.contains("демонстрационное"))
    );
    assert_eq!(loaded.fingerprint.len(), 64);
    assert!(loaded.policy.incompatible("marketing", "order"));
    assert_eq!(
        loaded
            .policy
            .basis_kind(loaded.policy.purpose("order").unwrap()),
        BasisKind::Contract
    );
}

#[test]
fn unknown_key_is_refused_with_location() {
    let src = variant(
        "short_name = \"Пример\"",
        "short_name = \"Пример\"\nshortname = \"x\"",
    );
    fails_at(&src, "shortname", "неизвестный ключ «shortname»");
}

#[test]
fn missing_key_is_refused() {
    let src = variant("basis = \"contract\"\n", "");
    let errors = load(&src).unwrap_err();
    assert!(
        errors
            .to_string()
            .contains("не хватает обязательного ключа «basis»"),
        "{errors}"
    );
}

#[test]
fn unknown_enum_value_lists_the_allowed_ones() {
    let src = variant("type = \"money\"", "type = \"currency\"");
    fails_at(&src, "currency", "недопустимое значение «currency»");
    let errors = load(&src).unwrap_err().to_string();
    assert!(errors.contains("free_text"), "{errors}");
}

#[test]
fn dangling_references_are_refused() {
    fails_at(
        &variant("basis = \"contract\"", "basis = \"contrakt\""),
        "contrakt",
        "основание «contrakt»",
    );
    fails_at(
        &variant(
            "categories = [\"contacts\", \"order\"]\nsubjects",
            "categories = [\"contacts\", \"orders\"]\nsubjects",
        ),
        "\"orders\"",
        "категория «orders»",
    );
    fails_at(
        &variant(
            "incompatible_with = [\"marketing\"]",
            "incompatible_with = [\"spam\"]",
        ),
        "spam",
        "цель «spam»",
    );
    fails_at(
        &variant("channels = [\"site\"]", "channels = [\"phone\"]"),
        "channels = [\"phone\"]",
        "канал «phone»",
    );
}

#[test]
fn duplicate_ids_are_refused() {
    let src = variant("id = \"marketing\"", "id = \"order\"");
    let errors = load(&src).unwrap_err();
    assert!(
        errors.to_string().contains("объявлен(а) дважды"),
        "{errors}"
    );
}

#[test]
fn bad_requisites_are_refused() {
    fails_at(
        &variant("inn = \"7712345671\"", "inn = \"7712345672\""),
        "inn =",
        "ИНН оператора",
    );
    fails_at(
        &variant("ogrn = \"1027712345671\"", "ogrn = \"102771234567\""),
        "ogrn =",
        "ОГРН оператора",
    );
    fails_at(
        &variant("time_zone = \"Europe/Moscow\"", "time_zone = \"Moscow\""),
        "time_zone",
        "часовой пояс",
    );
    fails_at(
        &variant(
            "emails = [\"pd@example.ru\"]",
            "emails = [\"pd-example.ru\"]",
        ),
        "emails",
        "электронной почты",
    );
}

#[test]
fn marketing_needs_consent() {
    let src = variant(
        "basis = \"consent\"\nmarketing = true",
        "basis = \"contract\"\nmarketing = true",
    );
    fails_at(
        &src,
        "basis = \"contract\"\nmarketing",
        "маркетинговая цель",
    );
}

#[test]
fn special_category_in_disguise_is_refused() {
    let src = variant(
        "id = \"amount\"\ntitle = \"Сумма заказа\"",
        "id = \"health_status\"\ntitle = \"Состояние\"",
    );
    fails_at(&src, "health_status", "специальную категорию");
}

#[test]
fn declared_special_category_needs_written_consent() {
    let src = variant(
        "id = \"order\"\ntitle = \"Сведения о заказе\"",
        "id = \"order\"\ntitle = \"Сведения о заказе\"\nsensitivity = \"special\"\nspecial_kind = \"health\"",
    );
    let errors = load(&src).unwrap_err().to_string();
    assert!(errors.contains("без письменного согласия"), "{errors}");
}

#[test]
fn primary_store_abroad_is_refused() {
    fails_at(
        &variant("country = \"RU\"", "country = \"DE\""),
        "country = \"DE\"",
        "за пределами России",
    );
}

#[test]
fn bad_period_is_refused_at_its_line() {
    fails_at(
        &variant("period = \"P3Y\"", "period = \"3 года\""),
        "3 года",
        "не является сроком",
    );
}

#[test]
fn enum_without_values_is_refused() {
    fails_at(
        &variant("type = \"money\"", "type = \"enum\""),
        "id = \"amount\"",
        "без списка значений",
    );
}

#[test]
fn syntax_error_points_at_line() {
    let src = variant("short_name = \"Пример\"", "short_name = \"Пример");
    let errors = load(&src).unwrap_err();
    let line = src
        .lines()
        .position(|l| l.starts_with("short_name"))
        .unwrap()
        + 1;
    let d = errors.errors().next().unwrap();
    assert_eq!(d.line_col(&src).map(|x| x.0), Some(line), "{errors}");
}

#[test]
fn shipped_policies_load() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    for name in ["lider.toml", "konekt.toml"] {
        let path = root.join(name);
        let src =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let loaded = Policy::from_toml(name, &src).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            loaded.policy.purposes.len() >= 8,
            "{name}: seed clause 2.5 has eight purposes"
        );
    }
}

#[test]
fn every_store_abroad_is_refused_on_its_line_and_a_paper_archive_warned() {
    for (id, kind) in [
        ("primary", "основная база данных"),
        ("backup", "резервные копии"),
        ("keys", "хранилище ключей"),
        ("exports", "выгрузки"),
    ] {
        let entry = format!("id = \"{id}\"\nkind = ");
        let at = MINIMAL.find(&entry).expect("store in fixture");
        let country = at + MINIMAL[at..].find("country = \"RU\"").unwrap();
        let src = format!(
            "{}country = \"DE\"{}",
            &MINIMAL[..country],
            &MINIMAL[country + "country = \"RU\"".len()..]
        );
        fails_at(
            &src,
            "country = \"DE\"",
            &format!("хранилище «{id}» ({kind})"),
        );
        let errors = load(&src).unwrap_err().to_string();
        assert!(errors.contains("ст. 18 ч. 5 152-ФЗ"), "{errors}");
        assert_eq!(
            errors.contains("pdv serve с такой политикой не запустится"),
            id == "primary",
            "{errors}"
        );
    }
    let paper = variant(
        "[requests]",
        "[[storage]]\nid = \"paper\"\nkind = \"paper\"\ntitle = \"Архив\"\ncountry = \"KZ\"\n\n[requests]",
    );
    let loaded = load(&paper).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.message.contains("бумажный архив «paper»"))
    );
    fails_at(
        &variant(
            "country = \"RU\"\naddress = \"Московская",
            "country = \"de\"\naddress = \"Московская",
        ),
        "country = \"de\"",
        "не похож на ISO 3166-1",
    );
}

#[test]
fn a_store_pdvault_writes_but_the_policy_does_not_declare_is_reported() {
    let src = variant(
        "[[storage]]\nid = \"exports\"\nkind = \"export\"\ntitle = \"Выгрузки\"\ncountry = \"RU\"\naddress = \"г. Москва, ул. Примерная, д. 1\"\n",
        "",
    );
    let loaded = load(&src).unwrap_or_else(|e| panic!("{e}"));
    let w = loaded
        .warnings
        .iter()
        .find(|w| w.message.contains("kind = \"export\""))
        .expect("a warning about the missing export store");
    assert!(w.render("p.toml", &src).contains("p.toml:"), "{w:?}");
    assert!(
        load(MINIMAL)
            .unwrap()
            .warnings
            .iter()
            .all(|w| !w.message.contains("[[storage]]"))
    );
    let src = variant("kind = \"primary\"", "kind = \"backup\"");
    assert!(
        load(&src)
            .unwrap_err()
            .to_string()
            .contains("не объявлена основная база данных")
    );
}

#[test]
fn notice_fields_are_optional_but_checked_and_warned_about() {
    let src = variant(
        "processing_started = 2025-09-01\nprotection_level = 4\n",
        "",
    );
    let loaded = load(&src).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.policy.operator.processing_started.is_none());
    for words in ["дата начала обработки", "уровень защищённости"]
    {
        assert!(
            loaded.warnings.iter().any(|w| w.message.contains(words)),
            "{words}"
        );
    }
    fails_at(
        &variant("protection_level = 4", "protection_level = 5"),
        "protection_level = 5",
        "уровень защищённости 5 не существует",
    );
    let errors = load(&variant(
        "processing_started = 2025-09-01",
        "processing_started = \"вчера\"",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        errors.contains("processing_started") || errors.contains("дата"),
        "{errors}"
    );
}
