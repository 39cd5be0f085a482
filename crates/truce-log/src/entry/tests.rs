use super::*;
use truce_model::{EnergyKind, TargetKind};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    let text: String = text.split_whitespace().collect();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn h(byte: u8) -> ContentHash {
    ContentHash([byte; 32])
}

fn report() -> Report {
    Report {
        id: "r-17".into(),
        source: std::sync::Arc::new(Source {
            id: "ua_gs".into(),
            kind: SourceKind::Party,
            party: Some("UA".into()),
        }),
        time: TimeSpan {
            start_ms: 1_742_860_800_000,
            end_ms: 1_742_864_400_000,
        },
        location: Location {
            lon: 35.1396,
            lat: 47.8388,
            uncertainty_m: 500.0,
        },
        action: ActionType::DroneStrike,
        target: Target::energy(EnergyKind::PowerTransmission),
        accused: Some("RU".into()),
        casualties: Casualties {
            civilian_injured: 2,
            ..Casualties::default()
        },
        details: truce_model::ReportDetails {
            place: Some("Zaporizhzhia".into()),
            site: Some("zp-substation-1".into()),
            actors: vec!["Military Forces of Russia".into()],
            text: "Substation hit by two drones at night.".into(),
            evidence: vec![format!("sha256:{}", "ab".repeat(32))],
        }
        .into(),
    }
}

/// One entry of each kind, with a committed report among them.
fn samples() -> Vec<(&'static str, Entry)> {
    let disclosure = ReportDisclosure {
        source_id: None,
        location: Some((
            [9; 32],
            Location {
                lon: 35.1,
                lat: 47.8,
                uncertainty_m: 10_000.0,
            },
        )),
        place: Some([8; 32]),
    };
    let (committed, _) = ReportEntry::from_report(&report(), &disclosure).unwrap();
    vec![
        (
            "agreement version",
            Entry::AgreementVersion(AgreementVersion {
                agreement_id: "energy-moratorium-2025".to_owned(),
                version: 2,
                interpretation: "common".to_owned(),
                text_sha256: h(1),
                files: vec![
                    ("sites.geojson".to_owned(), h(2)),
                    ("zones/front.geojson".to_owned(), h(3)),
                ],
            }),
        ),
        (
            "source registration",
            Entry::SourceRegistration(SourceRegistration {
                source_id: "ua_gs".to_owned(),
                kind: SourceKind::Party,
                party: Some("UA".to_owned()),
                public_key: [4; 32],
            }),
        ),
        (
            "report",
            Entry::Report(
                ReportEntry::from_report(&report(), &ReportDisclosure::default())
                    .unwrap()
                    .0,
            ),
        ),
        ("committed report", Entry::Report(committed)),
        (
            "review",
            Entry::Review(Review {
                review_id: "rv-3".to_owned(),
                reviewer: "mission".to_owned(),
                at_ms: 1_742_900_000_000,
                decision: Decision::Reattribute(Some("RU".to_owned())),
                reports: vec!["r-17".to_owned(), "r-18".to_owned()],
                answers_contest: Some("c-1".to_owned()),
                reasons_sha256: Some(h(5)),
            }),
        ),
        (
            "retraction",
            Entry::Retraction(Retraction {
                source_id: "ua_gs".to_owned(),
                report_id: "r-17".to_owned(),
                at_ms: 1_742_950_000_000,
                reason_sha256: None,
            }),
        ),
        (
            "coverage",
            Entry::Coverage(Coverage {
                coverage_id: "cv-9".to_owned(),
                observer: "mission-team-4".to_owned(),
                kind: CoverageKind::AccessDenial,
                time: TimeSpan::instant(1_742_870_000_000),
                extent: [35.0, 47.5, 35.5, 48.0],
                area_sha256: h(6),
                restricted_by: Some("RU".to_owned()),
                note_sha256: Some(h(7)),
            }),
        ),
        (
            "contest",
            Entry::Contest(Contest {
                contest_id: "c-1".to_owned(),
                party: "RU".to_owned(),
                at_ms: 1_742_880_000_000,
                agreement_id: "energy-moratorium-2025".to_owned(),
                agreement_version: 2,
                interpretation: "RU".to_owned(),
                incident: "inc-0042".to_owned(),
                log_size: 1_234,
                reasons_sha256: h(10),
                evidence: vec![h(11)],
            }),
        ),
        (
            "published assessment",
            Entry::PublishedAssessment(PublishedAssessment {
                engine_version: "truce-engine 0.1.0".to_owned(),
                agreement_id: "energy-moratorium-2025".to_owned(),
                agreement_version: 2,
                interpretation: "common".to_owned(),
                log_size: 1_235,
                findings_sha256: h(12),
            }),
        ),
    ]
}

