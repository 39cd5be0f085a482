//! Gathering reports from several inputs into one set: duplicate ids are resolved without
//! regard to input order.

use std::sync::Arc;

use rayon::prelude::*;
use truce_model::Report;
use truce_model::ingest::Rejection;

/// A report with where it came from.
#[derive(Debug, Clone)]
pub struct Sourced {
    /// The report.
    pub report: Report,
    /// Input file name (shared by every report of the file).
    pub file: Arc<str>,
    /// 1-based row in that file.
    pub row: u64,
}

/// Merges reports from every input into one set in canonical order (by id). Identical copies
/// of a report (same id, same content) count once. Copies that share an id but differ are
/// all rejected — keeping any one of them would depend on the order of the inputs.
pub fn merge(inputs: Vec<Sourced>) -> (Vec<Report>, Vec<Rejection>) {
    // Sort positions rather than the (large) reports; ties by place so messages are stable.
    let mut order: Vec<u32> = (0..inputs.len() as u32).collect();
    order.par_sort_unstable_by(|&a, &b| {
        let (a, b) = (&inputs[a as usize], &inputs[b as usize]);
        (a.report.id.as_str(), &*a.file, a.row).cmp(&(b.report.id.as_str(), &*b.file, b.row))
    });
    let mut slots: Vec<Option<Sourced>> = inputs.into_iter().map(Some).collect();
    let mut reports = Vec::with_capacity(slots.len());
    let mut rejections = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let id = |i: usize| {
            slots[order[i] as usize]
                .as_ref()
                .map(|s| s.report.id.as_str())
        };
        let mut end = start + 1;
        while end < order.len() && id(end) == id(start) {
            end += 1;
        }
        let copies: Vec<Sourced> = order[start..end]
            .iter()
            .filter_map(|&i| slots[i as usize].take())
            .collect();
        start = end;
        if copies.iter().all(|c| c.report == copies[0].report) {
            if let Some(first) = copies.into_iter().next() {
                reports.push(first.report);
            }
            continue;
        }
        let id = copies[0].report.id.clone();
        let places: Vec<String> = copies
            .iter()
            .map(|c| format!("{}:{}", c.file, c.row))
            .collect();
        for copy in &copies {
            rejections.push(Rejection {
                file: copy.file.to_string(),
                row: copy.row,
                column: Some("id".into()),
                value: Some(id.clone()),
                reason: format!(
                    "duplicate report id with different content ({}); none of the copies is used",
                    places.join(", ")
                ),
            });
        }
    }
    rejections.sort();
    (reports, rejections)
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
            source: Source {
                id: "s".into(),
                kind: SourceKind::Monitor,
                party: None,
            },
            time: TimeSpan::instant(0),
            location: Location {
                lon,
                lat: 48.0,
                uncertainty_m: 100.0,
            },
            place: None,
            action: ActionType::Artillery,
            target: Target::of(TargetKind::Military),
            site: None,
            accused: None,
            actors: vec![],
            casualties: Casualties::default(),
            text: String::new(),
            evidence: vec![],
        }
    }

    fn sourced(r: Report, file: &str, row: u64) -> Sourced {
        Sourced {
            report: r,
            file: file.into(),
            row,
        }
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
        let (reports, rejections) = merge(inputs);
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
        assert_eq!(merge(reversed), (reports, rejections));
    }
}
