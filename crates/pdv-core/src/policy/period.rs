//! Retention periods written as ISO 8601 durations (`P3Y`, `P6M`, `P30D`, `P1Y6M`).

use serde::{Deserialize, Deserializer};

/// A calendar period: years, months and days, added in that order to an anchor date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Period {
    pub years: u16,
    pub months: u16,
    pub days: u16,
}

impl Period {
    pub fn parse(s: &str) -> Result<Period, String> {
        let hint = "срок пишется как в ISO 8601: P3Y — 3 года, P6M — 6 месяцев, P30D — 30 дней, P0D — сразу";
        let rest = s
            .strip_prefix('P')
            .ok_or_else(|| format!("«{s}» не является сроком: {hint}"))?;
        if rest.is_empty() {
            return Err(format!("«{s}»: срок пуст; {hint}"));
        }
        let mut period = Period::default();
        let mut number = String::new();
        let mut last_unit = 0;
        for c in rest.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let (order, slot) = match c {
                'Y' => (1, &mut period.years),
                'M' => (2, &mut period.months),
                'D' => (3, &mut period.days),
                _ => return Err(format!("«{s}»: неизвестная единица «{c}»; {hint}")),
            };
            if order <= last_unit || number.is_empty() {
                return Err(format!(
                    "«{s}»: единицы идут по порядку Y, M, D, каждая с числом; {hint}"
                ));
            }
            *slot = number
                .parse()
                .map_err(|_| format!("«{s}»: слишком большое число"))?;
            number.clear();
            last_unit = order;
        }
        if !number.is_empty() {
            return Err(format!(
                "«{s}»: после числа нужна единица Y, M или D; {hint}"
            ));
        }
        Ok(period)
    }

    /// The date the period ends when counted from `anchor`.
    pub fn end_from(self, anchor: jiff::civil::Date) -> Option<jiff::civil::Date> {
        let span = jiff::Span::new()
            .try_years(i64::from(self.years))
            .ok()?
            .try_months(i64::from(self.months))
            .ok()?
            .try_days(i64::from(self.days))
            .ok()?;
        anchor.checked_add(span).ok()
    }
}

impl Period {
    /// Whether the period is empty (`P0D`): the action is due on the anchor date itself.
    pub fn is_zero(self) -> bool {
        self == Period::default()
    }

    /// The period in Russian words, for messages: «3 года», «1 год 6 месяцев», «30 дней»;
    /// «0 дней» for `P0D`.
    pub fn in_words(self) -> String {
        use crate::deadline::plural;
        let mut parts = Vec::new();
        for (n, forms) in [
            (self.years, ["год", "года", "лет"]),
            (self.months, ["месяц", "месяца", "месяцев"]),
            (self.days, ["день", "дня", "дней"]),
        ] {
            if n > 0 {
                parts.push(format!("{n} {}", plural(u32::from(n), forms)));
            }
        }
        if parts.is_empty() {
            return "0 дней".to_string();
        }
        parts.join(" ")
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "P")?;
        if self.years > 0 {
            write!(f, "{}Y", self.years)?;
        }
        if self.months > 0 {
            write!(f, "{}M", self.months)?;
        }
        if self.days > 0 || (self.years == 0 && self.months == 0) {
            write!(f, "{}D", self.days)?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Period::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Reads a TOML local date (`2025-09-01`, no quotes) into a civil date.
pub(crate) fn de_date<'de, D: Deserializer<'de>>(d: D) -> Result<jiff::civil::Date, D::Error> {
    let value = toml::value::Datetime::deserialize(d)?;
    match (value.date, value.time) {
        (Some(date), None) => {
            jiff::civil::Date::new(date.year as i16, date.month as i8, date.day as i8)
                .map_err(|e| serde::de::Error::custom(format!("несуществующая дата: {e}")))
        }
        _ => Err(serde::de::Error::custom(
            "ожидается дата без времени, например 2025-09-01 (без кавычек)",
        )),
    }
}

/// An optional date: `processing_started = 2025-09-01`.
pub(crate) fn de_opt_date<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<jiff::civil::Date>, D::Error> {
    de_date(d).map(Some)
}

/// A level of protection of Постановление Правительства РФ № 1119: 1 (highest) to 4.
pub(crate) fn de_protection_level<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    let level = i64::deserialize(d)?;
    match u8::try_from(level) {
        Ok(l @ 1..=4) => Ok(Some(l)),
        _ => Err(serde::de::Error::custom(format!(
            "уровень защищённости {level} не существует: по ПП РФ № 1119 их четыре, от 1 (высший) до 4"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_iso_periods() {
        assert_eq!(
            Period::parse("P3Y").unwrap(),
            Period {
                years: 3,
                months: 0,
                days: 0
            }
        );
        assert_eq!(
            Period::parse("P1Y6M").unwrap(),
            Period {
                years: 1,
                months: 6,
                days: 0
            }
        );
        assert_eq!(Period::parse("P0D").unwrap(), Period::default());
        for bad in ["3Y", "P", "P3", "PY", "P3D2Y", "P3W", "P3Y3Y"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn period_end_counts_calendar_units() {
        let anchor = jiff::civil::date(2024, 2, 29);
        assert_eq!(
            Period::parse("P1Y").unwrap().end_from(anchor),
            Some(jiff::civil::date(2025, 2, 28))
        );
        assert_eq!(
            Period::parse("P30D").unwrap().end_from(anchor),
            Some(jiff::civil::date(2024, 3, 30))
        );
    }

    #[test]
    fn periods_read_in_russian() {
        let words = |s: &str| Period::parse(s).unwrap().in_words();
        assert_eq!(words("P3Y"), "3 года");
        assert_eq!(words("P1Y6M"), "1 год 6 месяцев");
        assert_eq!(words("P6Y"), "6 лет");
        assert_eq!(words("P30D"), "30 дней");
        assert_eq!(words("P21D"), "21 день");
        assert_eq!(words("P0D"), "0 дней");
        assert!(Period::parse("P0D").unwrap().is_zero());
        assert!(!Period::parse("P1D").unwrap().is_zero());
    }

    proptest! {
        #[test]
        fn display_round_trips(y in 0u16..50, m in 0u16..24, d in 0u16..400) {
            let p = Period { years: y, months: m, days: d };
            prop_assert_eq!(Period::parse(&p.to_string()).unwrap(), p);
        }
    }
}
