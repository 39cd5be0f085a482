//! Writers against readers: our formats read back to equal reports; ACLED and UCDP files
//! read back to spans and radii that contain the originals, with the same action and
//! target wherever the layout can express them.

// Helpers outside `#[test]` functions unwrap too: a panic there is a test failure.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use truce_model::ingest::{IngestOptions, InputFormat, WriteError, parse_reports, write_reports};
use truce_model::{
    ActionType, Casualties, EnergyKind, Location, Report, Source, SourceKind, Target, TargetKind,
    TimeSpan,
};

fn all_targets() -> Vec<Target> {
    let mut targets: Vec<Target> = TargetKind::ALL
        .iter()
        .map(|kind| Target::of(*kind))
        .collect();
    targets.extend(EnergyKind::ALL.iter().map(|kind| Target::energy(*kind)));
    targets
}

/// Identifiers and names: no surrounding whitespace, never empty (an empty optional value
/// is "absent" in every format).
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9 _:.,'\"()-]{0,14}[A-Za-z0-9)]|[A-Za-z0-9]"
}

/// List values: like names, without the CSV list separator `;`.
fn list_value() -> impl Strategy<Value = String> {
    name()
}

/// Free text: anything, including quotes, commas, semicolons, newlines and non-ASCII.
fn free_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "(?s).{0,40}",
        "[ a-z,;\"\n\r\u{e9}\u{421}]{0,20}"
    ]
}

/// 1970 to 2100, whole milliseconds.
fn time_span() -> impl Strategy<Value = TimeSpan> {
    (
        0i64..4_102_444_800_000,
        prop_oneof![Just(0i64), 0i64..40 * 86_400_000],
    )
        .prop_map(|(start_ms, width_ms)| TimeSpan {
            start_ms,
            end_ms: start_ms + width_ms,
        })
}

fn coordinate(bound: f64) -> impl Strategy<Value = f64> {
    prop_oneof![
        -bound..=bound,
        Just(bound),
        Just(-bound),
        Just(0.0),
        (-1800i32..=1800).prop_map(move |tenths| f64::from(tenths) / 1800.0 * bound)
    ]
}

fn report() -> impl Strategy<Value = Report> {
    let source = (
        name(),
        prop::sample::select(SourceKind::ALL.to_vec()),
        proptest::option::of(name()),
    )
        .prop_map(|(id, kind, party)| {
            let party = if kind == SourceKind::Party {
                party.or(Some("UA".to_string()))
            } else {
                party
            };
            Source {
                id: id.into(),
                kind,
                party: party.map(Into::into),
            }
        });
    let location = (
        coordinate(180.0),
        coordinate(90.0),
        prop_oneof![Just(0.0), 0.0f64..1.0e6],
    )
        .prop_map(|(lon, lat, uncertainty_m)| Location {
            lon,
            lat,
            uncertainty_m,
        });
    let casualties = (any::<u32>(), 0u32..100, 0u32..100, 0u32..100, any::<u32>()).prop_map(
        |(
            civilian_killed,
            civilian_injured,
            military_killed,
            military_injured,
            unspecified_killed,
        )| {
            Casualties {
                civilian_killed,
                civilian_injured,
                military_killed,
                military_injured,
                unspecified_killed,
            }
        },
    );
    (
        (
            name(),
            source,
            time_span(),
            location,
            proptest::option::of(name()),
        ),
        (
            prop::sample::select(ActionType::ALL.to_vec()),
            prop::sample::select(all_targets()),
            proptest::option::of(name()),
            proptest::option::of(name()),
        ),
        (
            prop::collection::vec(list_value(), 0..3),
            casualties,
            free_text(),
            prop::collection::vec("sha256:[0-9a-f]{64}", 0..3),
        ),
    )
        .prop_map(
            |(
                (id, source, time, location, place),
                (action, target, site, accused),
                (actors, casualties, text, evidence),
            )| {
                Report {
                    id: id.into(),
                    source: source.into(),
                    time,
                    location,
                    action,
                    target,
                    accused: accused.map(Into::into),
                    casualties,
                    details: truce_model::ReportDetails {
                        place: place.map(Into::into),
                        site: site.map(Into::into),
                        actors: actors.into_iter().map(Into::into).collect(),
                        text,
                        evidence,
                    }
                    .into(),
                }
            },
        )
}

fn write(format: InputFormat, reports: &[Report], options: &IngestOptions) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_reports(format, reports, options, &mut bytes).unwrap();
    bytes
}

