//! The two backends must carry the same schema versions, so that a vault moved from one to the
//! other, or a `pdv migrate` run on either, means the same thing.

#[test]
fn postgres_and_sqlite_have_the_same_migration_versions() {
    assert_eq!(
        pdv_store_postgres::migration_versions(),
        pdv_store_sqlite::migration_versions(),
        "every migration must exist for both backends, with the same version number"
    );
}

/// Backups name the schema version they were made with; it must be the newest migration.
#[test]
fn the_backup_schema_version_is_the_newest_migration() {
    assert_eq!(
        pdv_store_sqlite::migration_versions().last().copied(),
        Some(pdv_store::backup::SCHEMA_VERSION),
        "raise pdv_store::backup::SCHEMA_VERSION with every migration"
    );
}
