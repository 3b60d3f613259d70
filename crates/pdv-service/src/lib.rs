//! pdv-service
