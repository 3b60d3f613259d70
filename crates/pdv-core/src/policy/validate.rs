//! Checks that a parsed policy is coherent and lawful before the engine enforces it.
//!
//! Structural problems (unknown keys, wrong types) are caught by deserialisation; this module
//! checks what TOML cannot: references between entries, requisites, the law's constraints on
//! purposes and categories, and localisation. It collects every problem rather than stopping at
//! the first, so an operator fixes a file in one pass.

use std::collections::{HashMap, HashSet};

use super::diagnostic::Diagnostic;
use super::model::*;
use super::name::Name;
use crate::field::FieldType;
use crate::identifier::Email;
use crate::law::{self, BasisKind};
use crate::requisites;

pub(crate) fn validate(p: &Policy) -> Vec<Diagnostic> {
    let mut v = Validator { out: Vec::new() };
    v.meta(p);
    v.operator(&p.operator);
    let subjects = v.ids("вид субъекта", p.subject_kinds.iter().map(|s| &s.id));
    let channels = v.ids("канал", p.channels.iter().map(|c| &c.id));
    let categories = v.ids("категория", p.categories.iter().map(|c| &c.id));
    let bases = v.ids("основание", p.bases.iter().map(|b| &b.id));
    let purposes = v.ids("цель", p.purposes.iter().map(|x| &x.id));
    v.ids("правило хранения", p.retention.iter().map(|r| &r.id));
    v.ids(
        "третье лицо",
        p.processors.iter().chain(&p.recipients).map(|t| &t.id),
    );
    v.ids("место хранения", p.storage.iter().map(|s| &s.id));
    v.ids("мера защиты", p.security_measures.iter().map(|m| &m.id));

    if p.subject_kinds.is_empty() {
        v.out.push(
            Diagnostic::error(None, "не объявлен ни один вид субъектов")
                .help("добавьте таблицы [[subject_kind]] (п. 2.4 политики)"),
        );
    }
    if p.purposes.is_empty() {
        v.out.push(
            Diagnostic::error(None, "не объявлена ни одна цель обработки")
                .help("добавьте таблицы [[purpose]] (п. 2.5 политики)"),
        );
    }
    for c in &p.categories {
        v.category(c, &subjects);
    }
    let basis_kind: HashMap<&str, BasisKind> =
        p.bases.iter().map(|b| (b.id.as_str(), b.kind)).collect();
    for b in &p.bases {
        if b.kind == BasisKind::Law && b.law_reference.as_deref().is_none_or(str::is_empty) {
            v.out.push(
                Diagnostic::error(
                    Some(b.id.span()),
                    format!(
                        "основание «{}» ссылается на закон, но не называет его",
                        b.id
                    ),
                )
                .help("укажите law_reference, например \"126-ФЗ «О связи», ст. 64\""),
            );
        }
    }
    for purpose in &p.purposes {
        v.purpose(p, purpose, &basis_kind, &categories, &subjects, &purposes);
    }
    for rule in &p.retention {
        v.refs(
            &rule.subjects,
            &subjects,
            "вид субъекта",
            "[[subject_kind]]",
        );
        v.refs(&rule.categories, &categories, "категория", "[[category]]");
        if rule.norm.trim().is_empty() {
            v.out.push(
                Diagnostic::error(
                    Some(rule.id.span()),
                    format!("правило хранения «{}» без нормы", rule.id),
                )
                .help("укажите norm: статью закона или пункт политики, откуда взят срок"),
            );
        }
    }
    v.retention_coverage(p);
    for (party, is_processor) in p
        .processors
        .iter()
        .map(|t| (t, true))
        .chain(p.recipients.iter().map(|t| (t, false)))
    {
        v.third_party(party, is_processor, &purposes, &categories, &bases);
    }
    v.storage(p);
    v.notice_items(p);
    v.refs(&p.requests.channels, &channels, "канал", "[[channel]]");
    v.email(&p.requests.email);
    if p.requests.channels.is_empty() {
        v.out.push(Diagnostic::error(Some(p.requests.email.span()), "не указан ни один канал для обращений субъектов").help("перечислите в requests.channels каналы, через которые принимаются запросы и отзывы согласий (ст. 9 ч. 2, ст. 14)"));
    }
    v.demo(p);
    v.out
}

