//! pdv-store-sqlite