fn round_trip(format: InputFormat, reports: &[Report]) -> Result<(), TestCaseError> {
    let options = IngestOptions::default();
    let bytes = write(format, reports, &options);
    let ingested = parse_reports(format, "out", &bytes, &options).unwrap();
    prop_assert!(
        ingested.rejections.is_empty(),
        "{:?}\n{}",
        ingested.rejections,
        String::from_utf8_lossy(&bytes)
    );
    prop_assert_eq!(&ingested.reports, &reports.to_vec());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn csv_round_trips(reports in prop::collection::vec(report(), 1..6)) {
        round_trip(InputFormat::Csv, &reports)?;
    }

    #[test]
    fn jsonl_round_trips(reports in prop::collection::vec(report(), 1..6)) {
        round_trip(InputFormat::Jsonl, &reports)?;
    }

    #[test]
    fn geojson_round_trips(reports in prop::collection::vec(report(), 1..6)) {
        round_trip(InputFormat::Geojson, &reports)?;
    }

    /// ACLED and UCDP lose detail but never narrow: the span and radius read back contain
    /// the written ones, and the point is kept exactly.
    #[test]
    fn acled_and_ucdp_contain_what_was_written(
        mut report in report(),
        width_ms in 0i64..6 * 86_400_000,
        uncertainty_m in 0.0f64..50_000.0,
    ) {
        report.time.end_ms = report.time.start_ms + width_ms;
        report.location.uncertainty_m = uncertainty_m;
        let options = IngestOptions::default();
        for format in [InputFormat::Acled, InputFormat::Ucdp] {
            let bytes = write(format, std::slice::from_ref(&report), &options);
            let ingested = parse_reports(format, "out", &bytes, &options).unwrap();
            prop_assert!(ingested.rejections.is_empty(), "{:?}", ingested.rejections);
            let read = &ingested.reports[0];
            prop_assert!(read.time.start_ms <= report.time.start_ms, "{format}: {:?} {:?}", read.time, report.time);
            prop_assert!(read.time.end_ms >= report.time.end_ms, "{format}: {:?} {:?}", read.time, report.time);
            prop_assert!(read.location.uncertainty_m >= report.location.uncertainty_m);
            prop_assert_eq!((read.location.lon, read.location.lat), (report.location.lon, report.location.lat));
        }
    }
}

fn sample(action: ActionType, target: Target) -> Report {
    Report {
        id: format!("{action}-{target}").into(),
        source: std::sync::Arc::new(Source {
            id: "osce_smm".into(),
            kind: SourceKind::Monitor,
            party: None,
        }),
        time: TimeSpan {
            start_ms: 1_742_457_600_000,
            end_ms: 1_742_457_600_000 + 3_600_000,
        },
        location: Location {
            lon: 32.6169,
            lat: 46.6354,
            uncertainty_m: 1_000.0,
        },
        action,
        target,
        accused: Some("RU".into()),
        casualties: Casualties {
            civilian_killed: 2,
            ..Casualties::default()
        },
        details: truce_model::ReportDetails {
            place: Some("Kherson".into()),
            site: None,
            actors: vec!["Military Forces of Russia (2000-)".into()],
            text: "the narrative is not carried".into(),
            evidence: Vec::new(),
        }
        .into(),
    }
}

/// What ACLED's taxonomy cannot say: a naval attack is written as shelling and read back
/// as artillery. Everything else reads back as written.
fn acled_reads_back(action: ActionType) -> ActionType {
    match action {
        ActionType::NavalAttack => ActionType::Artillery,
        other => other,
    }
}

#[test]
fn acled_recovers_every_action_and_target_it_can_express() {
    let options = IngestOptions::default();
    let mut reports = Vec::new();
    for action in ActionType::ALL {
        for target in all_targets() {
            reports.push(sample(*action, target));
        }
    }
    let bytes = write(InputFormat::Acled, &reports, &options);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp\n"));
    let ingested = parse_reports(InputFormat::Acled, "acled.csv", &bytes, &options).unwrap();
    assert!(ingested.rejections.is_empty(), "{:?}", ingested.rejections);
    assert_eq!(ingested.reports.len(), reports.len());
    for (written, read) in reports.iter().zip(&ingested.reports) {
        assert_eq!(read.id, written.id);
        assert_eq!(
            read.action,
            acled_reads_back(written.action),
            "{}",
            written.id
        );
        assert_eq!(read.target, written.target, "{}", written.id);
        assert_eq!(
            read.actors(),
            vec!["RU", "Military Forces of Russia (2000-)"]
        );
        assert_eq!(read.place(), Some("Kherson"));
        assert_eq!(read.location.uncertainty_m, 2_000.0);
        // Local day of 20 March 2025 in Kyiv.
        assert_eq!(read.time.width_ms(), 86_400_000 - 1);
    }
}

