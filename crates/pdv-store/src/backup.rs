//! What a backup holds, table by table, in a form both backends read and write the same way.
//!
//! A backup is logical, not a copy of database files: rows leave one backend as [`Value`]s and
//! can enter either backend, so a SQLite backup restores into PostgreSQL and back. The table list
//! is written out here once, with each column's type, because the two schemas spell types
//! differently (a list of names is JSON text in SQLite and `text[]` in PostgreSQL).
//!
//! The list is also where the crypto-shredding guarantee is enforced: subjects' wrapped data keys
//! belong to the [`Part::Keys`] archive and are never written into the data archive, so a data
//! backup alone can never make a destroyed subject readable again. Every table of the schema is
//! either listed in [`TABLES`] or in [`NOT_BACKED_UP`] with the reason; a test on each backend
//! fails when a migration adds a table to neither.

/// The schema version this build writes and reads: the highest migration number of both
/// backends (a test checks it against the migration files).
pub const SCHEMA_VERSION: i64 = 11;

/// Which archive a table goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The data archive: ciphertext, metadata, accounts and the audit trail.
    Data,
    /// The key archive: wrapped data keys. Kept in a separate file, on separate media.
    Keys,
    /// Both archives: the record of destroyed subjects travels with the data and with the keys,
    /// so that whichever of the two is newer still knows every destruction.
    Both,
}

impl Part {
    pub fn in_data(self) -> bool {
        matches!(self, Part::Data | Part::Both)
    }

    pub fn in_keys(self) -> bool {
        matches!(self, Part::Keys | Part::Both)
    }
}

/// How a column is stored, as far as moving it between backends is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// A 64-bit integer (`INTEGER` / `bigint`).
    Int,
    /// A 32-bit integer in PostgreSQL (`integer`), an `INTEGER` in SQLite.
    Int32,
    Text,
    Bytes,
    /// A list of names: a JSON array in SQLite, `text[]` in PostgreSQL.
    TextList,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
}

const fn col(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        nullable: false,
    }
}

const fn opt(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        nullable: true,
    }
}

/// One backed-up table.
#[derive(Debug, PartialEq, Eq)]
pub struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// The primary key, which orders the rows so that two backups of the same data are equal.
    pub key: &'static [&'static str],
    pub part: Part,
}

impl TableSpec {
    pub fn column_names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }

    pub fn has_subject_column(&self) -> bool {
        self.columns.iter().any(|c| c.name == "subject_id")
    }
}

use ColumnType::{Bytes, Int, Int32, Text, TextList};

