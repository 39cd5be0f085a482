//! Incidents: groups of reports judged to describe one event, with the fields derived from
//! them.
//!
//! [`crate::corroborate`] decides which reports form an incident; this module only derives an
//! incident's fields from a given set of reports, so that a reviewer's merge or split can
//! rebuild an incident with exactly the same rules ([`Incident::from_members`]).
//!
//! Every derived field is a function of the *set* of member reports: members are taken in
//! ascending index order (which is id order when the reports are in
//! [`crate::corroborate::canonical_order`]), every sum runs in that order and every choice has
//! a tie-break on the vocabulary order or on ids, so two calls with the same set give
//! byte-identical incidents.
//!
//! # Derived place
//! Positions are placed on a local tangent plane at the first member, scaled by the WGS84
//! radii of curvature there (east–west `N·cos φ`, north–south `M`). Within the few kilometres
//! an incident may span this agrees with geodesic distances to millimetres; it is not meant
//! for members hundreds of kilometres apart, which corroboration never groups.
//!
//! - The centre is the mean of the members' points weighted by `1 / max(r, 50 m)²`, `r` being
//!   a member's uncertainty radius: a precise report pulls harder than a vague one, and the
//!   50 m floor keeps an "exact" report from overruling everything else.
//! - When the centre lies inside every member's uncertainty disk, the disks share at least
//!   that point, and the event (if every report is right) lies in their intersection. The
//!   radius is then `min over members of (distance(centre, member) + r)`: the smallest disk
//!   around the centre that contains one whole member disk, hence the intersection.
//! - Otherwise the reports disagree beyond their stated uncertainty, and the radius is
//!   `max over members of (distance(centre, member) + r)`: a disk covering every member's
//!   disk, which honestly shows the disagreement. It needs no cap: corroboration bounds the
//!   distance between members by its `max_extent_m`.
//!
//! A single report's incident has exactly that report's location.

use serde::Serialize;
use smallvec::SmallVec;
use truce_model::{ActionType, Casualties, Location, Report, SmolStr, Target, TargetKind};

/// The member report indices of an incident: up to four are held inline (most incidents have
/// one to three reports), more on the heap.
pub type Members = smallvec::SmallVec<[u32; 4]>;

/// `members` as [`Members`], inline when they fit.
pub(crate) fn members_of(members: Vec<u32>) -> Members {
    if members.len() <= 4 {
        Members::from_slice(&members)
    } else {
        Members::from_vec(members)
    }
}

/// Reports judged to describe the same event, with the fields derived from them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// `inc-` followed by the smallest member report id: stable as long as that report stays
    /// in the incident.
    pub id: SmolStr,
    /// Indices of the member reports in the report slice it was built from, ascending.
    pub members: Members,
    /// The intersection of the members' time intervals when it is not empty (every report
    /// can be right), else their hull (the smallest interval containing them all).
    pub time: truce_model::TimeSpan,
    /// Uncertainty-weighted centre and a radius covering the event; see the module docs.
    pub location: Location,
    /// The most frequent action among the members; ties go to the earlier value in the
    /// vocabulary.
    pub action: ActionType,
    /// The target: the most frequent known category (an energy sub-kind counts for `energy`),
    /// ties by vocabulary order, `unknown` only when no member names one; for `energy`, the
    /// most frequent sub-kind named by a member (ties by vocabulary order), if any.
    pub target: Target,
    /// A protected site named by a member (the smallest id when members name several).
    pub site: Option<SmolStr>,
    /// Element-wise maximum of the members' casualties (never the sum: two reports of one
    /// event count its dead once).
    pub casualties: Casualties,
    /// Number of distinct sources among the members.
    pub n_sources: u32,
}

/// Why an incident could not be built from a list of members.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IncidentError {
    /// An incident needs at least one report.
    #[error("an incident needs at least one member report")]
    NoMembers,
    /// A member index points past the end of the report slice.
    #[error("member index {index} is out of range for {n_reports} reports")]
    IndexOutOfRange {
        /// The offending index.
        index: u32,
        /// The number of reports given.
        n_reports: usize,
    },
    /// A member index is listed twice.
    #[error("member index {index} is listed twice")]
    DuplicateMember {
        /// The repeated index.
        index: u32,
    },
}

