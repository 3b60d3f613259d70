//! The storage conformance kit on PostgreSQL, each check on a throwaway database of its own.
//! Skipped with a note on stderr when `PDV_TEST_PG_URL` is not set, and failing instead in CI.

use pdv_store_postgres::testing::TestDatabase;

pdv_store::conformance_tests!(optional TestDatabase::create);