/// Every backed-up table, parents before children, so rows can be inserted in this order and
/// deleted in the reverse order without breaking a foreign key.
pub static TABLES: &[TableSpec] = &[
    TableSpec {
        name: "meta",
        columns: &[col("key", Text), col("value", Text)],
        key: &["key"],
        part: Part::Data,
    },
    TableSpec {
        name: "subjects",
        columns: &[
            col("subject_id", Bytes),
            col("kind", Text),
            col("created_at", Int),
        ],
        key: &["subject_id"],
        part: Part::Data,
    },
    TableSpec {
        name: "subject_keys",
        columns: &[
            col("subject_id", Bytes),
            col("wrapped_key", Bytes),
            col("master_key_id", Text),
            col("created_at", Int),
        ],
        key: &["subject_id"],
        part: Part::Keys,
    },
    TableSpec {
        name: "key_tombstones",
        columns: &[col("subject_id", Bytes), col("shredded_at", Int)],
        key: &["subject_id"],
        part: Part::Both,
    },
    TableSpec {
        name: "category_keys",
        columns: &[
            col("subject_id", Bytes),
            col("category", Text),
            col("wrapped_key", Bytes),
            col("created_at", Int),
        ],
        key: &["subject_id", "category"],
        part: Part::Keys,
    },
    TableSpec {
        name: "category_tombstones",
        columns: &[
            col("subject_id", Bytes),
            col("category", Text),
            col("destroyed_at", Int),
        ],
        key: &["subject_id", "category"],
        part: Part::Both,
    },
    TableSpec {
        name: "subject_identifiers",
        columns: &[
            col("subject_id", Bytes),
            col("kind", Text),
            col("blind", Bytes),
            col("value_ct", Bytes),
        ],
        key: &["subject_id", "kind", "blind"],
        part: Part::Data,
    },
    TableSpec {
        name: "pd_records",
        columns: &[
            col("subject_id", Bytes),
            col("record_id", Bytes),
            col("category", Text),
            col("source", Text),
            col("created_at", Int),
            opt("scope", Text),
        ],
        key: &["subject_id", "record_id"],
        part: Part::Data,
    },
    TableSpec {
        name: "pd_fields",
        columns: &[
            col("subject_id", Bytes),
            col("record_id", Bytes),
            col("field", Text),
            col("value_ct", Bytes),
        ],
        key: &["subject_id", "record_id", "field"],
        part: Part::Data,
    },
    TableSpec {
        name: "consents",
        columns: &[
            col("subject_id", Bytes),
            col("consent_id", Bytes),
            col("kind", Text),
            col("purposes", TextList),
            col("recipients", TextList),
            col("channel", Text),
            col("evidence_ct", Bytes),
            opt("representative_ct", Bytes),
            col("document_id", Text),
            col("document_version", Text),
            col("document_sha256", Text),
            col("policy_version", Text),
            col("given_at", Int),
            opt("valid_until", Text),
            opt("withdrawn_at", Int),
            opt("withdrawal_channel", Text),
        ],
        key: &["subject_id", "consent_id"],
        part: Part::Data,
    },
    TableSpec {
        name: "contracts",
        columns: &[
            col("subject_id", Bytes),
            col("contract_id", Bytes),
            col("reference", Text),
            col("concluded_on", Text),
            opt("terminated_on", Text),
            col("created_at", Int),
            opt("terminated_at", Int),
        ],
        key: &["subject_id", "contract_id"],
        part: Part::Data,
    },
    TableSpec {
        name: "blocks",
        columns: &[
            col("subject_id", Bytes),
            col("block_id", Bytes),
            opt("category", Text),
            col("reason", Text),
            col("placed_at", Int),
            opt("lifted_at", Int),
            opt("lift_reason", Text),
        ],
        key: &["subject_id", "block_id"],
        part: Part::Data,
    },
    TableSpec {
        name: "transfers",
        columns: &[
            col("subject_id", Bytes),
            col("transfer_id", Bytes),
            col("at", Int),
            col("recipient", Text),
            col("purpose", Text),
            col("categories", TextList),
            col("basis", Text),
            col("basis_kind", Text),
            opt("consent_id", Bytes),
            opt("details_ct", Bytes),
            col("actor", Text),
        ],
        key: &["subject_id", "transfer_id"],
        part: Part::Data,
    },
    TableSpec {
        name: "recipient_withdrawals",
        columns: &[
            col("subject_id", Bytes),
            col("consent_id", Bytes),
            col("recipient", Text),
            col("at", Int),
            col("channel", Text),
        ],
        key: &["subject_id", "consent_id", "recipient"],
        part: Part::Data,
    },
    TableSpec {
        name: "anchor_events",
        columns: &[
            col("subject_id", Bytes),
            col("event_id", Bytes),
            col("event", Text),
            opt("scope", Text),
            opt("purpose", Text),
            col("occurred_on", Text),
            col("recorded_at", Int),
        ],
        key: &["subject_id", "event_id"],
        part: Part::Data,
    },
    TableSpec {
        name: "audit_events",
        columns: &[
            col("seq", Int),
            col("at", Int),
            col("actor", Text),
            col("action", Text),
            opt("operation", Text),
            opt("purpose", Text),
            opt("subject_id", Bytes),
            col("outcome", Text),
            col("details", Text),
            col("prev_hash", Bytes),
            col("hash", Bytes),
        ],
        key: &["seq"],
        part: Part::Data,
    },
    TableSpec {
        name: "requests",
        columns: &[
            col("request_id", Bytes),
            col("year", Int32),
            col("seq", Int),
            col("kind", Text),
            col("channel", Text),
            opt("subject_id", Bytes),
            col("received_at", Int),
            col("rule", Text),
            col("due", Text),
            col("calendar", Text),
            col("provisional", Int32),
            col("details_ct", Bytes),
        ],
        key: &["request_id"],
        part: Part::Data,
    },
    TableSpec {
        name: "destruction_acts",
        columns: &[
            col("act_id", Bytes),
            col("year", Int32),
            col("seq", Int),
            col("opened_at", Int),
            col("trigger", Text),
            col("header_ct", Bytes),
            opt("closed_at", Int),
            opt("entries", Int),
            opt("sha256", Text),
            opt("expires_on", Text),
            opt("expired_at", Int),
        ],
        key: &["act_id"],
        part: Part::Data,
    },
    TableSpec {
        name: "retained_records",
        columns: &[
            col("retained_id", Bytes),
            col("kind", Text),
            col("category", Text),
            col("rule", Text),
            col("fields_ct", Bytes),
            col("depersonalised_at", Int),
        ],
        key: &["retained_id"],
        part: Part::Data,
    },
    TableSpec {
        name: "destruction_act_entries",
        columns: &[
            col("act_id", Bytes),
            col("entry_no", Int),
            col("subject_id", Bytes),
            col("at", Int),
            col("body_ct", Bytes),
        ],
        key: &["act_id", "entry_no"],
        part: Part::Data,
    },
    TableSpec {
        name: "request_entries",
        columns: &[
            col("request_id", Bytes),
            col("entry_no", Int),
            col("at", Int),
            col("actor", Text),
            col("step", Text),
            col("status", Text),
            opt("due", Text),
            opt("details_ct", Bytes),
        ],
        key: &["request_id", "entry_no"],
        part: Part::Data,
    },
    TableSpec {
        name: "incidents",
        columns: &[
            col("incident_id", Bytes),
            col("year", Int32),
            col("seq", Int),
            col("detected_at", Int),
            col("registered_at", Int),
            col("registered_by", Text),
            col("categories", TextList),
            col("subjects", Int),
            col("identifiers", Int),
            col("details_ct", Bytes),
        ],
        key: &["incident_id"],
        part: Part::Data,
    },
    TableSpec {
        name: "incident_entries",
        columns: &[
            col("incident_id", Bytes),
            col("entry_no", Int),
            col("at", Int),
            col("actor", Text),
            col("step", Text),
            col("status", Text),
            opt("occurred_at", Int),
            opt("details_ct", Bytes),
        ],
        key: &["incident_id", "entry_no"],
        part: Part::Data,
    },
    TableSpec {
        name: "outbox",
        columns: &[
            col("message_id", Bytes),
            col("created_at", Int),
            opt("request_id", Bytes),
            col("kind", Text),
            col("channel", Text),
            col("address_ct", Bytes),
            col("body_ct", Bytes),
            col("status", Text),
            col("status_at", Int),
            opt("note", Text),
        ],
        key: &["message_id"],
        part: Part::Data,
    },
    TableSpec {
        name: "staff_users",
        columns: &[
            col("user_id", Bytes),
            col("login", Text),
            col("full_name", Text),
            col("role", Text),
            col("password_hash", Text),
            col("failed_logins", Int32),
            opt("locked_until", Int),
            opt("disabled_at", Int),
            col("created_at", Int),
        ],
        key: &["user_id"],
        part: Part::Data,
    },
    TableSpec {
        name: "api_keys",
        columns: &[
            col("key_id", Bytes),
            col("name", Text),
            col("role", Text),
            col("purposes", TextList),
            col("categories", TextList),
            col("secret_hash", Bytes),
            col("created_by", Text),
            col("created_at", Int),
            opt("expires_at", Int),
            opt("revoked_at", Int),
        ],
        key: &["key_id"],
        part: Part::Data,
    },
];