/// The exact bytes of each sample. They were checked against a separate
/// Python encoder written from the tables in docs/log-format.md (struct,
/// hashlib), not from this code. A change here is a format change: it needs a
/// new format version.
const SNAPSHOTS: [(&str, &str); 9] = [
    (
        "agreement version",
        concat!(
            "01010016656e657267792d6d6f7261746f7269756d2d32303235000000020006",
            "636f6d6d6f6e0101010101010101010101010101010101010101010101010101",
            "0101010101010002000d73697465732e67656f6a736f6e020202020202020202",
            "020202020202020202020202020202020202020202020200137a6f6e65732f66",
            "726f6e742e67656f6a736f6e0303030303030303030303030303030303030303",
            "030303030303030303030303",
        ),
    ),
    (
        "source registration",
        concat!(
            "0102000575615f67730005706172747901000255410404040404040404040404",
            "040404040404040404040404040404040404040404",
        ),
    ),
    (
        "report",
        concat!(
            "01030004722d31370005706172747900000575615f6773010002554100000195",
            "ca99500000000195cad03e8000404191de69ad42c44047eb5dcc63f141407f40",
            "00000000000100000c5a61706f72697a687a686961000c64726f6e655f737472",
            "696b650019656e657267792e706f7765725f7472616e736d697373696f6e0100",
            "0f7a702d73756273746174696f6e2d310100025255000100194d696c69746172",
            "7920466f72636573206f66205275737369610000000000000002000000000000",
            "000000000000014cda49db87cf7bc197595e2c8d5899d4450134f6b0a85d1c1d",
            "a4775eb3522f8a0001ababababababababababababababababababababababab",
            "ababababababababab",
        ),
    ),
    (
        "committed report",
        concat!(
            "01030004722d31370005706172747900000575615f6773010002554100000195",
            "ca99500000000195cad03e800140418ccccccccccd4047e6666666666640c388",
            "000000000023ea5aad2463ee73c0d6c1108a8e3f1fa704d70adb3b3d3559cd7a",
            "1ccc4ae4ee0101514904e1a3455615ef6676da12803326f7178e8f8b482f96c0",
            "1c55cdb50be47e000c64726f6e655f737472696b650019656e657267792e706f",
            "7765725f7472616e736d697373696f6e01000f7a702d73756273746174696f6e",
            "2d310100025255000100194d696c697461727920466f72636573206f66205275",
            "737369610000000000000002000000000000000000000000014cda49db87cf7b",
            "c197595e2c8d5899d4450134f6b0a85d1c1da4775eb3522f8a0001ababababab",
            "ababababababababababababababababababababababababababab",
        ),
    ),
    (
        "review",
        concat!(
            "0104000472762d3300076d697373696f6e00000195ccef7500000b7265617474",
            "726962757465010002525500020004722d31370004722d3138010003632d3101",
            "0505050505050505050505050505050505050505050505050505050505050505",
        ),
    ),
    (
        "retraction",
        "0105000575615f67730004722d313700000195cfea658000",
    ),
    (
        "coverage",
        concat!(
            "0106000463762d39000e6d697373696f6e2d7465616d2d34000d616363657373",
            "5f64656e69616c00000195cb25b18000000195cb25b180404180000000000040",
            "47c000000000004041c000000000004048000000000000060606060606060606",
            "0606060606060606060606060606060606060606060606010002525501070707",
            "0707070707070707070707070707070707070707070707070707070707",
        ),
    ),
    (
        "contest",
        concat!(
            "01070003632d310002525500000195cbbe48000016656e657267792d6d6f7261",
            "746f7269756d2d3230323500000002000252550008696e632d30303432000000",
            "00000004d20a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a",
            "0a0a0a0a0a00010b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
            "0b0b0b0b0b0b0b",
        ),
    ),
    (
        "published assessment",
        concat!(
            "0108001274727563652d656e67696e6520302e312e300016656e657267792d6d",
            "6f7261746f7269756d2d32303235000000020006636f6d6d6f6e000000000000",
            "04d30c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
            "0c0c",
        ),
    ),
];

