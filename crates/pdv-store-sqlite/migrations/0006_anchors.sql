-- pdvault schema, version 6: the events retention periods count from (seed section 8): an
-- order fulfilled, a claim closed, an account deleted, a contract terminated, a purpose achieved,
-- a communication ended, a consent withdrawn. `scope` names the order or claim the event belongs
-- to, when a rule counts per order; it is the operator's reference, kept as given. `purpose` names
-- the purpose a `purpose_achieved` event is about. Deleted with
-- the rest of the subject's data on destruction.

CREATE TABLE anchor_events (
    subject_id  BLOB NOT NULL REFERENCES subjects (subject_id),
    event_id    BLOB NOT NULL CHECK (length(event_id) = 16),
    event       TEXT NOT NULL,
    scope       TEXT,
    purpose     TEXT,
    occurred_on TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (subject_id, event_id)
) STRICT;
