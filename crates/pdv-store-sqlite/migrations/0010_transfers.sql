-- pdvault schema, version 10: transfers of subjects' data to processors and recipients.
--
-- Every provision of a subject's data to a third party is journaled (seed clauses 4.4–4.8):
-- recipient, purpose, categories and the basis relied on, with the consent it rests on when the
-- basis is a consent; details such as a court decision's are ciphertext. A subject may withdraw
-- a consent for one of the recipients it names and keep it for the others; that withdrawal stops
-- transfers to that recipient at once. Both tables are the subject's: the sweep deletes them
-- with the rest of a destroyed subject's rows.
CREATE TABLE transfers (
    subject_id  BLOB NOT NULL CHECK (length(subject_id) = 16),
    transfer_id BLOB NOT NULL CHECK (length(transfer_id) = 16),
    at          INTEGER NOT NULL,
    recipient   TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    categories  TEXT NOT NULL,
    basis       TEXT NOT NULL,
    basis_kind  TEXT NOT NULL,
    consent_id  BLOB CHECK (consent_id IS NULL OR length(consent_id) = 16),
    details_ct  BLOB,
    actor       TEXT NOT NULL,
    PRIMARY KEY (subject_id, transfer_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE recipient_withdrawals (
    subject_id BLOB NOT NULL CHECK (length(subject_id) = 16),
    consent_id BLOB NOT NULL CHECK (length(consent_id) = 16),
    recipient  TEXT NOT NULL,
    at         INTEGER NOT NULL,
    channel    TEXT NOT NULL,
    PRIMARY KEY (subject_id, consent_id, recipient)
) STRICT, WITHOUT ROWID;
