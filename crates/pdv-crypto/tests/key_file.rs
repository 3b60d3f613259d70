//! The master key file: creation mode, refusal to overwrite, permission checks and parse errors.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::PermissionsExt;

use pdv_crypto::{CryptoError, MalformedKeyReason, MasterKey};

fn reason(result: Result<MasterKey, CryptoError>) -> MalformedKeyReason {
    match result {
        Err(CryptoError::MalformedKey { reason, .. }) => reason,
        other => panic!("expected MalformedKey, got {other:?}"),
    }
}

#[test]
fn key_file_round_trip_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let key = MasterKey::generate();
    key.write_new_file(&path).unwrap();

    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let contents = fs::read_to_string(&path).unwrap();
    assert_eq!(
        contents,
        format!(
            "# pdvault master key — keep secret, back up separately from the database\n{}\n",
            *key.to_encoded()
        )
    );
    assert_eq!(MasterKey::read_file(&path).unwrap().key_id(), key.key_id());
}

#[test]
fn write_new_file_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let first = MasterKey::generate();
    first.write_new_file(&path).unwrap();
    let err = MasterKey::generate().write_new_file(&path).unwrap_err();
    assert!(
        matches!(&err, CryptoError::KeyFileExists(p) if *p == path),
        "{err:?}"
    );
    assert_eq!(
        MasterKey::read_file(&path).unwrap().key_id(),
        first.key_id()
    );
}

#[test]
fn key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    MasterKey::generate().write_new_file(&path).unwrap();

    for mode in [0o644, 0o640, 0o604, 0o620] {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let err = MasterKey::read_file(&path).unwrap_err();
        assert!(
            matches!(&err, CryptoError::KeyFilePermissions { path: p, mode: m } if *p == path && *m == mode),
            "{err:?}"
        );
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
    assert!(MasterKey::read_file(&path).is_ok());
}

#[test]
fn key_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    assert!(
        matches!(MasterKey::read_file(&path), Err(CryptoError::KeyFileMissing(p)) if p == path)
    );

    let write = |contents: &[u8]| {
        let _ = fs::remove_file(&path);
        fs::write(&path, contents).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        MasterKey::read_file(&path)
    };
    let key = MasterKey::generate().to_encoded();

    // Comments, blank lines and surrounding whitespace are ignored.
    assert!(write(format!("\n# comment\n\n  {}  \n# trailing\n", *key).as_bytes()).is_ok());
    assert_eq!(
        reason(write(b"# only a comment\n\n")),
        MalformedKeyReason::NoKeyLine
    );
    assert_eq!(
        reason(write(format!("{}\n{}\n", *key, *key).as_bytes())),
        MalformedKeyReason::MultipleKeyLines { count: 2 }
    );
    assert_eq!(
        reason(write(b"pdv-mk1:AAAA\n")),
        MalformedKeyReason::WrongLength { actual: 3 }
    );
    assert_eq!(reason(write(b"\xff\xfe\n")), MalformedKeyReason::NotUtf8);

    let err = write(b"oops\n").unwrap_err();
    assert!(matches!(&err, CryptoError::MalformedKey { path: Some(p), .. } if *p == path));
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}
