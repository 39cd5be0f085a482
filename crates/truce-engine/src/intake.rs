//! Gathering reports from several inputs into one set: duplicate ids are resolved without
//! regard to input order.

use std::sync::Arc;

use rayon::prelude::*;

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

/// Where each of a list of reports was read, held as each file's run of rows: a million
/// reports from one file are one name and a million row numbers, not a million shared
/// names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins {
    /// Each file with the index of its first report; the starts ascend.
    files: Vec<(Arc<str>, usize)>,
    /// The 1-based row of each report.
    rows: Vec<u64>,
}

impl Origins {
    /// No reports yet.
    pub fn new() -> Self {
        Origins::default()
    }

    /// Appends the reports of one more file, read at `rows`.
    pub fn push_file(&mut self, file: Arc<str>, rows: Vec<u64>) {
        if rows.is_empty() {
            return;
        }
        self.files.push((file, self.rows.len()));
        if self.rows.is_empty() {
            self.rows = rows;
        } else {
            self.rows.extend(rows);
        }
    }

    /// Appends one report's origin.
    pub fn push(&mut self, origin: Origin) {
        if self
            .files
            .last()
            .is_none_or(|(file, _)| *file != origin.file)
        {
            self.files.push((origin.file, self.rows.len()));
        }
        self.rows.push(origin.row);
    }

    /// The number of reports.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The file and row of report `index` (`index < len()`).
    fn get(&self, index: usize) -> (&Arc<str>, u64) {
        let file = self.files.partition_point(|&(_, start)| start <= index) - 1;
        (&self.files[file].0, self.rows[index])
    }
}

impl Extend<Origin> for Origins {
    fn extend<I: IntoIterator<Item = Origin>>(&mut self, origins: I) {
        for origin in origins {
            self.push(origin);
        }
    }
}

impl FromIterator<Origin> for Origins {
    fn from_iter<I: IntoIterator<Item = Origin>>(origins: I) -> Self {
        let mut all = Origins::new();
        all.extend(origins);
        all
    }
}

impl From<Vec<Origin>> for Origins {
    fn from(origins: Vec<Origin>) -> Self {
        origins.into_iter().collect()
    }
}

/// Merges reports from every input into one set in canonical order (by id). `origins` is
/// parallel to `reports`. Identical copies of a report (same id, same content) count once.
/// Copies that share an id but differ are all rejected — keeping any one of them would
/// depend on the order of the inputs.
pub fn merge(reports: Vec<Report>, origins: impl Into<Origins>) -> (Vec<Report>, Vec<Rejection>) {
    let origins = origins.into();
    assert_eq!(reports.len(), origins.len(), "one origin per report");
    // The usual case, a single file read in id order: ids strictly ascending means in
    // canonical order with no repeated id, known from one pass instead of two.
    if reports
        .par_windows(2)
        .with_min_len(4096)
        .all(|pair| pair[0].id < pair[1].id)
    {
        return (reports, Vec::new());
    }
    // `from[k]` is the input index of the report now at position `k`.
    let (mut reports, from) = match canonical_order(&reports, &origins) {
        // Often so: a single file in id order, or read in id order (`IngestOptions`).
        None => (reports, None),
        Some(order) => (gather(reports, &order, touch), Some(order)),
    };
    let origin_at = |position: usize| {
        origins.get(
            from.as_ref()
                .map_or(position, |from| from[position] as usize),
        )
    };

    // The first positions of runs of equal ids; usually there are none.
    let repeated: Vec<usize> = reports
        .par_windows(2)
        .enumerate()
        .filter(|(position, pair)| {
            pair[0].id == pair[1].id && (*position == 0 || reports[position - 1].id != pair[0].id)
        })
        .map(|(position, _)| position)
        .collect();
    if repeated.is_empty() {
        return (reports, Vec::new());
    }

    let mut rejections = Vec::new();
    let mut keep = vec![true; reports.len()];
    for start in repeated {
        let mut end = start + 1;
        while end < reports.len() && reports[end].id == reports[start].id {
            end += 1;
        }
        let group = &reports[start..end];
        keep[start + 1..end].fill(false);
        if group[1..].iter().any(|r| *r != group[0]) {
            keep[start] = false;
            let places: Vec<String> = (start..end)
                .map(|position| {
                    let (file, row) = origin_at(position);
                    format!("{file}:{row}")
                })
                .collect();
            for position in start..end {
                let (file, row) = origin_at(position);
                rejections.push(Rejection {
                    file: file.to_string(),
                    row,
                    column: Some("id".into()),
                    value: Some(group[0].id.to_string()),
                    reason: format!(
                        "duplicate report id with different content ({}); none of the copies is used",
                        places.join(", ")
                    ),
                });
            }
        }
    }
    let mut flags = keep.into_iter();
    reports.retain(|_| flags.next().unwrap_or(false));
    rejections.sort();
    (reports, rejections)
}

