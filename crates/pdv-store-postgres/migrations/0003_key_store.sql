-- pdvault schema, version 3, for PostgreSQL: the key store stands apart from the data (see the
-- SQLite migration of the same version for the reasoning). Subjects' wrapped data keys lose their
-- foreign key to subjects, so a restore can replace the data while the live keys stay, and
-- tombstones record which keys were destroyed, so an older backup never brings one back.

ALTER TABLE subject_keys DROP CONSTRAINT subject_keys_subject_id_fkey;
ALTER TABLE subject_keys ADD CONSTRAINT subject_keys_subject_id_check
    CHECK (octet_length(subject_id) = 16);

CREATE TABLE key_tombstones (
    subject_id  bytea PRIMARY KEY CHECK (octet_length(subject_id) = 16),
    shredded_at bigint NOT NULL
);
