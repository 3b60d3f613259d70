//! The closed vocabulary of operations on personal data (seed clause 1.3, ст. 3 п. 3 152-ФЗ).
//!
//! Every audit event names exactly one of these; nothing else may appear in the log.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Collection,
    Recording,
    Systematisation,
    Accumulation,
    Storage,
    Rectification,
    Extraction,
    Use,
    Transfer,
    Matching,
    Depersonalisation,
    Blocking,
    Deletion,
    Destruction,
}

impl Operation {
    pub const ALL: [Operation; 14] = [
        Operation::Collection,
        Operation::Recording,
        Operation::Systematisation,
        Operation::Accumulation,
        Operation::Storage,
        Operation::Rectification,
        Operation::Extraction,
        Operation::Use,
        Operation::Transfer,
        Operation::Matching,
        Operation::Depersonalisation,
        Operation::Blocking,
        Operation::Deletion,
        Operation::Destruction,
    ];

    /// The machine name used in the API, the policy file and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Collection => "collection",
            Operation::Recording => "recording",
            Operation::Systematisation => "systematisation",
            Operation::Accumulation => "accumulation",
            Operation::Storage => "storage",
            Operation::Rectification => "rectification",
            Operation::Extraction => "extraction",
            Operation::Use => "use",
            Operation::Transfer => "transfer",
            Operation::Matching => "matching",
            Operation::Depersonalisation => "depersonalisation",
            Operation::Blocking => "blocking",
            Operation::Deletion => "deletion",
            Operation::Destruction => "destruction",
        }
    }

    /// The Russian term of ст. 3 п. 3, as the seeds list it.
    pub fn title_ru(self) -> &'static str {
        match self {
            Operation::Collection => "сбор",
            Operation::Recording => "запись",
            Operation::Systematisation => "систематизация",
            Operation::Accumulation => "накопление",
            Operation::Storage => "хранение",
            Operation::Rectification => "уточнение (обновление, изменение)",
            Operation::Extraction => "извлечение",
            Operation::Use => "использование",
            Operation::Transfer => "передача (предоставление, доступ)",
            Operation::Matching => "сопоставление",
            Operation::Depersonalisation => "обезличивание",
            Operation::Blocking => "блокирование",
            Operation::Deletion => "удаление",
            Operation::Destruction => "уничтожение",
        }
    }

    pub fn parse(s: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.as_str() == s)
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for op in Operation::ALL {
            assert_eq!(Operation::parse(op.as_str()), Some(op));
            assert!(seen.insert(op.title_ru()));
        }
        assert_eq!(Operation::parse("sell"), None);
    }
}
