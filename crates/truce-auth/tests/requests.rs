//! Signing and verifying requests end to end, through the public API only.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;
use truce_auth::{
    Action, AuthError, Authenticated, AuthorizationHeader, DEFAULT_MAX_SKEW_MS, KeyDirectory,
    Nonce, NonceWindow, RegisteredKey, RequestSigner, RequestVerifier, Role, canonical_request,
    require,
};
use truce_note::{Cosigner, KeyId, KeyName, NoteSigner};

const NOW: i64 = 1_742_256_000_000;
const PATH: &str = "/v1/reports?x=1";
const BODY: &[u8] = br#"{"id":"r1"}"#;
const NONCE: [u8; 16] = [7; 16];

fn name(text: &str) -> KeyName {
    KeyName::new(text).unwrap()
}

fn signer(text: &str, seed: u8) -> RequestSigner {
    RequestSigner::new(NoteSigner::from_seed(name(text), &[seed; 32])).unwrap()
}

fn registered(signer: &RequestSigner, role: Role) -> RegisteredKey {
    RegisteredKey {
        verifier: signer.verifier(),
        role,
        party: None,
        revoked_at_ms: None,
    }
}

/// Two monitors and a party liaison.
struct Setup {
    alice: RequestSigner,
    bob: RequestSigner,
    keys: BTreeMap<KeyName, RegisteredKey>,
    verifier: RequestVerifier,
    window: NonceWindow,
}

impl Setup {
    fn new() -> Self {
        let alice = signer("monitor.alice", 1);
        let bob = signer("monitor.bob", 2);
        let carol = signer("party-b.example/liaison", 3);
        let mut keys = BTreeMap::new();
        keys.insert(alice.name().clone(), registered(&alice, Role::Monitor));
        keys.insert(bob.name().clone(), registered(&bob, Role::Monitor));
        let mut liaison = registered(&carol, Role::Party);
        liaison.party = Some("party-b".into());
        keys.insert(carol.name().clone(), liaison);
        let verifier = RequestVerifier::default();
        let window = verifier.nonce_window();
        Self {
            alice,
            bob,
            keys,
            verifier,
            window,
        }
    }

    fn alice_header(&self) -> String {
        self.alice
            .authorization("POST", PATH, BODY, NOW, NONCE)
            .unwrap()
    }

    fn verify(
        &mut self,
        header: &str,
        method: &str,
        path: &str,
        body: &[u8],
        now: i64,
    ) -> Result<Authenticated, AuthError> {
        self.verifier.verify(
            header,
            method,
            path,
            body,
            now,
            &self.keys,
            &mut self.window,
        )
    }

    fn verify_alice(&mut self, header: &str) -> Result<Authenticated, AuthError> {
        self.verify(header, "POST", PATH, BODY, NOW)
    }
}

#[test]
fn fixed_test_vector_is_pinned() {
    let signer = signer("party-a.example/liaison", 1);
    assert_eq!(
        signer.verifier().to_vkey(),
        "party-a.example/liaison+98dfabf3+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c"
    );
    let nonce: [u8; 16] = std::array::from_fn(|index| u8::try_from(index).unwrap());
    let text = canonical_request(
        "POST",
        PATH,
        signer.name(),
        signer.verifier().key_id(),
        NOW,
        &Nonce::new(nonce),
        BODY,
    )
    .unwrap();
    assert_eq!(
        text,
        "truce-request/1\n\
         POST\n\
         /v1/reports?x=1\n\
         party-a.example/liaison\n\
         98dfabf3\n\
         1742256000000\n\
         000102030405060708090a0b0c0d0e0f\n\
         920e5591b811bf1bd16faa41037aebddda98a2a15f1a1d468e04c23122733e77\n"
    );
    // Computed once with this crate and checked against an independent Ed25519
    // implementation; pinned so that the canonical encoding cannot drift.
    assert_eq!(
        signer
            .authorization("POST", PATH, BODY, NOW, nonce)
            .unwrap(),
        "Truce-Ed25519 key=party-a.example/liaison, id=98dfabf3, ts=1742256000000, \
         nonce=000102030405060708090a0b0c0d0e0f, \
         sig=alcyv/fVgMUSO0vICkKbb+iZABVNkraRo5FTt3pEZ7mCj6eZ5FveGYXIqRjQcURNInmxpEU6bdZrniiDXlkQBw=="
    );
}