#[test]
fn ucdp_recovers_every_action_and_target() {
    let options = IngestOptions::default();
    let mut reports = Vec::new();
    for action in ActionType::ALL {
        for target in all_targets() {
            reports.push(sample(*action, target));
        }
    }
    let bytes = write(InputFormat::Ucdp, &reports, &options);
    let text = String::from_utf8(bytes.clone()).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(header.split(',').count(), 49);
    let ingested = parse_reports(InputFormat::Ucdp, "ged.csv", &bytes, &options).unwrap();
    assert!(ingested.rejections.is_empty(), "{:?}", ingested.rejections);
    for (written, read) in reports.iter().zip(&ingested.reports) {
        assert_eq!(read.id, format!("ucdp:{}", written.id));
        assert_eq!(read.action, written.action, "{}", written.id);
        assert_eq!(read.target, written.target, "{}", written.id);
        assert_eq!(read.location.uncertainty_m, 1_000.0);
        assert_eq!(read.casualties.civilian_killed, 2);
    }
}

#[test]
fn acled_refuses_what_it_cannot_contain() {
    let options = IngestOptions::default();
    let mut wide = sample(ActionType::Artillery, Target::of(TargetKind::Military));
    wide.time.end_ms = wide.time.start_ms + 40 * 86_400_000;
    let error = write_reports(InputFormat::Acled, &[wide], &options, &mut Vec::new()).unwrap_err();
    assert!(
        matches!(
            error,
            WriteError::NotRepresentable {
                format: InputFormat::Acled,
                ..
            }
        ),
        "{error}"
    );
    let mut vague = sample(ActionType::Artillery, Target::of(TargetKind::Military));
    vague.location.uncertainty_m = 60_000.0;
    let error = write_reports(InputFormat::Acled, &[vague], &options, &mut Vec::new()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "report `artillery-military` cannot be written as acled: uncertainty 60000 m is larger than geo_precision 3 (50000 m)"
    );
    // A month-long span inside one month is expressible (time_precision 3).
    let mut month = sample(ActionType::Artillery, Target::of(TargetKind::Military));
    month.time = TimeSpan {
        start_ms: 1_741_046_400_000,
        end_ms: 1_741_046_400_000 + 20 * 86_400_000,
    };
    let bytes = write(InputFormat::Acled, &[month.clone()], &options);
    let read = parse_reports(InputFormat::Acled, "a.csv", &bytes, &options).unwrap();
    assert!(read.reports[0].time.start_ms <= month.time.start_ms);
    assert!(read.reports[0].time.end_ms >= month.time.end_ms);
}

#[test]
fn csv_refuses_list_values_with_the_separator() {
    let mut report = sample(ActionType::Artillery, Target::of(TargetKind::Military));
    report.details.make_mut().actors = vec!["A; B".into()];
    let error = write_reports(
        InputFormat::Csv,
        &[report.clone()],
        &IngestOptions::default(),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(matches!(
        error,
        WriteError::NotRepresentable {
            format: InputFormat::Csv,
            ..
        }
    ));
    // JSON Lines carries it.
    let bytes = write(
        InputFormat::Jsonl,
        std::slice::from_ref(&report),
        &IngestOptions::default(),
    );
    let read = parse_reports(
        InputFormat::Jsonl,
        "r.jsonl",
        &bytes,
        &IngestOptions::default(),
    )
    .unwrap();
    assert_eq!(read.reports, vec![report]);
}

#[test]
fn our_csv_output_is_stable() {
    let report = sample(
        ActionType::MissileStrike,
        Target::energy(EnergyKind::OilRefinery),
    );
    let bytes = write(InputFormat::Csv, &[report], &IngestOptions::default());
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "id,source_id,source_kind,source_party,time,time_end,place,lon,lat,uncertainty_m,action,target,site,accused,actors,civilian_killed,civilian_injured,military_killed,military_injured,unspecified_killed,text,evidence\n\
         missile_strike-energy.oil_refinery,osce_smm,monitor,,2025-03-20T08:00:00Z,2025-03-20T09:00:00Z,Kherson,32.6169,46.6354,1000,missile_strike,energy.oil_refinery,,RU,Military Forces of Russia (2000-),2,0,0,0,0,the narrative is not carried,\n"
    );
}
