-- pdvault schema, version 3: the key store stands apart from the data.
--
-- Subjects' wrapped data keys and the record of destroyed keys (tombstones) form the key store.
-- A backup writes them to their own archive, and a restore of the data never brings a key back:
-- that is what makes destruction by deleting one key (crypto-shredding) hold for backups too.
-- The key store therefore must not depend on the data tables: the foreign key from subject_keys
-- to subjects goes, so data can be replaced by a restore while the live keys stay where they are.
-- SQLite cannot drop a constraint in place, so the table is rebuilt with the same rows.

CREATE TABLE subject_keys_v3 (
    subject_id    BLOB PRIMARY KEY CHECK (length(subject_id) = 16),
    wrapped_key   BLOB NOT NULL,
    master_key_id TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;
INSERT INTO subject_keys_v3 SELECT subject_id, wrapped_key, master_key_id, created_at FROM subject_keys;
DROP TABLE subject_keys;
ALTER TABLE subject_keys_v3 RENAME TO subject_keys;

-- A tombstone says that a subject's key was destroyed and when. It holds no personal data, only
-- the random subject id; it outlives the key so that a later restore of an older backup knows
-- the subject must stay destroyed.
CREATE TABLE key_tombstones (
    subject_id  BLOB PRIMARY KEY CHECK (length(subject_id) = 16),
    shredded_at INTEGER NOT NULL
) STRICT;
