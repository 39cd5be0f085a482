//! Gathering reports from several inputs into one set: duplicate ids are resolved without
//! regard to input order.

use std::sync::Arc;

use crate::permute::gather;
use crate::read_ahead::touch;
use truce_model::Report;
use truce_model::ingest::Rejection;
use truce_model::report::id_order::order_by_id;

/// Where a report was read: its file (shared by every report of the file) and 1-based row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Input file name.
    pub file: Arc<str>,
    /// 1-based row in that file.
    pub row: u64,
}

/// Merges reports from every input into one set in canonical order (by id). `origins` is
/// parallel to `reports`. Identical copies of a report (same id, same content) count once.
/// Copies that share an id but differ are all rejected — keeping any one of them would
/// depend on the order of the inputs.
pub fn merge(reports: Vec<Report>, origins: Vec<Origin>) -> (Vec<Report>, Vec<Rejection>) {
    assert_eq!(reports.len(), origins.len(), "one origin per report");
    let (mut reports, origins): (Vec<Report>, Vec<&Origin>) =
        match canonical_order(&reports, &origins) {
            // Often so: a single file in id order, or read in id order (`IngestOptions`).
            None => (reports, origins.iter().collect()),
            Some(order) => {
                let origins = order.iter().map(|&i| &origins[i as usize]).collect();
                (gather(reports, &order, touch), origins)
            }
        };

    let mut rejections = Vec::new();
    let mut keep = vec![false; reports.len()];
    let mut start = 0;
    while start < reports.len() {
        let mut end = start + 1;
        while end < reports.len() && reports[end].id == reports[start].id {
            end += 1;
        }
        let group = &reports[start..end];
        if group[1..].iter().all(|r| *r == group[0]) {
            keep[start] = true;
        } else {
            let places: Vec<String> = origins[start..end]
                .iter()
                .map(|o| format!("{}:{}", o.file, o.row))
                .collect();
            for origin in &origins[start..end] {
                rejections.push(Rejection {
                    file: origin.file.to_string(),
                    row: origin.row,
                    column: Some("id".into()),
                    value: Some(group[0].id.to_string()),
                    reason: format!(
                        "duplicate report id with different content ({}); none of the copies is used",
                        places.join(", ")
                    ),
                });
            }
        }
        start = end;
    }
    let mut flags = keep.into_iter();
    reports.retain(|_| flags.next().unwrap_or(false));
    rejections.sort();
    (reports, rejections)
}

/// The order of the reports by (id, file, row); `None` when they are in it already.
fn canonical_order(reports: &[Report], origins: &[Origin]) -> Option<Vec<u32>> {
    order_by_id(
        reports.len(),
        |index| reports[index].id.as_str(),
        |a, b| {
            let (oa, ob) = (&origins[a as usize], &origins[b as usize]);
            (&*oa.file, oa.row).cmp(&(&*ob.file, ob.row))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_model::{
        ActionType, Casualties, Location, Source, SourceKind, Target, TargetKind, TimeSpan,
    };

    fn report(id: &str, lon: f64) -> Report {
        Report {
            id: id.into(),
            source: std::sync::Arc::new(Source {
                id: "s".into(),
                kind: SourceKind::Monitor,
                party: None,
            }),
            time: TimeSpan::instant(0),
            location: Location {
                lon,
                lat: 48.0,
                uncertainty_m: 100.0,
            },
            action: ActionType::Artillery,
            target: Target::of(TargetKind::Military),
            accused: None,
            casualties: Casualties::default(),
            details: truce_model::Details::default(),
        }
    }

    fn sourced(r: Report, file: &str, row: u64) -> (Report, Origin) {
        (
            r,
            Origin {
                file: Arc::from(file),
                row,
            },
        )
    }

    fn merge_pairs(inputs: Vec<(Report, Origin)>) -> (Vec<Report>, Vec<Rejection>) {
        let (reports, origins) = inputs.into_iter().unzip();
        merge(reports, origins)
    }

    #[test]
    fn identical_copies_count_once_and_differing_copies_are_all_rejected() {
        let inputs = vec![
            sourced(report("b", 37.0), "x.csv", 2),
            sourced(report("a", 37.0), "x.csv", 3),
            sourced(report("a", 37.0), "y.csv", 2),
            sourced(report("c", 37.0), "x.csv", 4),
            sourced(report("c", 37.5), "y.csv", 3),
        ];
        let mut reversed = inputs.clone();
        reversed.reverse();
        let (reports, rejections) = merge_pairs(inputs);
        let ids: Vec<_> = reports.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(rejections.len(), 2);
        assert_eq!(
            (rejections[0].file.as_str(), rejections[0].row),
            ("x.csv", 4)
        );
        assert!(
            rejections[0].reason.contains("x.csv:4, y.csv:3"),
            "{}",
            rejections[0].reason
        );
        assert_eq!(merge_pairs(reversed), (reports, rejections));
    }

    proptest::proptest! {
        /// The integer-prefix sort gives the order of a plain sort by (id, file, row), for ids
        /// that share long prefixes, are prefixes of each other, or hold NUL bytes.
        #[test]
        fn canonical_order_is_the_plain_order(
            picks in proptest::collection::vec((0usize..6, 0u8..4, 0u8..3, 1u64..4), 0..60)
        ) {
            let stems = ["", "1", "10", "abcdefghijklmnop", "abcdefghijklmnopq", "a\0"];
            let mut reports = Vec::new();
            let mut origins = Vec::new();
            for (stem, tail, file, row) in picks {
                let id = format!("{}{}", stems[stem], "\0xy".chars().take(tail as usize).collect::<String>());
                reports.push(report(&id, 37.0));
                origins.push(Origin { file: Arc::from(["a.csv", "b.csv", "c.csv"][file as usize]), row });
            }
            let mut expected: Vec<u32> = (0..reports.len() as u32).collect();
            expected.sort_by(|&a, &b| {
                let (ra, rb) = (&reports[a as usize], &reports[b as usize]);
                let (oa, ob) = (&origins[a as usize], &origins[b as usize]);
                (ra.id.as_str(), &*oa.file, oa.row).cmp(&(rb.id.as_str(), &*ob.file, ob.row))
            });
            let order = canonical_order(&reports, &origins)
                .unwrap_or_else(|| (0..reports.len() as u32).collect());
            let key = |i: &u32| {
                let (r, o) = (&reports[*i as usize], &origins[*i as usize]);
                (r.id.to_string(), o.file.to_string(), o.row)
            };
            let got: Vec<_> = order.iter().map(key).collect();
            let want: Vec<_> = expected.iter().map(key).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }
}
