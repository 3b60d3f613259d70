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
