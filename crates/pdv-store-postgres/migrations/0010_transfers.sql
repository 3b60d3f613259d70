-- pdvault schema, version 10: transfers of subjects' data to processors and recipients.
--
-- Every provision of a subject's data to a third party is journaled (seed clauses 4.4–4.8):
-- recipient, purpose, categories and the basis relied on, with the consent it rests on when the
-- basis is a consent; details such as a court decision's are ciphertext. A subject may withdraw
-- a consent for one of the recipients it names and keep it for the others; that withdrawal stops
-- transfers to that recipient at once. Both tables are the subject's: the sweep deletes them
-- with the rest of a destroyed subject's rows.
CREATE TABLE transfers (
    subject_id  bytea NOT NULL CHECK (octet_length(subject_id) = 16),
    transfer_id bytea NOT NULL CHECK (octet_length(transfer_id) = 16),
    at          bigint NOT NULL,
    recipient   text NOT NULL,
    purpose     text NOT NULL,
    categories  text[] NOT NULL,
    basis       text NOT NULL,
    basis_kind  text NOT NULL,
    consent_id  bytea CHECK (consent_id IS NULL OR octet_length(consent_id) = 16),
    details_ct  bytea,
    actor       text NOT NULL,
    PRIMARY KEY (subject_id, transfer_id)
);

CREATE TABLE recipient_withdrawals (
    subject_id bytea NOT NULL CHECK (octet_length(subject_id) = 16),
    consent_id bytea NOT NULL CHECK (octet_length(consent_id) = 16),
    recipient  text NOT NULL,
    at         bigint NOT NULL,
    channel    text NOT NULL,
    PRIMARY KEY (subject_id, consent_id, recipient)
);
