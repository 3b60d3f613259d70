//! pdv-store