/// The canonical order of `reports` (by id, then file name and row), `None` when they are in
/// it already.
fn canonical_order(reports: &[Report], origins: &Origins) -> Option<Vec<u32>> {
    order_by_id(
        reports.len(),
        |index| reports[index].id.as_str(),
        |a, b| origins.get(a as usize).cmp(&origins.get(b as usize)),
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
        let (reports, origins): (Vec<Report>, Origins) = inputs.into_iter().unzip();
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

    /// Ascending ids, as one file read in id order gives them, come back as they are; a
    /// repeated id among otherwise ascending ones is still found (the quick check asks for
    /// strictly ascending ids).
    #[test]
    fn ascending_ids_pass_and_a_repeat_among_them_is_caught() {
        let ascending: Vec<_> = (0..10_000)
            .map(|i| sourced(report(&format!("r{i:05}"), 37.0), "x.csv", i + 2))
            .collect();
        let (reports, rejections) = merge_pairs(ascending.clone());
        assert!(rejections.is_empty());
        let ids: Vec<_> = reports.iter().map(|r| r.id.to_string()).collect();
        let expected: Vec<_> = ascending.iter().map(|(r, _)| r.id.to_string()).collect();
        assert_eq!(ids, expected);

        // The same id twice in a row, differing, deep inside a parallel stretch.
        let mut repeated = ascending;
        repeated[7_000].0.id = repeated[6_999].0.id.clone();
        repeated[7_000].0.location.lon = 38.0;
        let (reports, rejections) = merge_pairs(repeated);
        assert_eq!(reports.len(), 9_998, "both differing copies are left out");
        assert_eq!(rejections.len(), 2);
        assert_eq!(rejections[0].row, 7_001);
        assert_eq!(rejections[1].row, 7_002);
    }

    #[test]
    fn origins_name_each_reports_file_and_row() {
        let mut origins = Origins::new();
        origins.push_file(Arc::from("a.csv"), vec![2, 3]);
        origins.push_file(Arc::from("empty.csv"), Vec::new());
        origins.push_file(Arc::from("b.csv"), vec![7]);
        origins.push(Origin {
            file: Arc::from("b.csv"),
            row: 9,
        });
        origins.push(Origin {
            file: Arc::from("c.csv"),
            row: 1,
        });
        let got: Vec<(String, u64)> = (0..origins.len())
            .map(|index| {
                let (file, row) = origins.get(index);
                (file.to_string(), row)
            })
            .collect();
        let want = [
            ("a.csv", 2),
            ("a.csv", 3),
            ("b.csv", 7),
            ("b.csv", 9),
            ("c.csv", 1),
        ];
        assert_eq!(
            got,
            want.map(|(file, row)| (file.to_string(), row)).to_vec()
        );
        let listed: Origins = want
            .iter()
            .map(|&(file, row)| Origin {
                file: Arc::from(file),
                row,
            })
            .collect();
        assert_eq!(listed, origins);
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
            let order = canonical_order(&reports, &Origins::from(origins.clone()))
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
