//! Identifiers of the things pdvault keeps. They are UUIDs (v7 when the service makes them);
//! the newtypes keep a consent id from being passed where a subject id is expected.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
            /// Parses the textual UUID form used in URLs and JSON.
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::try_parse(s).ok().map(Self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A data subject (субъект персональных данных).
    SubjectId
);
id_type!(
    /// One record of personal data: the fields of one category entered together.
    RecordId
);
id_type!(
    /// One consent document given by a subject.
    ConsentId
);
id_type!(
    /// A contract with the subject, the basis of contract purposes.
    ContractId
);
id_type!(
    /// A block placed on a subject's data.
    BlockId
);
id_type!(
    /// One provision of a subject's data to a processor or recipient.
    TransferId
);
