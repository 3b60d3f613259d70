//! Field envelopes and data-key wrapping: round trips and every way a ciphertext can be misused.

use pdv_crypto::{CryptoError, FieldAad, MasterKey};

const AAD: FieldAad<'static> = FieldAad {
    table: "subjects",
    row_id: &[1, 2, 3, 4],
    field: "email",
};
const SUBJECT: [u8; 16] = [7; 16];

#[test]
fn field_round_trip() {
    let key = MasterKey::generate().keyring().new_data_key();
    for plaintext in [&b""[..], b"x", "иванов@example.ru".as_bytes(), &[0u8; 1000]] {
        let ciphertext = key.encrypt_field(plaintext, &AAD);
        assert_eq!(ciphertext.len(), 1 + 12 + plaintext.len() + 16);
        assert_eq!(
            key.decrypt_field(&ciphertext, &AAD).unwrap().as_slice(),
            plaintext
        );
    }
}

#[test]
fn encryption_is_randomised() {
    let key = MasterKey::generate().keyring().new_data_key();
    assert_ne!(
        key.encrypt_field(b"same", &AAD),
        key.encrypt_field(b"same", &AAD)
    );
}

#[test]
fn flipping_any_byte_is_detected() {
    let key = MasterKey::generate().keyring().new_data_key();
    let ciphertext = key.encrypt_field(b"+7 900 123-45-67", &AAD);
    for position in 0..ciphertext.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut mutated = ciphertext.clone();
            mutated[position] ^= flip;
            let err = key.decrypt_field(&mutated, &AAD).unwrap_err();
            // The version byte is reported as unknown rather than tampered, so that a ciphertext
            // from a newer build gets an actionable message.
            match (position, err) {
                (0, CryptoError::UnsupportedVersion(v)) => assert_eq!(v, 1 ^ flip),
                (1.., CryptoError::Tampered) => {}
                (_, other) => panic!("byte {position} flipped with {flip:#x}: {other:?}"),
            }
        }
    }
}

#[test]
fn moving_a_ciphertext_elsewhere_is_detected() {
    let key = MasterKey::generate().keyring().new_data_key();
    let ciphertext = key.encrypt_field(b"secret", &AAD);
    let elsewhere = [
        FieldAad {
            row_id: &[1, 2, 3, 5],
            ..AAD
        },
        FieldAad {
            table: "contacts",
            ..AAD
        },
        FieldAad {
            field: "phone",
            ..AAD
        },
        // Shifting bytes between parts must also change the associated data.
        FieldAad {
            table: "subjectse",
            field: "mail",
            ..AAD
        },
    ];
    for aad in elsewhere {
        assert!(
            matches!(
                key.decrypt_field(&ciphertext, &aad),
                Err(CryptoError::Tampered)
            ),
            "{aad:?}"
        );
    }
}

#[test]
fn another_data_key_cannot_decrypt() {
    let keyring = MasterKey::generate().keyring();
    let ciphertext = keyring.new_data_key().encrypt_field(b"secret", &AAD);
    let other = keyring.new_data_key();
    assert!(matches!(
        other.decrypt_field(&ciphertext, &AAD),
        Err(CryptoError::Tampered)
    ));
}

#[test]
fn truncated_or_extended_input_is_an_error() {
    let key = MasterKey::generate().keyring().new_data_key();
    let ciphertext = key.encrypt_field(b"secret", &AAD);
    for len in 0..ciphertext.len() {
        assert!(matches!(
            key.decrypt_field(&ciphertext[..len], &AAD),
            Err(CryptoError::Tampered)
        ));
    }
    let mut extended = ciphertext.clone();
    extended.push(0);
    assert!(matches!(
        key.decrypt_field(&extended, &AAD),
        Err(CryptoError::Tampered)
    ));
}

#[test]
fn data_key_wrap_round_trip() {
    let keyring = MasterKey::generate().keyring();
    let key = keyring.new_data_key();
    let wrapped = keyring.wrap_data_key(&key, &SUBJECT);
    assert_eq!(wrapped.len(), 1 + 12 + 32 + 16);
    assert_eq!(wrapped[0], 1);
    let unwrapped = keyring.unwrap_data_key(&wrapped, &SUBJECT).unwrap();
    // Equal keys are observable through decryption; the key bytes themselves are never exposed.
    let ciphertext = key.encrypt_field(b"payload", &AAD);
    assert_eq!(
        unwrapped
            .decrypt_field(&ciphertext, &AAD)
            .unwrap()
            .as_slice(),
        b"payload"
    );
}