/// Metres per radian of longitude (`N cos φ`) and of latitude (`M`) at latitude `lat_rad`,
/// from the WGS84 radii of curvature.
pub(crate) fn metres_per_radian(lat_rad: f64) -> (f64, f64) {
    let (meridional, prime_vertical) = crate::geodesy::radii_of_curvature_m(lat_rad.to_degrees());
    ((prime_vertical * lat_rad.cos()).max(0.0), meridional)
}

/// A longitude difference in degrees brought into `[-180, 180]`.
pub(crate) fn wrap_degrees(delta: f64) -> f64 {
    let wrapped = (delta + 180.0).rem_euclid(360.0) - 180.0;
    if wrapped == -180.0 && delta > 0.0 {
        180.0
    } else {
        wrapped
    }
}

/// The smallest weight radius, metres: below it a report counts as this precise.
const MIN_WEIGHT_RADIUS_M: f64 = 50.0;

impl Incident {
    /// The member reports as the incident's attributions: one per member, each saying who
    /// reports (source id, kind, party) and whom it names (accused, actors), sorted by
    /// (source id, report id). Conflicting attributions stay side by side: disagreement is
    /// information. `reports` is the slice the incident was built from.
    pub fn attributions<'r>(&self, reports: &'r [Report]) -> Vec<&'r Report> {
        let mut members: Vec<&Report> = self.member_reports(reports).collect();
        members.sort_by(|a, b| {
            (a.source.id.as_str(), a.id.as_str()).cmp(&(b.source.id.as_str(), b.id.as_str()))
        });
        members
    }

    /// The member reports in index order. `reports` is the slice the incident was built from.
    pub fn member_reports<'r>(
        &self,
        reports: &'r [Report],
    ) -> impl Iterator<Item = &'r Report> + use<'r, '_> {
        self.members.iter().map(move |&i| &reports[i as usize])
    }

    /// Builds the incident made of `reports[i]` for each `i` in `members` (any order; the
    /// incident lists them ascending).
    ///
    /// This is the derivation [`crate::corroborate::corroborate`] uses, exposed so that a
    /// reviewed merge or split yields an incident derived by the same rules.
    pub fn from_members(reports: &[Report], mut members: Vec<u32>) -> Result<Self, IncidentError> {
        if members.is_empty() {
            return Err(IncidentError::NoMembers);
        }
        members.sort_unstable();
        for pair in members.windows(2) {
            if pair[0] == pair[1] {
                return Err(IncidentError::DuplicateMember { index: pair[0] });
            }
        }
        if let Some(&last) = members.last()
            && last as usize >= reports.len()
        {
            return Err(IncidentError::IndexOutOfRange {
                index: last,
                n_reports: reports.len(),
            });
        }
        Ok(derive(reports, members_of(members)))
    }
}

/// `inc-` and a report id.
fn incident_id(report_id: &str) -> SmolStr {
    let mut id = smol_str::SmolStrBuilder::new();
    id.push_str("inc-");
    id.push_str(report_id);
    id.finish()
}

/// The incident of one report alone: the general derivation gives exactly this.
fn derive_single(report: &Report, members: Members) -> Incident {
    let (start_ms, end_ms) = ordered_span(report.time);
    Incident {
        id: incident_id(&report.id),
        members,
        time: truce_model::TimeSpan { start_ms, end_ms },
        location: report.location,
        action: report.action,
        target: derived_target(std::slice::from_ref(&report)),
        site: report.site().map(SmolStr::new),
        casualties: report.casualties,
        n_sources: 1,
    }
}

/// Derives an incident from members that are non-empty, ascending, distinct and in range.
pub(crate) fn derive(reports: &[Report], members: Members) -> Incident {
    if let [single] = members[..] {
        derive_single(&reports[single as usize], members)
    } else {
        derive_many(reports, members)
    }
}

/// [`derive`] for any number of members.
fn derive_many(reports: &[Report], members: Members) -> Incident {
    // Inline for the few members most incidents have: a million incidents allocate nothing
    // here.
    let member_reports: SmallVec<[&Report; 4]> =
        members.iter().map(|&i| &reports[i as usize]).collect();

    let first_id = member_reports
        .iter()
        .map(|r| r.id.as_str())
        .min()
        .unwrap_or_default();
    let id = incident_id(first_id);

    let time = derived_time(&member_reports);
    let location = derived_location(&member_reports);
    let action = derived_action(&member_reports);
    let target = derived_target(&member_reports);
    let site = member_reports
        .iter()
        .filter_map(|r| r.site())
        .min()
        .map(SmolStr::new);

    let mut source_ids: SmallVec<[&str; 4]> = member_reports
        .iter()
        .map(|r| r.source.id.as_str())
        .collect();
    source_ids.sort_unstable();
    source_ids.dedup();
    let n_sources = source_ids.len() as u32;

    let casualties = member_reports
        .iter()
        .fold(Casualties::default(), |acc, r| acc.max(r.casualties));

    Incident {
        id,
        members,
        time,
        location,
        action,
        target,
        site,
        casualties,
        n_sources,
    }
}