#[test]
fn encodings_are_byte_stable() {
    let samples = samples();
    assert_eq!(samples.len(), SNAPSHOTS.len());
    for ((name, entry), (snapshot_name, snapshot)) in samples.iter().zip(SNAPSHOTS) {
        assert_eq!(*name, snapshot_name);
        let bytes = entry.encode().unwrap();
        assert_eq!(hex(&bytes), snapshot, "{name}");
        assert_eq!(&Entry::decode(&unhex(snapshot)).unwrap(), entry, "{name}");
    }
    let kinds: Vec<u8> = samples.iter().map(|(_, entry)| entry.kind()).collect();
    assert_eq!(kinds, [1, 2, 3, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn retraction_layout_by_hand() {
    let entry = Entry::Retraction(Retraction {
        source_id: "ab".to_owned(),
        report_id: "c".to_owned(),
        at_ms: -2,
        reason_sha256: Some(h(0x11)),
    });
    let mut expected = vec![1u8, 5, 0, 2, b'a', b'b', 0, 1, b'c'];
    expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
    expected.push(1);
    expected.extend_from_slice(&[0x11; 32]);
    assert_eq!(entry.encode().unwrap(), expected);
}

#[test]
fn a_filed_report_is_version_2_with_its_filing_after_the_fields_of_version_1() {
    let (plain, _) = ReportEntry::from_report(&report(), &ReportDisclosure::default()).unwrap();
    let version_1 = Entry::Report(plain.clone()).encode().unwrap();
    assert_eq!(version_1[0], 1);
    let filing = Filing {
        agreement_id: "ab".to_owned(),
        submitted_ms: -2,
    };
    let filed = Entry::Report(ReportEntry {
        filing: Some(filing.clone()),
        ..plain.clone()
    });
    assert_eq!(filed.format_version(), 2);
    let bytes = filed.encode().unwrap();
    let mut expected = version_1.clone();
    expected[0] = 2;
    expected.extend_from_slice(&[0, 2, b'a', b'b']);
    expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
    assert_eq!(hex(&bytes), hex(&expected));
    assert_eq!(Entry::decode(&bytes).unwrap(), filed);
    // Version 1 bytes read as version 2 lack the filing; version 2 bytes read as version 1
    // have bytes left over.
    let mut relabelled = version_1.clone();
    relabelled[0] = 2;
    assert_eq!(
        Entry::decode(&relabelled).unwrap_err().reason,
        DecodeProblem::Truncated
    );
    let mut relabelled = bytes.clone();
    relabelled[0] = 1;
    assert_eq!(
        Entry::decode(&relabelled).unwrap_err().reason,
        DecodeProblem::TrailingBytes
    );
    // Only reports have a version 2.
    for (name, entry) in samples() {
        if entry.kind() == 3 {
            continue;
        }
        let mut changed = entry.encode().unwrap();
        assert_eq!(changed[0], 1, "{name}");
        changed[0] = 2;
        assert_eq!(
            Entry::decode(&changed).unwrap_err().reason,
            DecodeProblem::UnknownVersion(2),
            "{name}"
        );
    }
}

#[test]
fn unknown_version_and_kind_are_refused() {
    let bytes = samples()[5].1.encode().unwrap();
    for version in [0u8, 2, 255] {
        let mut changed = bytes.clone();
        changed[0] = version;
        assert_eq!(
            Entry::decode(&changed),
            Err(DecodeError {
                offset: 0,
                reason: DecodeProblem::UnknownVersion(version)
            })
        );
    }
    for kind in [0u8, 9, 255] {
        let mut changed = bytes.clone();
        changed[1] = kind;
        assert_eq!(
            Entry::decode(&changed),
            Err(DecodeError {
                offset: 1,
                reason: DecodeProblem::UnknownKind(kind)
            })
        );
    }
    assert_eq!(
        Entry::decode(&[]).unwrap_err().reason,
        DecodeProblem::Truncated
    );
}

#[test]
fn non_canonical_bytes_are_refused() {
    let retraction = samples()[5].1.encode().unwrap();
    // Trailing byte.
    let mut longer = retraction.clone();
    longer.push(0);
    assert_eq!(
        Entry::decode(&longer).unwrap_err(),
        DecodeError {
            offset: retraction.len(),
            reason: DecodeProblem::TrailingBytes
        }
    );
    // Every proper prefix is truncated.
    for len in 2..retraction.len() {
        assert_eq!(
            Entry::decode(&retraction[..len]).unwrap_err().reason,
            DecodeProblem::Truncated,
            "prefix of {len}"
        );
    }
    // Option tag 2.
    let mut tag = retraction.clone();
    let last = tag.len() - 1;
    tag[last] = 2;
    assert_eq!(
        Entry::decode(&tag).unwrap_err().reason,
        DecodeProblem::BadOptionTag(2)
    );
    // Invalid UTF-8 in a string.
    let mut utf8 = retraction.clone();
    utf8[4] = 0xff;
    assert_eq!(
        Entry::decode(&utf8).unwrap_err(),
        DecodeError {
            offset: 4,
            reason: DecodeProblem::InvalidUtf8
        }
    );
    // Negative zero and NaN in a coordinate.
    let coverage = samples()[6].1.encode().unwrap();
    let extent = coverage
        .windows(8)
        .position(|window| window == 35.0f64.to_bits().to_be_bytes())
        .unwrap();
    for bad in [-0.0f64, f64::NAN, f64::INFINITY] {
        let mut changed = coverage.clone();
        changed[extent..extent + 8].copy_from_slice(&bad.to_bits().to_be_bytes());
        assert_eq!(
            Entry::decode(&changed).unwrap_err(),
            DecodeError {
                offset: extent,
                reason: DecodeProblem::NonCanonicalFloat
            }
        );
    }
    // Vocabulary in a non-canonical spelling.
    let report = samples()[2].1.encode().unwrap();
    let action = report
        .windows(12)
        .position(|window| window == b"drone_strike")
        .unwrap();
    let mut spelled = report.clone();
    spelled[action..action + 5].copy_from_slice(b"DRONE");
    assert_eq!(
        Entry::decode(&spelled).unwrap_err(),
        DecodeError {
            offset: action - 2,
            reason: DecodeProblem::UnknownTerm("DRONE_strike".to_owned())
        }
    );
}

#[test]
fn agreement_files_must_be_sorted() {
    let Entry::AgreementVersion(mut agreement) = samples()[0].1.clone() else {
        panic!("sample 0 is an agreement version");
    };
    agreement.files.reverse();
    assert_eq!(
        Entry::AgreementVersion(agreement.clone()).encode(),
        Err(EncodeError::NotSorted { field: "files" })
    );
    agreement.files = vec![("a".to_owned(), h(1)), ("a".to_owned(), h(2))];
    assert_eq!(
        Entry::AgreementVersion(agreement).encode(),
        Err(EncodeError::NotSorted { field: "files" })
    );
    // The same refusal when decoding: swap the two sorted paths' bytes.
    let bytes = samples()[0].1.encode().unwrap();
    let text = hex(&bytes).replace(&hex(b"sites.geojson"), &hex(b"zzzzz.geojson"));
    assert_eq!(
        Entry::decode(&unhex(&text)).unwrap_err().reason,
        DecodeProblem::NotSorted("files")
    );
}

#[test]
fn committed_fields_open_and_hide() {
    let disclosure = ReportDisclosure {
        source_id: Some([1; 32]),
        location: Some((
            [2; 32],
            Location {
                lon: 35.0,
                lat: 48.0,
                uncertainty_m: 20_000.0,
            },
        )),
        place: Some([3; 32]),
    };
    let original = report();
    let (entry, openings) = ReportEntry::from_report(&original, &disclosure).unwrap();
    let bytes = Entry::Report(entry.clone()).encode().unwrap();
    // No clear sensitive value is in the public bytes.
    for secret in [
        &b"ua_gs"[..],
        b"Zaporizhzhia",
        &35.1396f64.to_bits().to_be_bytes(),
    ] {
        assert!(!bytes.windows(secret.len()).any(|window| window == secret));
    }
    let Disclosed::Committed(source_commitment) = &entry.source.id else {
        panic!("source id should be committed");
    };
    let source_opening = openings.source_id.clone().unwrap();
    assert!(source_opening.opens(source_commitment));
    // A wrong salt, value or label does not open it.
    let mut wrong = source_opening.clone();
    wrong.salt[0] ^= 1;
    assert!(!wrong.opens(source_commitment));
    let mut wrong = source_opening.clone();
    wrong.value.push('x');
    assert!(!wrong.opens(source_commitment));
    let mut wrong = source_opening;
    wrong.label = LABEL_PLACE;
    assert!(!wrong.opens(source_commitment));
    assert!(!format!("{:?}", openings).contains("[1, 1"));

    // With the openings the clear report comes back (text aside); without
    // them the public view shows the coarse location and no names.
    let mut expected = original.clone();
    expected.details.make_mut().text = String::new();
    assert_eq!(entry.to_report(&openings), expected);
    let public = entry.to_report(&ReportOpenings::default());
    assert_eq!(public.location.uncertainty_m, 20_000.0);
    assert_eq!(public.source.id, "");
    assert_eq!(public.place(), None);
    assert_eq!(public.source.party.as_deref(), Some("UA"));
}

#[test]
fn evidence_must_be_sha256_references() {
    let mut bad = report();
    bad.details.make_mut().evidence = vec!["md5:abcd".to_owned()];
    assert_eq!(
        ReportEntry::from_report(&bad, &ReportDisclosure::default()).unwrap_err(),
        EncodeError::Evidence {
            value: "md5:abcd".to_owned()
        }
    );
    bad.details.make_mut().evidence = vec![format!("sha256:{}", "AB".repeat(32))];
    let (entry, _) = ReportEntry::from_report(&bad, &ReportDisclosure::default()).unwrap();
    assert_eq!(entry.evidence, vec![h(0xab)]);
}

#[test]
fn too_long_entries_are_refused() {
    let mut long = report();
    long.details.make_mut().actors = vec!["x".repeat(60_000).into(), "y".repeat(10_000).into()];
    let (entry, _) = ReportEntry::from_report(&long, &ReportDisclosure::default()).unwrap();
    assert!(matches!(
        Entry::Report(entry).encode(),
        Err(EncodeError::EntryTooLong { .. })
    ));
    long.details.make_mut().actors = vec!["x".repeat(70_000).into()];
    let (entry, _) = ReportEntry::from_report(&long, &ReportDisclosure::default()).unwrap();
    assert_eq!(
        Entry::Report(entry).encode(),
        Err(EncodeError::StringTooLong {
            field: "actors",
            len: 70_000
        })
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 _.\\u{e9}\\u{416}-]{0,12}"
    }

    fn coordinate() -> impl Strategy<Value = f64> {
        prop_oneof![Just(0.0), Just(-0.0), -180.0..180.0f64]
    }

    fn arbitrary_report() -> impl Strategy<Value = Report> {
        (
            (
                text(),
                text(),
                0..SourceKind::ALL.len(),
                proptest::option::of(text()),
            ),
            (
                any::<i64>(),
                any::<i64>(),
                coordinate(),
                coordinate(),
                0.0..1e6f64,
            ),
            (
                proptest::option::of(text()),
                0..ActionType::ALL.len(),
                0..TargetKind::ALL.len(),
                proptest::option::of(0..EnergyKind::ALL.len()),
            ),
            (
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::collection::vec(text(), 0..3),
                any::<[u32; 5]>(),
                text(),
                proptest::collection::vec(any::<[u8; 32]>(), 0..3),
            ),
        )
            .prop_map(
                |(
                    (id, source_id, kind, party),
                    (start_ms, end_ms, lon, lat, uncertainty_m),
                    (place, action, target, energy),
                    (site, accused, actors, counts, text, evidence),
                )| {
                    let target_kind = TargetKind::ALL[target];
                    let target = match (target_kind, energy) {
                        (TargetKind::Energy, Some(energy)) => {
                            Target::energy(EnergyKind::ALL[energy])
                        }
                        _ => Target::of(target_kind),
                    };
                    Report {
                        id: id.into(),
                        source: std::sync::Arc::new(Source {
                            id: source_id.into(),
                            kind: SourceKind::ALL[kind],
                            party: party.map(Into::into),
                        }),
                        time: TimeSpan { start_ms, end_ms },
                        location: Location {
                            lon,
                            lat,
                            uncertainty_m,
                        },
                        action: ActionType::ALL[action],
                        target,
                        accused: accused.map(Into::into),
                        casualties: Casualties {
                            civilian_killed: counts[0],
                            civilian_injured: counts[1],
                            military_killed: counts[2],
                            military_injured: counts[3],
                            unspecified_killed: counts[4],
                        },
                        details: truce_model::ReportDetails {
                            place: place.map(Into::into),
                            site: site.map(Into::into),
                            actors: actors.into_iter().map(Into::into).collect(),
                            text,
                            evidence: evidence
                                .iter()
                                .map(|bytes| ContentHash(*bytes).to_string())
                                .collect(),
                        }
                        .into(),
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x7275_6365),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// encode → decode → encode gives the same bytes and value, with and
        /// without commitments.
        #[test]
        fn reports_round_trip(
            report in arbitrary_report(),
            commit in any::<[bool; 3]>(),
            salt in any::<[u8; 32]>(),
            filing in proptest::option::of((text(), any::<i64>())),
        ) {
            let disclosure = ReportDisclosure {
                source_id: commit[0].then_some(salt),
                location: commit[1].then_some((salt, Location { lon: 1.0, lat: 2.0, uncertainty_m: 3.0 })),
                place: commit[2].then_some(salt),
            };
            let (mut entry, openings) = ReportEntry::from_report(&report, &disclosure).unwrap();
            entry.filing = filing.map(|(agreement_id, submitted_ms)| Filing {
                agreement_id,
                submitted_ms,
            });
            let version = if entry.filing.is_some() { 2 } else { 1 };
            let entry = Entry::Report(entry);
            let bytes = entry.encode().unwrap();
            prop_assert_eq!(bytes[0], version);
            let decoded = Entry::decode(&bytes).unwrap();
            prop_assert_eq!(decoded.encode().unwrap(), bytes);
            prop_assert_eq!(&decoded, &entry);
            let Entry::Report(decoded) = decoded else { panic!("kind changed") };
            let mut expected = report.clone();
            expected.details.make_mut().text = String::new();
            if expected.location.lon == 0.0 { expected.location.lon = 0.0; }
            if expected.location.lat == 0.0 { expected.location.lat = 0.0; }
            let back = decoded.to_report(&openings);
            prop_assert_eq!(back.location.lon.to_bits(), expected.location.lon.to_bits());
            prop_assert_eq!(back, expected);
        }

        /// Decoding arbitrary bytes never panics, and whatever decodes
        /// encodes back to the same bytes.
        #[test]
        fn decoding_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(entry) = Entry::decode(&bytes) {
                prop_assert_eq!(entry.encode().unwrap(), bytes);
            }
        }

        /// Mutating one byte of a valid entry gives either an error or an
        /// entry that encodes to the mutated bytes.
        #[test]
        fn single_byte_changes_stay_canonical(which in 0usize..9, position in any::<prop::sample::Index>(), value in any::<u8>()) {
            let mut bytes = samples()[which].1.encode().unwrap();
            let at = position.index(bytes.len());
            bytes[at] = value;
            if let Ok(entry) = Entry::decode(&bytes) {
                prop_assert_eq!(entry.encode().unwrap(), bytes);
            }
        }
    }
}