struct Validator {
    out: Vec<Diagnostic>,
}

impl Validator {
    fn meta(&mut self, p: &Policy) {
        if p.policy.version.trim().is_empty() {
            self.out.push(
                Diagnostic::error(Some(p.policy.version.span()), "версия политики пуста")
                    .help("укажите version, например \"1.0\""),
            );
        }
    }

    fn operator(&mut self, o: &Operator) {
        if let Err(e) = requisites::check_inn(&o.inn) {
            self.out.push(
                Diagnostic::error(Some(o.inn.span()), format!("ИНН оператора: {e}"))
                    .help("проверьте ИНН по выписке ЕГРЮЛ"),
            );
        }
        if let Err(e) = requisites::check_ogrn(&o.ogrn) {
            self.out.push(
                Diagnostic::error(Some(o.ogrn.span()), format!("ОГРН оператора: {e}"))
                    .help("проверьте ОГРН по выписке ЕГРЮЛ"),
            );
        }
        if let Some(kpp) = &o.kpp
            && let Err(e) = requisites::check_kpp(kpp)
        {
            self.out.push(Diagnostic::error(Some(kpp.span()), e));
        }
        if !(o.site.starts_with("https://") || o.site.starts_with("http://")) {
            self.out.push(Diagnostic::error(
                Some(o.site.span()),
                "адрес сайта должен начинаться с https:// или http://",
            ));
        }
        if o.emails.is_empty() {
            self.out.push(
                Diagnostic::error(
                    Some(o.site.span()),
                    "не указан ни один адрес электронной почты оператора",
                )
                .help("добавьте emails = [\"pd@example.ru\"]"),
            );
        }
        for e in &o.emails {
            self.email(e);
        }
        self.email(&o.responsible_person.email);
        if jiff::tz::TimeZone::get(&o.time_zone).is_err() {
            self.out.push(
                Diagnostic::error(Some(o.time_zone.span()), format!("неизвестный часовой пояс «{}»", o.time_zone))
                    .help("укажите пояс из базы IANA, например \"Europe/Moscow\" или \"Asia/Novosibirsk\""),
            );
        }
    }

    fn email(&mut self, e: &Name) {
        if Email::parse(e).is_err() {
            self.out.push(Diagnostic::error(
                Some(e.span()),
                format!("«{e}» не похож на адрес электронной почты"),
            ));
        }
    }

