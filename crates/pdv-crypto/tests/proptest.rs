//! Property tests: envelopes round-trip for arbitrary input and reject any single-byte change.

use pdv_crypto::{FieldAad, MasterKey};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn field_round_trip_and_mutation(
        plaintext in proptest::collection::vec(any::<u8>(), 0..512),
        table in ".{0,24}",
        row_id in proptest::collection::vec(any::<u8>(), 0..32),
        field in ".{0,24}",
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let key = MasterKey::generate().keyring().new_data_key();
        let aad = FieldAad { table: &table, row_id: &row_id, field: &field };
        let ciphertext = key.encrypt_field(&plaintext, &aad);
        let decrypted = key.decrypt_field(&ciphertext, &aad).unwrap();
        prop_assert_eq!(decrypted.as_slice(), plaintext.as_slice());

        let mut mutated = ciphertext.clone();
        mutated[position.index(ciphertext.len())] ^= flip;
        prop_assert!(key.decrypt_field(&mutated, &aad).is_err());
    }

    #[test]
    fn field_bound_to_its_aad(
        plaintext in proptest::collection::vec(any::<u8>(), 0..64),
        table in ".{0,12}",
        other_table in ".{0,12}",
        field in ".{0,12}",
    ) {
        prop_assume!(table != other_table);
        let key = MasterKey::generate().keyring().new_data_key();
        let aad = FieldAad { table: &table, row_id: b"row", field: &field };
        let ciphertext = key.encrypt_field(&plaintext, &aad);
        let moved = FieldAad { table: &other_table, ..aad };
        prop_assert!(key.decrypt_field(&ciphertext, &moved).is_err());
    }

    #[test]
    fn wrap_round_trip(subject in any::<[u8; 16]>(), plaintext in proptest::collection::vec(any::<u8>(), 0..64)) {
        let keyring = MasterKey::generate().keyring();
        let key = keyring.new_data_key();
        let aad = FieldAad { table: "t", row_id: &subject, field: "f" };
        let ciphertext = key.encrypt_field(&plaintext, &aad);
        let unwrapped = keyring.unwrap_data_key(&keyring.wrap_data_key(&key, &subject), &subject).unwrap();
        let decrypted = unwrapped.decrypt_field(&ciphertext, &aad).unwrap();
        prop_assert_eq!(decrypted.as_slice(), plaintext.as_slice());
    }
}
