//! Checks against the shared signed-note, checkpoint and cosignature vectors.
//!
//! The vectors live outside the repository, in `shared/testdata/tlog/` beside
//! the work tree (`CARGO_MANIFEST_DIR/../../../shared/testdata/tlog`), and are
//! never copied into the project: when the file is missing each test prints
//! `skipped: <path> not found` and passes. When it is present, every test
//! asserts the exact number of cases it checked, so a loop that silently
//! checks fewer cases fails.

// Test helpers may unwrap: a panic there is a test failure.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use truce_merkle::{Hash, leaf_hash, verify_inclusion};
use truce_note::{
    Checkpoint, Cosigner, KeyId, KeyName, Note, NoteError, NoteSigner, NoteVerifyError, OpenError,
    SignatureType, TimestampedSignature, Verifier, open,
};

fn vectors() -> Option<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/tlog/signed-note-vectors.json");
    if !path.is_file() {
        println!("skipped: {} not found", path.display());
        return None;
    }
    let text = fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    Some(serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display())))
}

fn items<'a>(vectors: &'a Value, field: &str) -> &'a [Value] {
    vectors[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} is not an array"))
}

fn text<'a>(case: &'a Value, field: &str) -> &'a str {
    case[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {case}"))
}

fn verifiers(case: &Value) -> Vec<Verifier> {
    case["vkeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|vkey| Verifier::from_vkey(vkey.as_str().unwrap()).unwrap())
        .collect()
}

fn seed_of(skey: &str) -> [u8; 32] {
    // PRIVATE+KEY+<name>+<id>+<base64>: the base64 may itself contain '+'.
    let encoded = skey.splitn(5, '+').nth(4).unwrap();
    let bytes = STANDARD.decode(encoded).unwrap();
    assert_eq!(bytes[0], 1, "{skey}");
    bytes[1..].try_into().unwrap()
}

#[test]
fn verifier_keys() {
    let Some(vectors) = vectors() else { return };
    let mut checked = 0;
    for case in items(&vectors, "verifier_keys") {
        let vkey = text(case, "vkey");
        let verifier = Verifier::from_vkey(vkey).unwrap_or_else(|err| panic!("{vkey}: {err}"));
        let want_type = case["type"].as_u64().unwrap();
        assert_eq!(
            u64::from(verifier.signature_type().byte()),
            want_type,
            "{vkey}"
        );
        assert_eq!(verifier.to_vkey(), vkey);
        // The key id is the one the spec computes from name, type and key.
        let computed = KeyId::compute(
            verifier.name(),
            verifier.signature_type().byte(),
            verifier.public_key(),
        );
        assert_eq!(computed, verifier.key_id());
        // Changing the name breaks the key id.
        let renamed = format!("x{vkey}");
        assert!(Verifier::from_vkey(&renamed).is_err(), "{renamed}");
        checked += 1;
    }
    assert_eq!(checked, 9);
}

#[test]
fn signing_keys() {
    let Some(vectors) = vectors() else { return };
    let mut checked = 0;
    let mut cosigner_keys = 0;
    for case in items(&vectors, "signing_keys_TEST_ONLY") {
        let skey = text(case, "skey");
        let signer = NoteSigner::from_skey(skey).unwrap_or_else(|err| panic!("{skey}: {err}"));
        assert_eq!(signer.to_skey(), skey);
        assert_eq!(signer.verifier().to_vkey(), text(case, "vkey"));
        assert_eq!(
            signer.verifier(),
            Verifier::from_vkey(text(case, "vkey")).unwrap()
        );
        let cosigner_field = "cosignature_vkey_when_named_example.com/truce-test-witness";
        if let Some(want) = case[cosigner_field].as_str() {
            let cosigner = Cosigner::from_seed(
                KeyName::new("example.com/truce-test-witness").unwrap(),
                &seed_of(skey),
            );
            assert_eq!(cosigner.verifier().to_vkey(), want);
            assert_eq!(
                cosigner.verifier().signature_type(),
                SignatureType::CosignatureV1
            );
            cosigner_keys += 1;
        }
        checked += 1;
    }
    assert_eq!((checked, cosigner_keys), (3, 1));
}

#[test]
fn sign_cases() {
    let Some(vectors) = vectors() else { return };
    let mut notes = 0;
    let mut cosignatures = 0;
    for case in items(&vectors, "sign_cases") {
        if let Some(skey) = case["skey"].as_str() {
            let signer = NoteSigner::from_skey(skey).unwrap();
            let note = signer.sign_note(text(case, "text")).unwrap();
            assert_eq!(
                note.to_string(),
                text(case, "want_note"),
                "{}",
                case["desc"]
            );
            let verified = open(&note.to_bytes(), &[signer.verifier()]).unwrap();
            assert_eq!(verified.verified().len(), 1);
            notes += 1;
        } else {
            let cosigner = Cosigner::from_seed(
                KeyName::new(text(case, "cosigner_name")).unwrap(),
                &seed_of(text(case, "cosigner_skey")),
            );
            let timestamp = case["timestamp"].as_u64().unwrap();
            let body = text(case, "checkpoint_body");
            assert_eq!(
                truce_note::cosignature::signed_message(timestamp, body),
                text(case, "want_cosigned_message").as_bytes()
            );
            let checkpoint = Checkpoint::from_text(body).unwrap();
            assert_eq!(checkpoint.to_text(), body);
            let line = cosigner.cosign(&checkpoint, timestamp).unwrap();
            assert_eq!(line.to_line(), text(case, "want_signature_line"));
            cosignatures += 1;
        }
    }
    assert_eq!((notes, cosignatures), (2, 1));
}

#[test]
fn verify_cases() {
    let Some(vectors) = vectors() else { return };
    let mut accepted = 0;
    let mut rejected = 0;
    let mut checkpoints = 0;
    let mut timestamps = 0;
    for case in items(&vectors, "verify_cases") {
        let desc = &case["desc"];
        let note = text(case, "note");
        let known = verifiers(case);
        let result = open(note.as_bytes(), &known);
        match text(case, "want") {
            "reject" => {
                assert!(result.is_err(), "{desc}: accepted");
                rejected += 1;
                continue;
            }
            "ok" => accepted += 1,
            other => panic!("{desc}: unknown want {other}"),
        }
        let verified = result.unwrap_or_else(|err| panic!("{desc}: {err}"));
        // The parsed note prints back to the same bytes.
        assert_eq!(verified.note().to_string(), note);
        if let Some(want) = case["want_verified"].as_array() {
            let got: Vec<&str> = verified
                .verified()
                .iter()
                .map(|s| s.name().as_str())
                .collect();
            let want: Vec<&str> = want.iter().map(|name| name.as_str().unwrap()).collect();
            assert_eq!(got, want, "{desc}");
        }
        if let Some(want) = case["want_unverified"].as_array() {
            let got: Vec<&str> = verified
                .unknown()
                .iter()
                .map(|s| s.name().as_str())
                .collect();
            let want: Vec<&str> = want.iter().map(|name| name.as_str().unwrap()).collect();
            assert_eq!(got, want, "{desc}");
        }
        if let Some(want) = case["want_checkpoint"].as_object() {
            let checkpoint = Checkpoint::from_text(verified.text()).unwrap();
            assert_eq!(checkpoint.origin(), want["origin"].as_str().unwrap());
            assert_eq!(checkpoint.size(), want["size"].as_u64().unwrap());
            let root = STANDARD.decode(want["root_b64"].as_str().unwrap()).unwrap();
            assert_eq!(checkpoint.root(), Hash::from_slice(&root).unwrap());
            assert_eq!(checkpoint.to_text(), verified.text());
            checkpoints += 1;
        }
        if let Some(want) = case["want_cosignature_timestamps"].as_object() {
            for (name, timestamp) in want {
                let signature = verified
                    .verified()
                    .iter()
                    .find(|s| s.name().as_str() == name)
                    .unwrap_or_else(|| panic!("{desc}: {name} not verified"));
                assert_eq!(signature.timestamp(), timestamp.as_u64(), "{desc}");
                assert_eq!(signature.signature_type(), SignatureType::CosignatureV1);
                timestamps += 1;
            }
            // Every verify case's text is a checkpoint.
            Checkpoint::from_text(verified.text()).unwrap();
        }
    }
    assert_eq!((accepted, rejected, checkpoints, timestamps), (8, 2, 1, 3));
}

#[test]
fn verify_case_rejections_are_the_expected_ones() {
    let Some(vectors) = vectors() else { return };
    let cases = items(&vectors, "verify_cases");
    let rejections: Vec<OpenError> = cases
        .iter()
        .filter(|case| case["want"] == "reject")
        .map(|case| open(text(case, "note").as_bytes(), &verifiers(case)).unwrap_err())
        .collect();
    assert_eq!(
        rejections[0],
        OpenError::Verify(NoteVerifyError::NoTrustedSignature { unknown: 2 })
    );
    assert!(matches!(
        rejections[1],
        OpenError::Verify(NoteVerifyError::InvalidSignature { .. })
    ));
    assert_eq!(rejections.len(), 2);
}

#[test]
fn malformed_notes() {
    let Some(vectors) = vectors() else { return };
    let peter = Verifier::from_vkey(text(&items(&vectors, "verifier_keys")[1], "vkey")).unwrap();
    assert_eq!(peter.name().as_str(), "PeterNeumann");
    let mut checked = 0;
    for case in items(&vectors, "malformed_notes_must_reject") {
        let note = text(case, "note");
        let error = Note::parse(note.as_bytes()).unwrap_err();
        assert!(
            matches!(
                open(note.as_bytes(), std::slice::from_ref(&peter)),
                Err(OpenError::Malformed(_))
            ),
            "{}",
            case["desc"]
        );
        println!("{}: {error}", case["desc"]);
        if case["desc"] == "key name with a space" {
            // Its last line also lacks a newline; with one, the space in the
            // name is still refused (the signature field becomes "Name <b64>").
            let with_newline = format!("{note}\n");
            assert!(matches!(
                Note::parse(with_newline.as_bytes()),
                Err(NoteError::SignatureLine { line: 1, .. })
            ));
        }
        checked += 1;
    }
    assert_eq!(checked, 6);

    // The Go list's invalid-UTF-8 case, which JSON cannot carry: a leading
    // 0xff byte before an otherwise valid note.
    let valid = text(&items(&vectors, "sign_cases")[0], "want_note");
    assert!(open(valid.as_bytes(), std::slice::from_ref(&peter)).is_ok());
    let mut invalid = vec![0xff];
    invalid.extend_from_slice(valid.as_bytes());
    assert_eq!(
        Note::parse(&invalid),
        Err(NoteError::InvalidUtf8 { offset: 0 })
    );
}

#[test]
fn cosignature_timestamp_parse() {
    let Some(vectors) = vectors() else { return };
    let mut checked = 0;
    for case in items(&vectors, "cosignature_timestamp_parse") {
        let bytes = STANDARD.decode(text(case, "signature_b64")).unwrap();
        let key_id = KeyId::from_be_bytes(bytes[..4].try_into().unwrap());
        assert_eq!(key_id.to_string(), text(case, "want_key_id"));
        let timestamped = TimestampedSignature::from_bytes(&bytes[4..]).unwrap();
        assert_eq!(
            timestamped.timestamp,
            case["want_timestamp"].as_u64().unwrap()
        );
        assert_eq!(timestamped.to_bytes().as_slice(), &bytes[4..]);
        checked += 1;
    }
    assert_eq!(checked, 1);
}

#[test]
fn format_only_examples() {
    let Some(vectors) = vectors() else { return };
    let mut checked = 0;
    for case in items(&vectors, "format_only_examples") {
        let bytes = text(case, "note").as_bytes();
        let note = Note::parse(bytes).unwrap();
        assert_eq!(note.to_bytes(), bytes);
        let checkpoint = Checkpoint::from_text(note.text()).unwrap();
        assert_eq!(checkpoint.origin(), "example.com/behind-the-sofa");
        assert_eq!(checkpoint.size(), 20_852_163);
        assert_eq!(checkpoint.to_text(), note.text());
        // No key is published: nothing verifies it.
        assert_eq!(
            note.verify(&[]),
            Err(NoteVerifyError::NoTrustedSignature { unknown: 1 })
        );
        checked += 1;
    }
    assert_eq!(checked, 1);
}

/// The `c2sp.org/tlog-proof@v1` example: its checkpoint part must satisfy a
/// policy of the log plus the test witness, and its inclusion proof must
/// verify against that checkpoint's root.
#[test]
fn tlog_proof_example() {
    let Some(vectors) = vectors() else { return };
    let case = &vectors["tlog_proof_example"];
    let proof_text = text(case, "proof");
    let (header, signed_checkpoint) = proof_text.split_once("\n\n").unwrap();
    let mut lines = header.split('\n');
    assert_eq!(lines.next(), Some("c2sp.org/tlog-proof@v1"));
    let index: u64 = lines
        .next()
        .unwrap()
        .strip_prefix("index ")
        .unwrap()
        .parse()
        .unwrap();
    let proof: Vec<Hash> = lines
        .map(|line| Hash::from_slice(&STANDARD.decode(line).unwrap()).unwrap())
        .collect();
    let known = verifiers(case);
    let policy = truce_note::Policy::new(
        "example.com/truce-test-log",
        known[0].clone(),
        vec![truce_note::WitnessGroup::new("witnesses", vec![known[1].clone()], 1).unwrap()],
    )
    .unwrap();
    let accepted = policy.check(signed_checkpoint.as_bytes()).unwrap();
    let checkpoint = accepted.checkpoint();
    assert_eq!(
        accepted.groups()[0].cosignatures[0].timestamp(),
        Some(1_700_000_000)
    );
    let leaf = hex_decode(text(case, "leaf_data_hex"));
    verify_inclusion(
        &leaf_hash(&leaf),
        index,
        checkpoint.size(),
        &proof,
        &checkpoint.root(),
    )
    .unwrap();
    assert_eq!((index, proof.len()), (5, 3));
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|idx| u8::from_str_radix(&text[idx..idx + 2], 16).unwrap())
        .collect()
}

/// Every top-level section of the file is covered by a test above; a new
/// section makes this fail until it is.
#[test]
fn all_sections_are_checked() {
    let Some(vectors) = vectors() else { return };
    let mut sections: Vec<&str> = vectors
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    sections.sort_unstable();
    assert_eq!(
        sections,
        [
            "cosignature_timestamp_parse",
            "description",
            "format_only_examples",
            "key_formats",
            "malformed_notes_must_reject",
            "malformed_notes_source",
            "sign_cases",
            "signing_keys_TEST_ONLY",
            "tlog_proof_example",
            "verifier_keys",
            "verify_cases",
        ]
    );
}