#[test]
fn unwrap_fails_for_another_subject_or_master_key() {
    let master = MasterKey::generate();
    let keyring = master.keyring();
    let wrapped = keyring.wrap_data_key(&keyring.new_data_key(), &SUBJECT);

    let mut other_subject = SUBJECT;
    other_subject[15] ^= 1;
    assert!(matches!(
        keyring.unwrap_data_key(&wrapped, &other_subject),
        Err(CryptoError::Tampered)
    ));

    let other_keyring = MasterKey::generate().keyring();
    assert!(matches!(
        other_keyring.unwrap_data_key(&wrapped, &SUBJECT),
        Err(CryptoError::Tampered)
    ));

    // The same master key, reloaded from its encoding, still unwraps.
    let reloaded = MasterKey::from_encoded(&master.to_encoded())
        .unwrap()
        .keyring();
    assert!(reloaded.unwrap_data_key(&wrapped, &SUBJECT).is_ok());
}

#[test]
fn unwrap_rejects_tampering_truncation_and_unknown_versions() {
    let keyring = MasterKey::generate().keyring();
    let wrapped = keyring.wrap_data_key(&keyring.new_data_key(), &SUBJECT);
    for position in 1..wrapped.len() {
        let mut mutated = wrapped.clone();
        mutated[position] ^= 0x01;
        assert!(matches!(
            keyring.unwrap_data_key(&mutated, &SUBJECT),
            Err(CryptoError::Tampered)
        ));
    }
    for len in 0..wrapped.len() {
        assert!(matches!(
            keyring.unwrap_data_key(&wrapped[..len], &SUBJECT),
            Err(CryptoError::Tampered)
        ));
    }
    let mut future = wrapped.clone();
    future[0] = 2;
    assert!(matches!(
        keyring.unwrap_data_key(&future, &SUBJECT),
        Err(CryptoError::UnsupportedVersion(2))
    ));
}

#[test]
fn a_data_key_wrapped_under_a_field_aad_is_not_a_field() {
    // Wrapped keys and fields share a layout but use different associated-data domains, so one can
    // never be accepted as the other.
    let keyring = MasterKey::generate().keyring();
    let key = keyring.new_data_key();
    let ciphertext = key.encrypt_field(&[0u8; 32], &AAD);
    assert!(keyring.unwrap_data_key(&ciphertext, &SUBJECT).is_err());
}

#[test]
fn debug_output_is_redacted() {
    let master = MasterKey::generate();
    let keyring = master.keyring();
    let data_key = keyring.new_data_key();
    assert_eq!(
        format!("{master:?}"),
        format!("MasterKey(<redacted>, id={})", master.key_id())
    );
    assert_eq!(format!("{keyring:?}"), "Keyring(<redacted>)");
    assert_eq!(format!("{data_key:?}"), "DataKey(<redacted>)");
}

#[test]
fn audit_head_seal_binds_sequence_hash_and_key() {
    let master = pdv_crypto::MasterKey::generate();
    let ring = master.keyring();
    let hash = [7u8; 32];
    let seal = ring.seal_audit_head(42, &hash);
    assert!(ring.verify_audit_seal(42, &hash, &seal));
    assert!(
        !ring.verify_audit_seal(41, &hash, &seal),
        "another sequence number must not verify"
    );
    assert!(
        !ring.verify_audit_seal(42, &[8u8; 32], &seal),
        "another head hash must not verify"
    );
    assert!(
        !ring.verify_audit_seal(42, &hash, &seal[..31]),
        "a truncated seal must not verify"
    );
    let other = pdv_crypto::MasterKey::generate().keyring();
    assert!(
        !other.verify_audit_seal(42, &hash, &seal),
        "a seal from another key must not verify"
    );
    assert_ne!(
        ring.seal_audit_head(42, &hash),
        ring.blind_index("audit", "42"),
        "the seal key is separate from the blind-index key"
    );
}
