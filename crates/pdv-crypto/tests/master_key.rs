//! The master key: its encoding, derived identifiers, known-answer vectors and blind indexes.

use pdv_crypto::{CryptoError, FieldAad, MalformedKeyReason, MasterKey};

fn reason(result: Result<MasterKey, CryptoError>) -> MalformedKeyReason {
    match result {
        Err(CryptoError::MalformedKey { reason, .. }) => reason,
        other => panic!("expected MalformedKey, got {other:?}"),
    }
}

#[test]
fn encoded_round_trip() {
    let key = MasterKey::generate();
    let encoded = key.to_encoded();
    assert!(encoded.starts_with("pdv-mk1:"));
    assert_eq!(encoded.len(), "pdv-mk1:".len() + 44);
    let decoded = MasterKey::from_encoded(&format!("  {}\r\n", *encoded)).unwrap();
    assert_eq!(decoded.check_value(), key.check_value());
    assert_ne!(MasterKey::generate().to_encoded(), encoded);
}

#[test]
fn decoding_errors_name_the_problem() {
    let valid = MasterKey::generate().to_encoded();
    let body = &valid["pdv-mk1:".len()..];

    assert_eq!(
        reason(MasterKey::from_encoded(body)),
        MalformedKeyReason::WrongPrefix
    );
    assert_eq!(
        reason(MasterKey::from_encoded(&format!("pdv-mk2:{body}"))),
        MalformedKeyReason::WrongPrefix
    );
    assert_eq!(
        reason(MasterKey::from_encoded("pdv-mk1:not base64!")),
        MalformedKeyReason::BadBase64
    );
    assert_eq!(
        reason(MasterKey::from_encoded(&format!(
            "pdv-mk1:{} {}",
            &body[..20],
            &body[20..]
        ))),
        MalformedKeyReason::BadBase64
    );
    assert_eq!(
        reason(MasterKey::from_encoded("pdv-mk1:AAAA")),
        MalformedKeyReason::WrongLength { actual: 3 }
    );
    assert_eq!(
        reason(MasterKey::from_encoded("")),
        MalformedKeyReason::WrongPrefix
    );

    let message = MasterKey::from_encoded("pdv-mk1:AAAA")
        .unwrap_err()
        .to_string();
    assert!(message.contains("3 bytes instead of 32"), "{message}");
    let message = MasterKey::from_encoded(body).unwrap_err().to_string();
    assert!(message.contains("pdv-mk1:"), "{message}");
    // The message must not echo the key material it was given.
    assert!(!message.contains(body), "{message}");
}

#[test]
fn key_id_and_check_value_are_stable_and_distinct() {
    let key = MasterKey::generate();
    let same = MasterKey::from_encoded(&key.to_encoded()).unwrap();
    let other = MasterKey::generate();

    assert_eq!(key.key_id().len(), 16);
    assert_eq!(key.check_value().len(), 64);
    assert_eq!(key.key_id(), same.key_id());
    assert_eq!(key.check_value(), same.check_value());
    assert_ne!(key.key_id(), other.key_id());
    assert_ne!(key.check_value(), other.check_value());
    // The identifier and the check value are domain-separated, not prefixes of each other.
    assert!(!key.check_value().starts_with(&key.key_id()));

    assert!(key.matches_check_value(&key.check_value()));
    assert!(key.matches_check_value(&key.check_value().to_uppercase()));
    assert!(!key.matches_check_value(&other.check_value()));
    assert!(!key.matches_check_value(&key.check_value()[..62]));
    assert!(!key.matches_check_value("not hex"));
}

#[test]
fn known_answer_vectors() {
    // The expected values were computed independently with Python's hmac/hashlib and the
    // `cryptography` package's AES-GCM from the specification. They pin every derivation and both
    // envelope formats, so that a refactoring cannot silently lock existing databases out.
    let key =
        MasterKey::from_encoded("pdv-mk1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
    assert_eq!(key.key_id(), "1fd243c65ab0fc99");
    assert_eq!(
        key.check_value(),
        "e4b0ef598588e3a51bfc20ae2e2a0de43922121e31125329903a597fd8fb69b6"
    );
    let keyring = key.keyring();
    assert_eq!(
        hex::encode(keyring.blind_index("email", "a@b.ru")),
        "e9d1d519c92cbedc386ea32a766c28004b788e5c7966572db86caf71bebc4b50"
    );

    // A data key of 32 × 0x42 wrapped for subject 00..0f with an all-zero nonce.
    let wrapped = hex::decode(
        "01000000000000000000000000237c479d46ab2b5eb400074caa257a60fc04f9b8517ec3a07159a581fb4c7e\
         df5c8ad410cac7ee35962d5a127f69da19",
    )
    .unwrap();
    let subject: [u8; 16] = std::array::from_fn(|i| i as u8);
    let data_key = keyring.unwrap_data_key(&wrapped, &subject).unwrap();

    // "hello" encrypted under that data key for table "t", row [7, 8], field "f".
    let field = hex::decode("0109090909090909090909090955acc5063ec70da4c688b32407dd6393ab6528d279")
        .unwrap();
    let aad = FieldAad {
        table: "t",
        row_id: &[7, 8],
        field: "f",
    };
    assert_eq!(
        data_key.decrypt_field(&field, &aad).unwrap().as_slice(),
        b"hello"
    );
}

#[test]
fn blind_index_is_deterministic_and_domain_separated() {
    let master = MasterKey::generate();
    let keyring = master.keyring();
    let index = keyring.blind_index("email", "ivanov@example.ru");

    assert_eq!(index, keyring.blind_index("email", "ivanov@example.ru"));
    assert_eq!(
        index,
        master.keyring().blind_index("email", "ivanov@example.ru")
    );
    assert_ne!(index, keyring.blind_index("phone", "ivanov@example.ru"));
    assert_ne!(index, keyring.blind_index("email", "petrov@example.ru"));
    assert_ne!(
        index,
        MasterKey::generate()
            .keyring()
            .blind_index("email", "ivanov@example.ru")
    );
    // The separator keeps the kind/value boundary unambiguous.
    assert_ne!(
        keyring.blind_index("ab", "c"),
        keyring.blind_index("a", "bc")
    );
}
