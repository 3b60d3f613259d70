-- pdvault schema, version 7: destruction of one category, and destruction acts.
--
-- Category keys. Each category of a subject's data has its own random key, wrapped under the
-- subject's data key, and the fields of that category are encrypted with it. Destroying one
-- category (its period ended while other data of the subject stays) deletes that key, which makes
-- every copy of the category's ciphertext unreadable, in backups too; destroying the subject key
-- makes every category key below it unreadable at once. Part of the key store, like
-- subject_keys: no foreign key to the data tables.
CREATE TABLE category_keys (
    subject_id  BLOB NOT NULL CHECK (length(subject_id) = 16),
    category    TEXT NOT NULL,
    wrapped_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (subject_id, category)
) STRICT;

-- A category tombstone says that a category of a subject was destroyed and when; records of the
-- category created up to that moment must never come back (a restore of an older backup deletes
-- them again). Holds no personal data.
CREATE TABLE category_tombstones (
    subject_id   BLOB NOT NULL CHECK (length(subject_id) = 16),
    category     TEXT NOT NULL,
    destroyed_at INTEGER NOT NULL,
    PRIMARY KEY (subject_id, category)
) STRICT;

-- The order or claim a record belongs to, when a retention rule counts per order (seed 8).
ALTER TABLE pd_records ADD COLUMN scope TEXT;

-- Destruction acts (Приказ Роскомнадзора № 179): numbered per year, opened when a destruction run
-- starts, one entry per subject whose data were destroyed (written in the same transaction as the
-- destruction, so no destruction goes unrecorded), closed with the SHA-256 of the whole act, which
-- also goes to the audit chain. Header and entries are ciphertext under the acts key. An act is
-- kept three years; then its entries are deleted and `expired_at` is set, the number and the hash
-- stay.
CREATE TABLE destruction_acts (
    act_id     BLOB PRIMARY KEY CHECK (length(act_id) = 16),
    year       INTEGER NOT NULL,
    seq        INTEGER NOT NULL CHECK (seq > 0),
    opened_at  INTEGER NOT NULL,
    trigger    TEXT NOT NULL,
    header_ct  BLOB NOT NULL,
    closed_at  INTEGER,
    entries    INTEGER,
    sha256     TEXT,
    expires_on TEXT,
    expired_at INTEGER,
    UNIQUE (year, seq)
) STRICT;

CREATE TABLE destruction_act_entries (
    act_id     BLOB NOT NULL REFERENCES destruction_acts (act_id),
    entry_no   INTEGER NOT NULL,
    subject_id BLOB NOT NULL CHECK (length(subject_id) = 16),
    at         INTEGER NOT NULL,
    body_ct    BLOB NOT NULL,
    PRIMARY KEY (act_id, entry_no)
) STRICT;
