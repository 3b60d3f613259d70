-- pdvault schema, version 8: destruction in two steps, the key shred and the sweep.
--
-- Destroying a subject deletes its wrapped keys and writes its tombstone in the destroying
-- transaction: a handful of rows whatever the subject holds, after which none of its ciphertext
-- can be decrypted. The rest of its rows (records, fields, identifiers, consents…) are deleted
-- later, in small transactions, by the sweep; this queue says whose rows are still to go. A row
-- is queued in the same transaction as the tombstone and leaves in the same transaction as the
-- rows it stands for, so a sweep killed at any point resumes where it stopped. Holds no personal
-- data, only random subject ids. WITHOUT ROWID: the key is the only thing stored.
CREATE TABLE sweep_queue (
    subject_id  BLOB PRIMARY KEY CHECK (length(subject_id) = 16),
    shredded_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The key shred touches the key store's three tables once per destroyed subject. As rowid tables
-- keyed by a BLOB each of them is two B-trees (the rows and the index of the primary key), so
-- every deletion or insertion is two; WITHOUT ROWID makes the primary key the table, one B-tree,
-- which halves the work of destruction. The tables are rebuilt with the same rows.
CREATE TABLE subject_keys_v8 (
    subject_id    BLOB PRIMARY KEY CHECK (length(subject_id) = 16),
    wrapped_key   BLOB NOT NULL,
    master_key_id TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO subject_keys_v8 SELECT subject_id, wrapped_key, master_key_id, created_at FROM subject_keys;
DROP TABLE subject_keys;
ALTER TABLE subject_keys_v8 RENAME TO subject_keys;

CREATE TABLE category_keys_v8 (
    subject_id  BLOB NOT NULL CHECK (length(subject_id) = 16),
    category    TEXT NOT NULL,
    wrapped_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (subject_id, category)
) STRICT, WITHOUT ROWID;
INSERT INTO category_keys_v8 SELECT subject_id, category, wrapped_key, created_at FROM category_keys;
DROP TABLE category_keys;
ALTER TABLE category_keys_v8 RENAME TO category_keys;

CREATE TABLE key_tombstones_v8 (
    subject_id  BLOB PRIMARY KEY CHECK (length(subject_id) = 16),
    shredded_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO key_tombstones_v8 SELECT subject_id, shredded_at FROM key_tombstones;
DROP TABLE key_tombstones;
ALTER TABLE key_tombstones_v8 RENAME TO key_tombstones;