fn derived_time(members: &[&Report]) -> truce_model::TimeSpan {
    let mut max_start = i64::MIN;
    let mut min_end = i64::MAX;
    let mut min_start = i64::MAX;
    let mut max_end = i64::MIN;
    for report in members {
        let (start, end) = ordered_span(report.time);
        max_start = max_start.max(start);
        min_end = min_end.min(end);
        min_start = min_start.min(start);
        max_end = max_end.max(end);
    }
    if max_start <= min_end {
        truce_model::TimeSpan {
            start_ms: max_start,
            end_ms: min_end,
        }
    } else {
        truce_model::TimeSpan {
            start_ms: min_start,
            end_ms: max_end,
        }
    }
}

/// A span's bounds in order (a reversed span is read as the same closed interval).
pub(crate) fn ordered_span(span: truce_model::TimeSpan) -> (i64, i64) {
    if span.start_ms <= span.end_ms {
        (span.start_ms, span.end_ms)
    } else {
        (span.end_ms, span.start_ms)
    }
}

/// An uncertainty radius usable in arithmetic: negative or NaN reads as 0.
pub(crate) fn clean_radius(radius_m: f64) -> f64 {
    if radius_m > 0.0 { radius_m } else { 0.0 }
}

fn derived_location(members: &[&Report]) -> Location {
    let origin = members[0].location;
    if members.len() == 1 {
        return origin;
    }
    let (metres_per_rad_lon, metres_per_rad_lat) = metres_per_radian(origin.lat.to_radians());
    let points: SmallVec<[(f64, f64, f64); 4]> = members
        .iter()
        .map(|r| {
            let x = wrap_degrees(r.location.lon - origin.lon).to_radians() * metres_per_rad_lon;
            let y = (r.location.lat - origin.lat).to_radians() * metres_per_rad_lat;
            (x, y, clean_radius(r.location.uncertainty_m))
        })
        .collect();

    let mut weight_sum = 0.0;
    let mut x_sum = 0.0;
    let mut y_sum = 0.0;
    for &(x, y, radius) in &points {
        let floor = radius.max(MIN_WEIGHT_RADIUS_M);
        let weight = 1.0 / (floor * floor);
        weight_sum += weight;
        x_sum += weight * x;
        y_sum += weight * y;
    }
    let centre_x = x_sum / weight_sum;
    let centre_y = y_sum / weight_sum;

    let mut all_contain_centre = true;
    let mut min_cover = f64::INFINITY;
    let mut max_cover: f64 = 0.0;
    for &(x, y, radius) in &points {
        let distance = (x - centre_x).hypot(y - centre_y);
        if distance > radius {
            all_contain_centre = false;
        }
        min_cover = min_cover.min(distance + radius);
        max_cover = max_cover.max(distance + radius);
    }
    let uncertainty_m = if all_contain_centre {
        min_cover
    } else {
        max_cover
    };

    let lon = if metres_per_rad_lon > 0.0 {
        let lon = origin.lon + (centre_x / metres_per_rad_lon).to_degrees();
        if (-180.0..=180.0).contains(&lon) {
            lon
        } else {
            wrap_degrees(lon)
        }
    } else {
        origin.lon
    };
    let lat = (origin.lat + (centre_y / metres_per_rad_lat).to_degrees()).clamp(-90.0, 90.0);
    Location {
        lon,
        lat,
        uncertainty_m,
    }
}

fn derived_action(members: &[&Report]) -> ActionType {
    let mut counts = [0u32; ActionType::ALL.len()];
    for report in members {
        counts[report.action as usize] += 1;
    }
    most_frequent(&counts)
        .and_then(|i| ActionType::ALL.get(i).copied())
        .unwrap_or(members[0].action)
}

