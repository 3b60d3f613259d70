//! pdv-web
