-- pdvault schema, version 4: the request journal (журнал учёта обращений, seed clause 6(3)).
--
-- Append-only: a request row is written once, at receipt, with the deadline computed then; what
-- happens to it afterwards is a numbered entry. The request's status is its last entry's; the due
-- date is the last one an entry set (an extension), else the request's own. Requester details and
-- entry texts are ciphertext under the journal key. subject_id is empty for a request that names
-- nobody the operator knows: it is journaled all the same, because the law counts from receipt.

CREATE TABLE requests (
    request_id  BLOB PRIMARY KEY CHECK (length(request_id) = 16),
    year        INTEGER NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq > 0),
    kind        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    subject_id  BLOB CHECK (subject_id IS NULL OR length(subject_id) = 16),
    received_at INTEGER NOT NULL,
    rule        TEXT NOT NULL,
    due         TEXT NOT NULL,
    calendar    TEXT NOT NULL,
    provisional INTEGER NOT NULL CHECK (provisional IN (0, 1)),
    details_ct  BLOB NOT NULL,
    UNIQUE (year, seq)
) STRICT;
CREATE INDEX requests_by_subject ON requests (subject_id);

CREATE TABLE request_entries (
    request_id BLOB NOT NULL REFERENCES requests (request_id),
    entry_no   INTEGER NOT NULL CHECK (entry_no > 0),
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    step       TEXT NOT NULL,
    status     TEXT NOT NULL,
    due        TEXT,
    details_ct BLOB,
    PRIMARY KEY (request_id, entry_no)
) STRICT;