#[test]
fn a_signed_request_verifies_once() {
    let mut setup = Setup::new();
    let header = setup.alice_header();
    let who = setup.verify_alice(&header).unwrap();
    assert_eq!(
        who,
        Authenticated {
            key: name("monitor.alice"),
            role: Role::Monitor,
            party: None,
            timestamp_ms: NOW,
            nonce: Nonce::new(NONCE),
        }
    );
    assert_eq!(setup.window.len(), 1);
    let replay = setup.verify_alice(&header).unwrap_err();
    assert_eq!(
        replay,
        AuthError::ReplayedNonce {
            name: name("monitor.alice"),
            nonce: Nonce::new(NONCE),
        }
    );
    assert_eq!(replay.status(), 401);
    assert_eq!(replay.field(), Some("nonce"));
}

#[test]
fn the_same_nonce_under_another_key_passes() {
    let mut setup = Setup::new();
    let header = setup.alice_header();
    setup.verify_alice(&header).unwrap();
    let bobs = setup
        .bob
        .authorization("POST", PATH, BODY, NOW, NONCE)
        .unwrap();
    assert_eq!(setup.verify_alice(&bobs).unwrap().key, name("monitor.bob"));
}

#[test]
fn party_and_role_come_from_the_directory() {
    let mut setup = Setup::new();
    let carol = signer("party-b.example/liaison", 3);
    let header = carol
        .authorization("GET", "/v1/findings", b"", NOW, NONCE)
        .unwrap();
    let who = setup
        .verify(&header, "GET", "/v1/findings", b"", NOW)
        .unwrap();
    assert_eq!(who.role, Role::Party);
    assert_eq!(who.party.as_deref(), Some("party-b"));
    assert_eq!(require(who.role, Action::ReadFindings), Ok(()));
    let error = require(who.role, Action::SubmitCoverage).unwrap_err();
    assert_eq!(error.status(), 403);
}