/// Tables deliberately left out of every backup, with the reason.
pub static NOT_BACKED_UP: &[(&str, &str)] = &[
    (
        "staff_sessions",
        "a restore signs everyone out: sessions are bearer secrets that must not outlive the database they were issued for",
    ),
    (
        "idempotency",
        "a replay cache for retries of the last minutes; after a restore a retry is a new request",
    ),
    (
        "sweep_queue",
        "work left by a key shred: a restore deletes the rows of every tombstoned subject itself, and a backup leaves them out",
    ),
];

/// The tables holding a subject's rows that outlive the shredding of its data key, children before
/// parents: ciphertext nobody can decrypt any more, blind indexes, the record of its destroyed
/// categories (which the subject's own tombstone makes redundant), and its category keys, which
/// are wrapped under the data key and so are as unreadable as the ciphertext once it is gone. The
/// sweep deletes them after a key shred; until then no read returns them and no backup carries
/// them.
pub const SWEPT_TABLES: [&str; 11] = [
    "anchor_events",
    "transfers",
    "recipient_withdrawals",
    "pd_fields",
    "pd_records",
    "subject_identifiers",
    "consents",
    "contracts",
    "blocks",
    "category_tombstones",
    "category_keys",
];

/// Whether a backup leaves out the rows of tombstoned subjects in this table.
pub fn swept(table: &TableSpec) -> bool {
    SWEPT_TABLES.contains(&table.name)
}

