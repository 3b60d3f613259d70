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