#[test]
fn tampering_with_any_signed_component_fails() {
    let setup = Setup::new();
    let header = setup.alice_header();
    let parsed = AuthorizationHeader::parse(&header).unwrap();
    let alice_id = parsed.key_id();
    let bob_id = setup.bob.verifier().key_id();
    let resigned = |key: KeyName, id: KeyId, ts: i64, nonce: [u8; 16]| {
        AuthorizationHeader::new(key, id, ts, Nonce::new(nonce), *parsed.signature())
            .unwrap()
            .to_string()
    };
    let mut flipped = *parsed.signature();
    flipped[10] ^= 1;
    let flipped =
        AuthorizationHeader::new(parsed.key().clone(), alice_id, NOW, parsed.nonce(), flipped)
            .unwrap()
            .to_string();
    let mut other_nonce = NONCE;
    other_nonce[15] ^= 0x80;
    let cases: [(&str, String, &str, &str, &[u8]); 8] = [
        ("method", header.clone(), "PUT", PATH, BODY),
        ("path", header.clone(), "POST", "/v1/reports?x=2", BODY),
        ("body", header.clone(), "POST", PATH, br#"{"id":"r2"}"#),
        ("empty body", header.clone(), "POST", PATH, b""),
        (
            "timestamp",
            resigned(name("monitor.alice"), alice_id, NOW + 1, NONCE),
            "POST",
            PATH,
            BODY,
        ),
        (
            "nonce",
            resigned(name("monitor.alice"), alice_id, NOW, other_nonce),
            "POST",
            PATH,
            BODY,
        ),
        (
            "key",
            resigned(name("monitor.bob"), bob_id, NOW, NONCE),
            "POST",
            PATH,
            BODY,
        ),
        ("signature", flipped, "POST", PATH, BODY),
    ];
    for (what, header, method, path, body) in cases {
        let mut setup = Setup::new();
        let error = setup.verify(&header, method, path, body, NOW).unwrap_err();
        assert!(
            matches!(error, AuthError::BadSignature { .. }),
            "{what}: {error:?}"
        );
        assert_eq!(error.status(), 401);
        assert_eq!(error.field(), Some("sig"));
        assert!(
            setup.window.is_empty(),
            "{what}: a forgery entered the window"
        );
    }
}

#[test]
fn the_method_is_compared_in_upper_case() {
    let mut setup = Setup::new();
    let header = setup.alice_header();
    assert!(setup.verify(&header, "post", PATH, BODY, NOW).is_ok());
}

#[test]
fn skew_up_to_the_maximum_passes_either_way() {
    let max = i64::try_from(DEFAULT_MAX_SKEW_MS).unwrap();
    for (now, accepted) in [
        (NOW + max, true),
        (NOW - max, true),
        (NOW + max + 1, false),
        (NOW - max - 1, false),
    ] {
        let mut setup = Setup::new();
        let header = setup.alice_header();
        let result = setup.verify(&header, "POST", PATH, BODY, now);
        if accepted {
            assert!(result.is_ok(), "{now}: {result:?}");
        } else {
            let error = result.unwrap_err();
            assert_eq!(
                error,
                AuthError::ClockSkew {
                    skew_ms: DEFAULT_MAX_SKEW_MS + 1,
                    max_ms: DEFAULT_MAX_SKEW_MS
                }
            );
            assert_eq!((error.status(), error.field()), (401, Some("ts")));
        }
    }
    // A custom skew.
    let mut setup = Setup::new();
    setup.verifier = RequestVerifier::new(10);
    setup.window = setup.verifier.nonce_window();
    assert_eq!(setup.window.max_skew_ms(), 10);
    let header = setup.alice_header();
    assert!(matches!(
        setup.verify(&header, "POST", PATH, BODY, NOW + 11),
        Err(AuthError::ClockSkew {
            skew_ms: 11,
            max_ms: 10
        })
    ));
    assert!(setup.verify(&header, "POST", PATH, BODY, NOW + 10).is_ok());
}

#[test]
fn revoked_keys_are_refused_even_for_requests_signed_before() {
    for (revoked_at, now, refused) in [
        // Revoked before the request was signed.
        (NOW - 1, NOW, true),
        // Revoked at the very millisecond of the timestamp.
        (NOW, NOW, true),
        // Signed before the revocation, arriving after it.
        (NOW + 10, NOW + 20, true),
        // Revocation scheduled for later.
        (NOW + 30, NOW + 20, false),
    ] {
        let mut setup = Setup::new();
        if let Some(key) = setup.keys.get_mut(&name("monitor.alice")) {
            key.revoked_at_ms = Some(revoked_at);
        }
        let header = setup.alice_header();
        let result = setup.verify(&header, "POST", PATH, BODY, now);
        if refused {
            let error = result.unwrap_err();
            assert_eq!(
                error,
                AuthError::Revoked {
                    name: name("monitor.alice"),
                    revoked_at_ms: revoked_at
                }
            );
            assert_eq!((error.status(), error.field()), (401, Some("key")));
        } else {
            assert!(result.is_ok(), "{revoked_at} {now}: {result:?}");
        }
    }
}

#[test]
fn unknown_keys_and_wrong_key_ids_are_refused() {
    let mut setup = Setup::new();
    let stranger = signer("stranger", 9);
    let header = stranger
        .authorization("POST", PATH, BODY, NOW, NONCE)
        .unwrap();
    let error = setup.verify_alice(&header).unwrap_err();
    assert_eq!(
        error,
        AuthError::UnknownKey {
            name: name("stranger")
        }
    );
    assert_eq!(
        (error.status(), error.problem_type(), error.field()),
        (401, "unknown-key", Some("key"))
    );

    // Alice's name with another key's id.
    let header = setup.alice_header().replace(
        &format!("id={}", setup.alice.verifier().key_id()),
        "id=00000000",
    );
    let error = setup.verify_alice(&header).unwrap_err();
    assert_eq!(
        error,
        AuthError::KeyIdMismatch {
            name: name("monitor.alice"),
            stated: KeyId::new(0),
            registered: setup.alice.verifier().key_id(),
        }
    );
    assert_eq!((error.status(), error.field()), (401, Some("id")));

    // A cosignature key (type 0x04) registered under the name, same seed:
    // its key id differs, and nothing signed with the note key is accepted.
    let cosigner = Cosigner::from_seed(name("monitor.alice"), &[1; 32]);
    if let Some(key) = setup.keys.get_mut(&name("monitor.alice")) {
        key.verifier = cosigner.verifier();
    }
    let error = setup.verify_alice(&setup.alice_header()).unwrap_err();
    assert!(
        matches!(error, AuthError::KeyIdMismatch { .. }),
        "{error:?}"
    );
}

#[test]
fn missing_and_malformed_headers_and_requests_are_refused() {
    let mut setup = Setup::new();
    let error = setup.verify_alice("").unwrap_err();
    assert_eq!(error, AuthError::MissingHeader);
    assert_eq!(
        (error.status(), error.problem_type(), error.field()),
        (401, "missing-authorization", None)
    );

    let header = setup.alice_header();
    let cases = [
        (header.replace("ts=", "ts=x"), "POST", PATH, "ts"),
        (header.clone(), "PO ST", PATH, "method"),
        (header.clone(), "POST", "v1/reports", "path"),
        (header.clone(), "POST", "/v1/reports\n", "path"),
        (format!("{header}, realm=x"), "POST", PATH, "realm"),
    ];
    for (header, method, path, parameter) in cases {
        let error = setup.verify(&header, method, path, BODY, NOW).unwrap_err();
        assert!(
            matches!(&error, AuthError::Malformed { parameter: p, .. } if p == parameter),
            "{error:?}"
        );
        assert_eq!(error.status(), 400);
        assert_eq!(error.problem_type(), "malformed-authorization");
        assert_eq!(error.field(), Some(parameter));
    }
    assert!(setup.window.is_empty());
}

#[test]
fn checks_run_in_the_documented_order() {
    let mut setup = Setup::new();
    // A malformed request is reported before an unknown key.
    let stranger = signer("stranger", 9)
        .authorization("POST", PATH, BODY, NOW, NONCE)
        .unwrap();
    assert!(matches!(
        setup.verify(&stranger, "POST", "nopath", BODY, NOW),
        Err(AuthError::Malformed { .. })
    ));
    // Revocation before skew.
    if let Some(key) = setup.keys.get_mut(&name("monitor.bob")) {
        key.revoked_at_ms = Some(0);
    }
    let bob = setup
        .bob
        .authorization("POST", PATH, BODY, NOW, NONCE)
        .unwrap();
    assert!(matches!(
        setup.verify(&bob, "POST", PATH, BODY, NOW + 10_000_000),
        Err(AuthError::Revoked { .. })
    ));
    // Skew before the signature.
    let header = setup.alice_header();
    assert!(matches!(
        setup.verify(&header, "PUT", PATH, BODY, NOW + 10_000_000),
        Err(AuthError::ClockSkew { .. })
    ));
    // The signature before the nonce: a forged replay is a bad signature and
    // does not touch the window.
    setup.verify_alice(&header).unwrap();
    assert!(matches!(
        setup.verify(&header, "PUT", PATH, BODY, NOW),
        Err(AuthError::BadSignature { .. })
    ));
    assert_eq!(setup.window.len(), 1);
}

#[test]
fn every_error_has_a_distinct_problem_type() {
    let errors = [
        AuthError::MissingHeader,
        AuthError::Malformed {
            parameter: "ts".into(),
            reason: "r".into(),
        },
        AuthError::UnknownKey { name: name("a") },
        AuthError::KeyIdMismatch {
            name: name("a"),
            stated: KeyId::new(1),
            registered: KeyId::new(2),
        },
        AuthError::Revoked {
            name: name("a"),
            revoked_at_ms: 5,
        },
        AuthError::ClockSkew {
            skew_ms: 2,
            max_ms: 1,
        },
        AuthError::BadSignature { name: name("a") },
        AuthError::ReplayedNonce {
            name: name("a"),
            nonce: Nonce::new([0; 16]),
        },
        AuthError::Forbidden {
            role: Role::Public,
            action: Action::Backup,
        },
    ];
    let types: HashSet<&str> = errors.iter().map(AuthError::problem_type).collect();
    assert_eq!(types.len(), errors.len());
    for error in &errors {
        let message = error.to_string();
        assert!(
            message.starts_with(|c: char| c.is_ascii_lowercase()),
            "{message}"
        );
        assert!(
            error
                .problem_type()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-'),
            "{}",
            error.problem_type()
        );
    }
    assert_eq!(
        errors[3].to_string(),
        "key id 00000001 does not match the registered key \"a\", whose id is 00000002"
    );
}

/// A directory that is not a map, as a server with a database would write.
struct OneKey(RegisteredKey);

impl KeyDirectory for OneKey {
    fn lookup(&self, name: &KeyName) -> Option<RegisteredKey> {
        (self.0.verifier.name() == name).then(|| self.0.clone())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_request_round_trips_and_any_other_body_fails(
        method in "[A-Z]{1,8}",
        path in "/[!-~]{0,40}",
        body in proptest::collection::vec(any::<u8>(), 0..200),
        other_body in proptest::collection::vec(any::<u8>(), 0..200),
        timestamp in 0i64..4_000_000_000_000,
        nonce in any::<[u8; 16]>(),
        seed in any::<[u8; 32]>(),
    ) {
        let key = NoteSigner::from_seed(name("submitter"), &seed);
        let signer = RequestSigner::new(key).unwrap();
        let directory = OneKey(registered(&signer, Role::Monitor));
        let verifier = RequestVerifier::default();
        let header = signer.authorization(&method, &path, &body, timestamp, nonce).unwrap();
        let mut window = verifier.nonce_window();
        let who = verifier
            .verify(&header, &method, &path, &body, timestamp, &directory, &mut window)
            .unwrap();
        prop_assert_eq!(who.nonce, Nonce::new(nonce));
        if other_body != body {
            let mut fresh = verifier.nonce_window();
            let refused = verifier.verify(
                &header, &method, &path, &other_body, timestamp, &directory, &mut fresh,
            );
            prop_assert!(matches!(refused, Err(AuthError::BadSignature { .. })), "{:?}", refused);
        }
    }
}