/// The table of this name, if it is backed up.
pub fn table(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().find(|t| t.name == name)
}

/// Whether the schema has this table, backed up or not; guards statements built from a name.
pub fn known_table(name: &str) -> bool {
    table(name).is_some() || NOT_BACKED_UP.iter().any(|(n, _)| *n == name)
}

/// The tables of the data archive, in insertion order.
pub fn data_tables() -> Vec<&'static TableSpec> {
    TABLES.iter().filter(|t| t.part.in_data()).collect()
}

/// The tables of the key archive, in insertion order.
pub fn key_tables() -> Vec<&'static TableSpec> {
    TABLES.iter().filter(|t| t.part.in_keys()).collect()
}

/// One cell of a backed-up row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    TextList(Vec<String>),
}

impl Value {
    /// Whether the value may stand in a column of this type.
    pub fn fits(&self, column: &Column) -> bool {
        match (self, column.ty) {
            (Value::Null, _) => column.nullable,
            (Value::Int(_), Int) => true,
            (Value::Int(n), Int32) => i32::try_from(*n).is_ok(),
            (Value::Text(_), Text) => true,
            (Value::Bytes(_), Bytes) => true,
            (Value::TextList(_), TextList) => true,
            _ => false,
        }
    }
}

/// A backed-up row: one value per column of its [`TableSpec`], in the same order.
pub type BackupRow = Vec<Value>;

/// How many rows a restore inserts per statement: big enough to amortise the round trip, small
/// enough to stay under both backends' limits on bound parameters (16 columns × 200 < 32 766).
pub const INSERT_BATCH: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn table_names_are_unique_and_every_table_has_its_key_among_its_columns() {
        let mut seen = BTreeSet::new();
        for t in TABLES {
            assert!(seen.insert(t.name), "{} listed twice", t.name);
            for k in t.key {
                assert!(
                    t.column_names().contains(k),
                    "{}: key {k} not a column",
                    t.name
                );
            }
            assert!(
                t.columns.len() * INSERT_BATCH < 32_766,
                "{}: a batch would exceed SQLite's parameter limit",
                t.name
            );
        }
        for (name, why) in NOT_BACKED_UP {
            assert!(table(name).is_none(), "{name} is both backed up and not");
            assert!(!why.is_empty());
        }
    }

    #[test]
    fn wrapped_keys_never_go_to_the_data_archive() {
        let keys = table("subject_keys").expect("listed");
        assert!(!keys.part.in_data());
        assert!(keys.part.in_keys());
        for t in data_tables() {
            assert!(
                !t.columns.iter().any(|c| c.name.contains("wrapped")),
                "{} would carry key material into the data archive",
                t.name
            );
        }
        let tombstones = table("key_tombstones").expect("listed");
        assert!(tombstones.part.in_data() && tombstones.part.in_keys());
    }

    #[test]
    fn swept_tables_are_keyed_by_subject() {
        for name in SWEPT_TABLES {
            let t = table(name).unwrap_or_else(|| panic!("{name} is not backed up"));
            assert_eq!(
                t.key.first(),
                Some(&"subject_id"),
                "{name}: sweeps seek by subject"
            );
            assert!(swept(t));
        }
        // The data key goes in the key shred itself; the subject's id, its tombstone and the
        // trail of what happened stay.
        for name in ["subjects", "subject_keys", "key_tombstones", "audit_events"] {
            assert!(!swept(table(name).unwrap()), "{name}");
        }
    }

    #[test]
    fn values_fit_only_their_column_types() {
        let int32 = col("n", Int32);
        assert!(Value::Int(5).fits(&int32));
        assert!(!Value::Int(i64::from(i32::MAX) + 1).fits(&int32));
        assert!(!Value::Null.fits(&int32));
        assert!(Value::Null.fits(&opt("n", Int)));
        assert!(!Value::Text("x".into()).fits(&col("b", Bytes)));
        assert!(Value::TextList(vec![]).fits(&col("l", TextList)));
    }
}