/// The index of the largest count (the first one on ties); `None` when all are zero.
fn most_frequent(counts: &[u32]) -> Option<usize> {
    let mut best: Option<(usize, u32)> = None;
    for (i, &count) in counts.iter().enumerate() {
        if count > 0 && best.is_none_or(|(_, best_count)| count > best_count) {
            best = Some((i, count));
        }
    }
    best.map(|(i, _)| i)
}

fn derived_target(members: &[&Report]) -> Target {
    let mut kind_counts = [0u32; TargetKind::ALL.len()];
    let mut energy_counts = [0u32; truce_model::EnergyKind::ALL.len()];
    for report in members {
        if report.target.kind != TargetKind::Unknown {
            kind_counts[report.target.kind as usize] += 1;
        }
        if report.target.kind == TargetKind::Energy
            && let Some(energy) = report.target.energy
        {
            energy_counts[energy as usize] += 1;
        }
    }
    let Some(kind) = most_frequent(&kind_counts).and_then(|i| TargetKind::ALL.get(i).copied())
    else {
        return Target::of(TargetKind::Unknown);
    };
    if kind == TargetKind::Energy
        && let Some(energy) =
            most_frequent(&energy_counts).and_then(|i| truce_model::EnergyKind::ALL.get(i))
    {
        return Target::energy(*energy);
    }
    Target::of(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_model::{EnergyKind, Source, SourceKind, TimeSpan};

    fn report(id: &str, source: &str, lon: f64, lat: f64, r: f64, t: (i64, i64)) -> Report {
        Report {
            id: id.to_string().into(),
            source: std::sync::Arc::new(Source {
                id: source.to_string().into(),
                kind: SourceKind::Monitor,
                party: None,
            }),
            time: TimeSpan {
                start_ms: t.0,
                end_ms: t.1,
            },
            location: Location {
                lon,
                lat,
                uncertainty_m: r,
            },
            action: ActionType::Artillery,
            target: Target::of(TargetKind::Unknown),
            accused: None,
            casualties: Casualties::default(),
            details: truce_model::Details::default(),
        }
    }

    #[test]
    fn single_member_keeps_its_report_fields() {
        let r = report("b", "s", 37.5, 48.0, 123.0, (5, 9));
        let inc = Incident::from_members(std::slice::from_ref(&r), vec![0]).unwrap();
        assert_eq!(inc.id, "inc-b");
        assert_eq!(inc.location, r.location);
        assert_eq!(inc.time, r.time);
        assert_eq!(inc.n_sources, 1);
    }

    #[test]
    fn rejects_bad_member_lists() {
        let r = vec![report("a", "s", 0.0, 0.0, 0.0, (0, 0))];
        assert_eq!(
            Incident::from_members(&r, vec![]),
            Err(IncidentError::NoMembers)
        );
        assert_eq!(
            Incident::from_members(&r, vec![0, 0]),
            Err(IncidentError::DuplicateMember { index: 0 })
        );
        assert_eq!(
            Incident::from_members(&r, vec![1]),
            Err(IncidentError::IndexOutOfRange {
                index: 1,
                n_reports: 1
            })
        );
    }

    #[test]
    fn equal_weights_put_the_centre_in_the_middle() {
        // Two exact points 1 km apart north-south: centre halfway, radius 500 m (the centre
        // is in neither zero-radius disk, so the covering radius).
        let metres_per_deg_lat = metres_per_radian(48.0_f64.to_radians()).1.to_radians();
        let dlat = 1000.0 / metres_per_deg_lat;
        let r = vec![
            report("a", "s1", 37.0, 48.0, 0.0, (0, 0)),
            report("b", "s2", 37.0, 48.0 + dlat, 0.0, (0, 0)),
        ];
        let inc = Incident::from_members(&r, vec![1, 0]).unwrap();
        assert_eq!(inc.members[..], [0, 1]);
        assert!((inc.location.lat - (48.0 + dlat / 2.0)).abs() < 1e-9);
        assert_eq!(inc.location.lon, 37.0);
        assert!((inc.location.uncertainty_m - 500.0).abs() < 1e-6);
    }

    #[test]
    fn precise_report_dominates_and_overlapping_disks_give_the_tight_radius() {
        let metres_per_deg_lat = metres_per_radian(48.0_f64.to_radians()).1.to_radians();
        let dlat = 1000.0 / metres_per_deg_lat;
        // 100 m vs 1000 m radius: weights 1/100² and 1/1000², ratio 100:1.
        let r = vec![
            report("a", "s1", 37.0, 48.0, 100.0, (0, 0)),
            report("b", "s2", 37.0, 48.0 + dlat, 1000.0, (0, 0)),
        ];
        let inc = Incident::from_members(&r, vec![0, 1]).unwrap();
        let offset_m = (inc.location.lat - 48.0) * metres_per_deg_lat;
        assert!((offset_m - 1000.0 / 101.0).abs() < 1e-6, "{offset_m}");
        // The centre lies in both disks; the tight radius covers report a's disk.
        assert!((inc.location.uncertainty_m - (offset_m + 100.0)).abs() < 1e-6);
    }

    #[test]
    fn target_prefers_known_then_frequent_then_specific_energy() {
        let mut r = vec![
            report("a", "s1", 0.0, 0.0, 0.0, (0, 0)),
            report("b", "s2", 0.0, 0.0, 0.0, (0, 0)),
            report("c", "s3", 0.0, 0.0, 0.0, (0, 0)),
        ];
        let all = vec![0, 1, 2];
        assert_eq!(
            Incident::from_members(&r, all.clone()).unwrap().target,
            Target::of(TargetKind::Unknown)
        );
        r[0].target = Target::of(TargetKind::Energy);
        assert_eq!(
            Incident::from_members(&r, all.clone()).unwrap().target,
            Target::of(TargetKind::Energy)
        );
        r[1].target = Target::energy(EnergyKind::PowerTransmission);
        assert_eq!(
            Incident::from_members(&r, all.clone()).unwrap().target,
            Target::energy(EnergyKind::PowerTransmission)
        );
        // Medical once vs energy twice: energy wins on frequency.
        r[2].target = Target::of(TargetKind::Medical);
        assert_eq!(
            Incident::from_members(&r, all.clone()).unwrap().target,
            Target::energy(EnergyKind::PowerTransmission)
        );
        // One each: vocabulary order (energy before medical).
        r[0].target = Target::of(TargetKind::Unknown);
        assert_eq!(
            Incident::from_members(&r, all).unwrap().target,
            Target::energy(EnergyKind::PowerTransmission)
        );
    }

    #[test]
    fn action_is_most_frequent_with_vocabulary_tie_break() {
        let mut r = vec![
            report("a", "s1", 0.0, 0.0, 0.0, (0, 0)),
            report("b", "s2", 0.0, 0.0, 0.0, (0, 0)),
            report("c", "s3", 0.0, 0.0, 0.0, (0, 0)),
        ];
        r[0].action = ActionType::Mlrs;
        r[1].action = ActionType::Mortar;
        r[2].action = ActionType::Mlrs;
        assert_eq!(
            Incident::from_members(&r, vec![0, 1, 2]).unwrap().action,
            ActionType::Mlrs
        );
        assert_eq!(
            Incident::from_members(&r, vec![0, 1]).unwrap().action,
            ActionType::Mortar
        );
    }

    #[test]
    fn the_single_report_shortcut_matches_the_general_derivation() {
        let mut reports = vec![
            report("a", "s1", 37.5, 48.0, 250.0, (10, 20)),
            report("b", "s2", -179.5, 65.0, 0.0, (30, 20)),
            report("c", "s3", 0.0, 0.0, 10.0, (5, 5)),
        ];
        reports[0].target = Target::energy(EnergyKind::OilRefinery);
        reports[0].details.make_mut().site = Some("refinery-1".into());
        reports[0].accused = Some("RU".into());
        reports[0].details.make_mut().actors = vec!["x".into()];
        std::sync::Arc::make_mut(&mut reports[1].source).party = Some("UA".into());
        reports[1].casualties.civilian_killed = 4;
        reports[2].target = Target::of(TargetKind::Medical);
        for i in 0..reports.len() as u32 {
            let single = derive_single(&reports[i as usize], smallvec::smallvec![i]);
            let general = derive_many(&reports, smallvec::smallvec![i]);
            assert_eq!(format!("{single:?}"), format!("{general:?}"));
        }
    }

    #[test]
    fn wrap_degrees_stays_in_range() {
        assert_eq!(wrap_degrees(190.0), -170.0);
        assert_eq!(wrap_degrees(-190.0), 170.0);
        assert_eq!(wrap_degrees(180.0), 180.0);
        assert_eq!(wrap_degrees(-180.0), -180.0);
        assert_eq!(wrap_degrees(0.5), 0.5);
    }
}