    /// Checks ids are well-formed and unique; returns the set of declared ids.
    fn ids<'a>(&mut self, what: &str, ids: impl Iterator<Item = &'a Name>) -> HashSet<String> {
        let mut seen: HashSet<String> = HashSet::new();
        for id in ids {
            let well_formed = id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !well_formed {
                self.out.push(
                    Diagnostic::error(Some(id.span()), format!("идентификатор «{id}» ({what}) записан неверно"))
                        .help("идентификаторы — латиница в нижнем регистре, цифры и _, начинаются с буквы: delivery_address"),
                );
            }
            if !seen.insert(id.to_string()) {
                self.out.push(
                    Diagnostic::error(Some(id.span()), format!("{what} «{id}» объявлен(а) дважды"))
                        .help(
                            "у каждой записи свой идентификатор; удалите повтор или переименуйте",
                        ),
                );
            }
        }
        seen
    }

    fn refs(&mut self, refs: &[Name], declared: &HashSet<String>, what: &str, table: &str) {
        for r in refs {
            if !declared.contains(r.as_str()) {
                let mut known: Vec<&str> = declared.iter().map(String::as_str).collect();
                known.sort_unstable();
                self.out.push(
                    Diagnostic::error(Some(r.span()), format!("{what} «{r}» не объявлен(а)")).help(
                        format!(
                            "объявите её в {table} или выберите из: {}",
                            known.join(", ")
                        ),
                    ),
                );
            }
        }
    }

    fn category(&mut self, c: &Category, subjects: &HashSet<String>) {
        self.refs(&c.subjects, subjects, "вид субъекта", "[[subject_kind]]");
        if c.fields.is_empty() {
            self.out.push(
                Diagnostic::error(
                    Some(c.id.span()),
                    format!("у категории «{}» нет полей", c.id),
                )
                .help("добавьте [[category.field]] с id, title и type"),
            );
        }
        match (c.sensitivity, c.special_kind) {
            (SensitivityClass::Special, None) => self.out.push(
                Diagnostic::error(Some(c.id.span()), format!("категория «{}» объявлена специальной, но не указано, какой", c.id))
                    .help("укажите special_kind: race, nationality, political_views, religious_beliefs, philosophical_beliefs, health, intimate_life, union_membership или criminal"),
            ),
            (SensitivityClass::Ordinary | SensitivityClass::Biometric, Some(_)) => self.out.push(
                Diagnostic::error(Some(c.id.span()), format!("у категории «{}» указан special_kind, но sensitivity не \"special\"", c.id)),
            ),
            _ => {}
        }
        if c.sensitivity == SensitivityClass::Ordinary {
            let names = std::iter::once((c.id.as_str(), c.id.span()))
                .chain(std::iter::once((c.title.as_str(), c.id.span())))
                .chain(c.fields.iter().flat_map(|f| {
                    [
                        (f.id.as_str(), f.id.span()),
                        (f.title.as_str(), f.id.span()),
                    ]
                }));
            for (name, span) in names {
                if let Some((marker, sensitivity)) = law::sensitive_marker(name) {
                    let norm = sensitivity.norm().unwrap_or(law::SPECIAL_CATEGORY_NORM);
                    self.out.push(
                        Diagnostic::error(Some(span), format!("«{name}» похоже на специальную категорию или биометрию ({norm}; признак «{marker}»), а категория объявлена обычной"))
                            .help("такие данные обрабатываются только с письменного согласия (ст. 9 ч. 4): объявите sensitivity = \"special\" или \"biometric\" и основание written_consent, либо уберите поле"),
                    );
                    break;
                }
            }
        }
        let mut field_ids = HashSet::new();
        for f in &c.fields {
            if !field_ids.insert(f.id.as_str()) {
                self.out.push(Diagnostic::error(
                    Some(f.id.span()),
                    format!("поле «{}» объявлено в категории «{}» дважды", f.id, c.id),
                ));
            }
            let well_formed =
                f.id.chars()
                    .next()
                    .is_some_and(|ch| ch.is_ascii_lowercase())
                    && f.id
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
            if !well_formed {
                self.out.push(
                    Diagnostic::error(
                        Some(f.id.span()),
                        format!("идентификатор поля «{}» записан неверно", f.id),
                    )
                    .help("латиница в нижнем регистре, цифры и _"),
                );
            }
            match (f.field_type, f.values.is_empty()) {
                (FieldType::Enum, true) => self.out.push(
                    Diagnostic::error(
                        Some(f.id.span()),
                        format!("поле-перечисление «{}» без списка значений", f.id),
                    )
                    .help("добавьте values = [\"…\", \"…\"]"),
                ),
                (t, false) if t != FieldType::Enum => self.out.push(
                    Diagnostic::error(
                        Some(f.id.span()),
                        format!(
                            "список values задан для поля «{}» типа {}",
                            f.id,
                            t.as_str()
                        ),
                    )
                    .help("values допустимы только для type = \"enum\""),
                ),
                _ => {}
            }
            if f.max_len == Some(0) {
                self.out.push(Diagnostic::error(
                    Some(f.id.span()),
                    "max_len должен быть больше нуля",
                ));
            }
        }
    }

    fn purpose(
        &mut self,
        p: &Policy,
        purpose: &Purpose,
        basis_kind: &HashMap<&str, BasisKind>,
        categories: &HashSet<String>,
        subjects: &HashSet<String>,
        purposes: &HashSet<String>,
    ) {
        let kind = basis_kind.get(purpose.basis.as_str()).copied();
        if kind.is_none() {
            let mut known: Vec<&str> = basis_kind.keys().copied().collect();
            known.sort_unstable();
            self.out.push(
                Diagnostic::error(
                    Some(purpose.basis.span()),
                    format!(
                        "основание «{}» цели «{}» не объявлено",
                        purpose.basis, purpose.id
                    ),
                )
                .help(format!(
                    "объявите его в [[basis]] или выберите из: {}",
                    known.join(", ")
                )),
            );
        }
        self.refs(&purpose.categories, categories, "категория", "[[category]]");
        self.refs(
            &purpose.subjects,
            subjects,
            "вид субъекта",
            "[[subject_kind]]",
        );
        self.refs(&purpose.incompatible_with, purposes, "цель", "[[purpose]]");
        if purpose.categories.is_empty() {
            self.out.push(
                Diagnostic::error(
                    Some(purpose.id.span()),
                    format!(
                        "цель «{}» не называет ни одной категории данных",
                        purpose.id
                    ),
                )
                .help("перечислите categories, которые нужны для этой цели (ст. 5 ч. 5)"),
            );
        }
        if purpose.incompatible_with.contains(&purpose.id) {
            self.out.push(Diagnostic::error(
                Some(purpose.id.span()),
                format!("цель «{}» объявлена несовместимой сама с собой", purpose.id),
            ));
        }
        if purpose.marketing && !kind.is_none_or(BasisKind::is_consent) {
            self.out.push(
                Diagnostic::error(Some(purpose.basis.span()), format!("маркетинговая цель «{}» должна основываться на согласии ({})", purpose.id, law::MARKETING_NORM))
                    .help("укажите основание вида consent; продвижение товаров и услуг без предварительного согласия запрещено"),
            );
        }
        if kind == Some(BasisKind::Statistics) && !purpose.depersonalised_only {
            self.out.push(
                Diagnostic::error(Some(purpose.id.span()), format!("цель «{}» на основании статистики должна работать только с обезличенными данными ({})", purpose.id, BasisKind::Statistics.norm()))
                    .help("добавьте depersonalised_only = true"),
            );
        }
        if purpose.marketing && purpose.depersonalised_only {
            self.out.push(
                Diagnostic::error(Some(purpose.id.span()), format!("цель «{}» одновременно маркетинговая и только для обезличенных данных", purpose.id))
                    .help("статистика и маркетинг — разные цели (п. 2.3 сидов смешивает их): разделите на две цели"),
            );
        }
        for cat_ref in &purpose.categories {
            let Some(cat) = p.categories.iter().find(|c| c.id == *cat_ref) else {
                continue;
            };
            if cat.sensitivity != SensitivityClass::Ordinary
                && kind != Some(BasisKind::WrittenConsent)
            {
                let norm = if cat.sensitivity == SensitivityClass::Biometric {
                    law::BIOMETRIC_NORM
                } else {
                    law::SPECIAL_CATEGORY_NORM
                };
                self.out.push(
                    Diagnostic::error(Some(cat_ref.span()), format!("цель «{}» использует категорию «{}» особого вида без письменного согласия ({norm})", purpose.id, cat.id))
                        .help("основание такой цели — written_consent, либо уберите категорию из цели"),
                );
            }
        }
    }

    fn retention_coverage(&mut self, p: &Policy) {
        for c in &p.categories {
            let covered = p.retention.iter().any(|r| r.categories.contains(&c.id));
            if !covered {
                self.out.push(
                    Diagnostic::warning(Some(c.id.span()), format!("категория «{}» не покрыта ни одним правилом хранения", c.id))
                        .help("срок хранения нужен для всех данных (ст. 5 ч. 7; п. 8 политики): добавьте её в [[retention]]"),
                );
            }
        }
    }

    fn third_party(
        &mut self,
        t: &ThirdParty,
        is_processor: bool,
        purposes: &HashSet<String>,
        categories: &HashSet<String>,
        bases: &HashSet<String>,
    ) {
        self.refs(&t.purposes, purposes, "цель", "[[purpose]]");
        self.refs(&t.categories, categories, "категория", "[[category]]");
        self.refs(&t.bases, bases, "основание", "[[basis]]");
        if let Some(inn) = &t.inn
            && let Err(e) = requisites::check_inn(inn)
        {
            self.out.push(Diagnostic::error(
                Some(inn.span()),
                format!("ИНН «{}»: {e}", t.name),
            ));
        }
        if !(t.country.len() == 2 && t.country.chars().all(|c| c.is_ascii_uppercase())) {
            self.out.push(
                Diagnostic::error(
                    Some(t.country.span()),
                    format!("код страны «{}» не похож на ISO 3166-1", t.country),
                )
                .help("две заглавные латинские буквы, например \"RU\""),
            );
        } else if *t.country != *"RU" && t.cross_border.is_none() {
            self.out.push(
                Diagnostic::error(Some(t.country.span()), format!("«{}» находится за пределами России ({}), а трансграничная передача не оформлена (ст. 12)", t.name, t.country))
                    .help("добавьте [cross_border] с датой уведомления РКН и классом страны, либо уберите получателя"),
            );
        }
        if is_processor {
            match &t.contract {
                None => self.out.push(
                    Diagnostic::warning(Some(t.id.span()), format!("у обработчика «{}» не указан договор поручения (ст. 6 ч. 3)", t.id))
                        .help("добавьте [processor.contract] с номером, датой и обязательствами; без него передача обработчику будет отклоняться"),
                ),
                Some(c) => {
                    let missing: Vec<&str> = [
                        (c.confidentiality, "конфиденциальность"),
                        (c.security_measures, "меры защиты"),
                        (c.localisation, "локализация"),
                        (c.incident_notice, "уведомление об инцидентах"),
                    ]
                    .into_iter()
                    .filter(|(ok, _)| !ok)
                    .map(|(_, what)| what)
                    .collect();
                    if !missing.is_empty() {
                        self.out.push(
                            Diagnostic::warning(Some(t.id.span()), format!("договор поручения с «{}» не содержит: {}", t.id, missing.join(", ")))
                                .help("ст. 6 ч. 3 требует этих условий; без них передача обработчику будет отклоняться"),
                        );
                    }
                }
            }
            if t.operations.is_empty() {
                self.out.push(Diagnostic::warning(
                    Some(t.id.span()),
                    format!(
                        "для обработчика «{}» не перечислены действия с данными (ст. 6 ч. 3)",
                        t.id
                    ),
                ));
            }
        }
    }

    /// Localisation (ст. 18 ч. 5): every store pdvault itself uses must be declared, and none
    /// holding personal data may be abroad. Since 01.07.2025 the norm forbids recording,
    /// systematising, accumulating, storing, rectifying and extracting Russian citizens' data in
    /// databases outside Russia, so a backup, a key store or an export abroad is as unlawful as
    /// the primary database; each is an error. `pdv serve` refuses to start on any of them
    /// because it refuses every policy with an error. A paper archive is not a database, so one
    /// abroad is a warning: moving documents there is a cross-border transfer (ст. 12).
    fn storage(&mut self, p: &Policy) {
        if !p.storage.iter().any(|s| s.kind == StorageKind::Primary) {
            self.out.push(
                Diagnostic::error(None, "не объявлена основная база данных").help(
                    "добавьте [[storage]] с kind = \"primary\" и country = \"RU\" (ст. 18 ч. 5)",
                ),
            );
        }
        for kind in StorageKind::USED_BY_PDVAULT {
            if kind != StorageKind::Primary && !p.storage.iter().any(|s| s.kind == kind) {
                self.out.push(
                    Diagnostic::warning(
                        p.storage.first().map(|s| s.id.span()),
                        format!(
                            "в [[storage]] не объявлено место, где лежат {} (kind = \"{}\")",
                            kind.what_ru(),
                            kind.as_str()
                        ),
                    )
                    .help(format!(
                        "pdvault сам создаёт {}: объявите, где они хранятся, с country и address — это сведения п. 10.1 уведомления по ст. 22 ч. 3 и предмет проверки локализации ({})",
                        kind.what_ru(),
                        law::LOCALISATION_NORM
                    )),
                );
            }
        }
        for s in &p.storage {
            if !(s.country.len() == 2 && s.country.chars().all(|c| c.is_ascii_uppercase())) {
                self.out.push(
                    Diagnostic::error(
                        Some(s.country.span()),
                        format!("код страны «{}» не похож на ISO 3166-1", s.country),
                    )
                    .help("две заглавные латинские буквы, например \"RU\""),
                );
                continue;
            }
            if *s.country == *"RU" {
                continue;
            }
            if s.kind == StorageKind::Paper {
                self.out.push(
                    Diagnostic::warning(Some(s.country.span()), format!("бумажный архив «{}» находится за пределами России ({})", s.id, s.country))
                        .help("ст. 18 ч. 5 говорит о базах данных, но вывоз документов с персональными данными за рубеж — трансграничная передача (ст. 12); держите архив в России"),
                );
                continue;
            }
            let consequence = if s.kind == StorageKind::Primary {
                "; pdv serve с такой политикой не запустится"
            } else {
                ""
            };
            self.out.push(
                Diagnostic::error(Some(s.country.span()), format!("хранилище «{}» ({}) находится за пределами России ({}): это запрещено ({}){consequence}", s.id, s.kind.title_ru(), s.country, law::LOCALISATION_NORM))
                    .help("запись, систематизация, накопление, хранение, уточнение и извлечение ПДн граждан РФ — только с использованием баз данных на территории России; перенесите хранилище и укажите country = \"RU\""),
            );
        }
    }

    /// Items of the ст. 22 ч. 3 notice that only the policy can state.
    fn notice_items(&mut self, p: &Policy) {
        let o = &p.operator;
        if o.processing_started.is_none() {
            self.out.push(
                Diagnostic::warning(Some(o.inn.span()), "не указана дата начала обработки персональных данных")
                    .help("добавьте в [operator] processing_started = ГГГГ-ММ-ДД: это п. 8 уведомления по ст. 22 ч. 3, без него pdv rkn notice покажет пункт как незаполненный"),
            );
        }
        if o.protection_level.is_none() {
            self.out.push(
                Diagnostic::warning(Some(o.inn.span()), "не указан уровень защищённости информационной системы")
                    .help(format!("определите его по {} и добавьте в [operator] protection_level = 1…4: это п. 11 уведомления по ст. 22 ч. 3", law::PROTECTION_REQUIREMENTS)),
            );
        }
    }

    fn demo(&mut self, p: &Policy) {
        let mut demo = Vec::new();
        if p.operator.demo {
            demo.push((
                p.operator.inn.span(),
                "реквизиты оператора (ИНН, ОГРН, адрес)".to_string(),
            ));
        }
        if p.operator.responsible_person.demo {
            demo.push((
                p.operator.responsible_person.email.span(),
                "ответственный за организацию обработки".to_string(),
            ));
        }
        for t in p.processors.iter().chain(&p.recipients).filter(|t| t.demo) {
            demo.push((t.id.span(), format!("третье лицо «{}»", t.id)));
        }
        for s in p.storage.iter().filter(|s| s.demo) {
            demo.push((s.id.span(), format!("место хранения «{}»", s.id)));
        }
        for (span, what) in demo {
            self.out.push(
                Diagnostic::warning(Some(span), format!("демонстрационное значение: {what}"))
                    .help("замените на настоящие сведения и уберите demo = true перед публикацией политики"),
            );
        }
    }
}
