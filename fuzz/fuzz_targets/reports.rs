//! Any bytes in every input format: never panics; every accepted report has a row and valid
//! coordinates; whatever our own formats accept, they write and read back identically; read
//! in id order, every format gives the same reports, rows and rejections (the reports in
//! input order, or sorted by id and row).
#![no_main]

use libfuzzer_sys::fuzz_target;
use truce_model::ingest::{IngestOptions, InputFormat, parse_reports, write_reports};

fuzz_target!(|data: &[u8]| {
    let options = IngestOptions::default();
    for format in InputFormat::ALL {
        let Ok(ingested) = parse_reports(*format, "fuzz", data, &options) else {
            continue;
        };
        assert_eq!(ingested.reports.len(), ingested.rows.len());
        for report in &ingested.reports {
            let l = report.location;
            assert!((-180.0..=180.0).contains(&l.lon) && (-90.0..=90.0).contains(&l.lat));
            assert!(l.uncertainty_m.is_finite() && l.uncertainty_m >= 0.0);
            assert!(report.time.start_ms <= report.time.end_ms);
        }
        let by_id = IngestOptions {
            id_order: true,
            ..IngestOptions::default()
        };
        let ordered = parse_reports(*format, "fuzz", data, &by_id)
            .unwrap_or_else(|e| panic!("{format}: refused only in id order: {e}"));
        assert_eq!(
            ordered.rejections, ingested.rejections,
            "{format}: rejections differ"
        );
        let mut expected: Vec<_> = ingested.reports.iter().zip(&ingested.rows).collect();
        let got: Vec<_> = ordered.reports.iter().zip(&ordered.rows).collect();
        if got != expected {
            expected.sort_by(|a, b| (a.0.id.as_str(), a.1).cmp(&(b.0.id.as_str(), b.1)));
            assert_eq!(
                got, expected,
                "{format}: id order is not input order sorted"
            );
        }
        if matches!(
            format,
            InputFormat::Csv | InputFormat::Jsonl | InputFormat::Geojson
        ) && !ingested.reports.is_empty()
        {
            let mut bytes = Vec::new();
            if write_reports(*format, &ingested.reports, &options, &mut bytes).is_ok() {
                let again = parse_reports(*format, "again", &bytes, &options)
                    .unwrap_or_else(|e| panic!("{format}: written output does not read back: {e}"));
                assert_eq!(
                    again.reports, ingested.reports,
                    "{format}: round trip differs"
                );
            }
        }
    }
});
