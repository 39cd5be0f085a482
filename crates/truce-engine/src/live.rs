//! Live findings: incidents and findings kept up to date as reports arrive one at a time or
//! in batches, always equal to what the batch job (`intake::merge`, then
//! [`corroborate`], then [`crate::assess::assess`]) gives for the same reports.
//!
//! # How a new report is taken in
//! Corroboration works on the connected components of the graph of linkable report pairs,
//! independently (step 2 of the [corroboration docs](crate::corroborate)). [`Live`] keeps that
//! graph: a new report is linked to every earlier report it is linkable with (found through a
//! grid of cells at least one link reach wide, and a time range within each cell). Only the
//! component the report joins — its own and those of its new neighbours, merged — is grouped
//! again, by the batch function itself on those reports alone, so the groups are the batch
//! groups. Only the incidents of that component are judged again. The cost of a report is the
//! size of its component, not of the record.
//!
//! # Duplicate ids
//! As in the batch merge: a copy identical to a report already held changes nothing; a copy
//! that differs withdraws the report already held (its component is grouped again without it)
//! and every later report with that id is refused too.
//!
//! # Reciprocity
//! Under a reciprocity clause the batch job judges every incident once without releases, and
//! the earliest established violation then releases the other parties for the final findings.
//! [`Live`] keeps each incident's first-pass violation key; when the earliest key changes
//! (rarely: an earlier violation comes to light), every incident is judged again under the new
//! releases.
//!
//! # Determinism
//! The state after a sequence of insertions depends only on the set of reports (and the id
//! conflicts among them), not on their order or on how they were batched: tested against the
//! batch job on random sequences.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use truce_model::agreement::{Agreement, Reciprocity};
use truce_model::{Report, SmolStr};

use crate::adjudicate::{
    Adjudicator, Finding, PrepareError, Releases, ViolationKey, releases, violation_key,
};
use crate::corroborate::{
    CorroborationParams, corroborate, link_reach_m, linkable, usable_position,
};
use crate::geodesy::{WGS84_A, WGS84_E2};
use crate::incident::{Incident, members_of};
use crate::review::{Annotation, ReviewIndex};

/// What became of one report handed to [`Live::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insertion {
    /// Taken in.
    Added,
    /// An identical copy of a report already held: nothing changed.
    Identical,
    /// Its id is held by a report with different content: the report held before (if any) is
    /// withdrawn and this one is refused, as the batch job rejects every such copy.
    Conflict,
}

/// What the state of one id is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdState {
    Held(u32),
    Conflicted,
}

/// An incident with its findings, one per agreement.
#[derive(Debug, Clone)]
struct Judged {
    /// Members are slots of `Live::reports`, in report id order.
    incident: Incident,
    findings: Vec<Finding>,
    /// Per agreement under reciprocity: the first-pass violation key.
    first_pass: Vec<Option<ViolationKey>>,
}

/// The incidents and findings of a growing set of reports under one or more agreements
/// (readings); see the [module docs](self).
#[derive(Debug)]
pub struct Live {
    params: CorroborationParams,
    adjudicators: Vec<Adjudicator<'static>>,
    /// Reports by slot, in arrival order; a withdrawn report keeps its slot.
    reports: Vec<Report>,
    held: Vec<bool>,
    /// Whether a slot takes part in the automatic grouping: held, not withdrawn by a
    /// decision, not pinned by a merge or split.
    in_graph: Vec<bool>,
    /// Monitors' and sources' decisions so far.
    reviews: Arc<ReviewIndex>,
    ids: BTreeMap<SmolStr, IdState>,
    grid: LinkGrid,
    /// Linkable neighbours of each slot.
    links: Vec<Vec<u32>>,
    incident_of: Vec<Option<SmolStr>>,
    /// Shared, so that a [`SnapshotSource`] takes them without copying (an incident judged
    /// again while a snapshot holds it is copied first).
    incidents: BTreeMap<SmolStr, Arc<Judged>>,
    /// Per agreement under reciprocity: every incident's first-pass violation key.
    violations: Vec<BTreeSet<ViolationKey>>,
    releases: Vec<Releases>,
}

/// The state in the batch job's terms: reports in canonical order, incidents sorted by id with
/// members as indices into those reports, and per agreement the findings parallel to the
/// incidents and the releases that applied.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSnapshot {
    /// The reports held, by id.
    pub reports: Vec<Report>,
    /// The incidents, by id.
    pub incidents: Vec<Incident>,
    /// Per agreement (in the order given to [`Live::new`]), one finding per incident.
    pub findings: Vec<Vec<Finding>>,
    /// Per agreement, the reciprocity releases.
    pub releases: Vec<Releases>,
}

/// The incidents and findings of a [`Live`] as of one moment, sharing them with the live
/// state instead of copying them: taking one ([`Live::view`]) costs a pointer per incident,
/// whatever the reports hold. Later changes to the live state do not show in it (an incident
/// judged again while a view holds it is copied first).
///
/// Incidents are in id order. Their members are *slots*, not positions in a list of reports:
/// each report gets the next slot, from 0, when it is added ([`Insertion::Added`]), in the
/// order of insertion, and keeps it; a caller that records what it fed in that order can
/// look a member up by its slot. Members are listed in report id order.
#[derive(Debug, Clone)]
pub struct LiveView {
    incidents: Vec<Arc<Judged>>,
    n_slots: usize,
}

impl LiveView {
    /// The number of incidents.
    pub fn len(&self) -> usize {
        self.incidents.len()
    }

    /// Whether there is no incident.
    pub fn is_empty(&self) -> bool {
        self.incidents.is_empty()
    }

    /// The number of slots given out when the view was taken (every member is below it).
    pub fn n_slots(&self) -> usize {
        self.n_slots
    }

    /// The incident at `position` (in id order); its members are slots.
    pub fn incident(&self, position: usize) -> Option<&Incident> {
        Some(&self.incidents.get(position)?.incident)
    }

    /// The findings of the incident at `position`, one per agreement in the order given to
    /// [`Live::new`].
    pub fn findings(&self, position: usize) -> &[Finding] {
        self.incidents
            .get(position)
            .map_or(&[], |judged| judged.findings.as_slice())
    }

    /// The incidents with their findings, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (&Incident, &[Finding])> {
        self.incidents
            .iter()
            .map(|judged| (&judged.incident, judged.findings.as_slice()))
    }

    /// The position of the incident with this id.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.incidents
            .binary_search_by(|judged| judged.incident.id.as_str().cmp(id))
            .ok()
    }

    /// The position of the first incident whose id sorts after `id`.
    pub fn position_after(&self, id: &str) -> usize {
        self.incidents
            .partition_point(|judged| judged.incident.id.as_str() <= id)
    }
}

impl Live {
    /// An empty state judging by `agreements` (e.g. every interpretation of one agreement
    /// version) and grouping by `params`.
    pub fn new(
        agreements: Vec<Arc<Agreement>>,
        params: CorroborationParams,
    ) -> Result<Live, PrepareError> {
        let adjudicators = agreements
            .into_iter()
            .map(Adjudicator::new)
            .collect::<Result<Vec<_>, _>>()?;
        let n_agreements = adjudicators.len();
        Ok(Live {
            params,
            adjudicators,
            reports: Vec::new(),
            held: Vec::new(),
            in_graph: Vec::new(),
            reviews: Arc::new(ReviewIndex::new()),
            ids: BTreeMap::new(),
            grid: LinkGrid::new(link_reach_m(&params)),
            links: Vec::new(),
            incident_of: Vec::new(),
            incidents: BTreeMap::new(),
            violations: vec![BTreeSet::new(); n_agreements],
            releases: vec![Releases::new(); n_agreements],
        })
    }

    /// Takes in one report.
    pub fn insert(&mut self, report: Report) -> Insertion {
        self.insert_batch(vec![report])[0]
    }

    /// Takes in a batch of reports, grouping and judging each affected component once.
    pub fn insert_batch(&mut self, reports: Vec<Report>) -> Vec<Insertion> {
        let mut dirty: BTreeSet<u32> = BTreeSet::new();
        let outcomes = reports
            .into_iter()
            .map(|report| match self.ids.get(&report.id).copied() {
                None => {
                    let slot = self.add(report);
                    dirty.insert(slot);
                    Insertion::Added
                }
                Some(IdState::Held(slot)) if self.reports[slot as usize] == report => {
                    Insertion::Identical
                }
                Some(IdState::Held(slot)) => {
                    self.ids.insert(report.id.clone(), IdState::Conflicted);
                    dirty.extend(self.withdraw(slot));
                    dirty.insert(slot);
                    Insertion::Conflict
                }
                Some(IdState::Conflicted) => Insertion::Conflict,
            })
            .collect();
        if !dirty.is_empty() {
            self.regroup(&dirty);
        }
        outcomes
    }

    /// Applies monitors' reviews and sources' retractions, in log order, regrouping and
    /// judging again only the incidents they touch (see [`crate::review`]).
    pub fn annotate(&mut self, annotations: &[Annotation]) {
        let mut touched: BTreeSet<SmolStr> = BTreeSet::new();
        {
            let reviews = Arc::make_mut(&mut self.reviews);
            for annotation in annotations {
                touched.extend(reviews.apply(annotation));
            }
        }
        for adjudicator in &mut self.adjudicators {
            adjudicator.set_reviews(self.reviews.clone());
        }
        let mut dirty: BTreeSet<u32> = BTreeSet::new();
        for id in &touched {
            let Some(IdState::Held(slot)) = self.ids.get(id).copied() else {
                continue;
            };
            dirty.insert(slot);
            let grouped = self.groups_automatically(slot);
            if self.in_graph[slot as usize] && !grouped {
                dirty.extend(self.unlink(slot));
            } else if !self.in_graph[slot as usize] && grouped {
                self.link(slot);
            }
        }
        if !dirty.is_empty() {
            self.regroup(&dirty);
        }
    }

    /// The decisions applied so far.
    pub fn reviews(&self) -> &ReviewIndex {
        &self.reviews
    }

    /// The number of reports held.
    pub fn n_reports(&self) -> usize {
        self.ids
            .values()
            .filter(|state| matches!(state, IdState::Held(_)))
            .count()
    }

    /// The number of incidents.
    pub fn n_incidents(&self) -> usize {
        self.incidents.len()
    }

    /// The agreements judged by, in the order given.
    pub fn agreements(&self) -> impl Iterator<Item = &Agreement> {
        self.adjudicators.iter().map(Adjudicator::agreement)
    }

    /// The incident with this id, its members as report ids, and its findings (one per
    /// agreement).
    pub fn incident(&self, id: &str) -> Option<(&Incident, Vec<&str>, &[Finding])> {
        let judged = self.incidents.get(id)?;
        let members = judged
            .incident
            .members
            .iter()
            .map(|&slot| self.reports[slot as usize].id.as_str())
            .collect();
        Some((&judged.incident, members, &judged.findings))
    }

    /// The incident that holds the report with this id (as [`Live::incident`]), if the
    /// report is held and in an incident.
    pub fn incident_holding(&self, report_id: &str) -> Option<(&Incident, Vec<&str>, &[Finding])> {
        let Some(IdState::Held(slot)) = self.ids.get(report_id) else {
            return None;
        };
        let id = self.incident_of[*slot as usize].as_ref()?;
        self.incident(id)
    }

    /// The state in the batch job's terms (a full copy; see [`Live::view`] for a cheap one).
    pub fn snapshot(&self) -> LiveSnapshot {
        let mut index_of = vec![u32::MAX; self.reports.len()];
        let mut reports = Vec::with_capacity(self.ids.len());
        // `ids` is ordered: the held reports come out in canonical order.
        for state in self.ids.values() {
            if let IdState::Held(slot) = state {
                index_of[*slot as usize] = reports.len() as u32;
                reports.push(self.reports[*slot as usize].clone());
            }
        }
        let mut incidents = Vec::with_capacity(self.incidents.len());
        let mut findings = vec![Vec::with_capacity(self.incidents.len()); self.adjudicators.len()];
        for judged in self.incidents.values() {
            let mut incident = judged.incident.clone();
            for member in &mut incident.members {
                *member = index_of[*member as usize];
            }
            incidents.push(incident);
            for (per_agreement, finding) in findings.iter_mut().zip(&judged.findings) {
                per_agreement.push(finding.clone());
            }
        }
        LiveSnapshot {
            reports,
            incidents,
            findings,
            releases: self.releases.clone(),
        }
    }

    /// The incidents and findings as they are now, shared rather than copied (see
    /// [`LiveView`]): cheap enough to take under whatever guards the live state.
    pub fn view(&self) -> LiveView {
        LiveView {
            incidents: self.incidents.values().cloned().collect(),
            n_slots: self.reports.len(),
        }
    }

    /// The number of slots given out so far: every report added has one (see [`LiveView`]).
    pub fn n_slots(&self) -> usize {
        self.reports.len()
    }

    /// Stores a new report and, unless a decision keeps it out of the automatic grouping,
    /// links it to its linkable neighbours; returns its slot.
    fn add(&mut self, report: Report) -> u32 {
        let slot = self.reports.len() as u32;
        self.ids.insert(report.id.clone(), IdState::Held(slot));
        self.reports.push(report);
        self.held.push(true);
        self.in_graph.push(false);
        self.links.push(Vec::new());
        self.incident_of.push(None);
        if self.groups_automatically(slot) {
            self.link(slot);
        }
        slot
    }

    /// Whether a held slot takes part in the automatic grouping under the decisions.
    fn groups_automatically(&self, slot: u32) -> bool {
        let report = &self.reports[slot as usize];
        self.held[slot as usize]
            && (self.reviews.is_empty()
                || !(self.reviews.withdrawn(report) || self.reviews.pin(&report.id).is_some()))
    }

    /// Puts a slot into the link graph: links it to every linkable slot already there.
    fn link(&mut self, slot: u32) {
        let report = &self.reports[slot as usize];
        let mut neighbours = Vec::new();
        if let Some(position) = usable_position(report) {
            for candidate in self
                .grid
                .candidates(position, report, self.params.max_time_gap_s)
            {
                if linkable(report, &self.reports[candidate as usize], &self.params) {
                    neighbours.push(candidate);
                }
            }
            self.grid.insert(position, report, slot);
        }
        for &neighbour in &neighbours {
            self.links[neighbour as usize].push(slot);
        }
        self.links[slot as usize] = neighbours;
        self.in_graph[slot as usize] = true;
    }

    /// Takes a slot out of the link graph; returns its former neighbours.
    fn unlink(&mut self, slot: u32) -> Vec<u32> {
        if !self.in_graph[slot as usize] {
            return Vec::new();
        }
        let report = &self.reports[slot as usize];
        if let Some(position) = usable_position(report) {
            self.grid.remove(position, report, slot);
        }
        self.in_graph[slot as usize] = false;
        let neighbours = std::mem::take(&mut self.links[slot as usize]);
        for &neighbour in &neighbours {
            self.links[neighbour as usize].retain(|&other| other != slot);
        }
        neighbours
    }

    /// Withdraws a held report; returns its former neighbours.
    fn withdraw(&mut self, slot: u32) -> Vec<u32> {
        let neighbours = self.unlink(slot);
        self.held[slot as usize] = false;
        neighbours
    }

    /// The held, not withdrawn slots pinned to `group`, in report id order.
    fn pinned_slots(&self, group: &str) -> Vec<u32> {
        // Group members are report ids in order, so the slots come in id order.
        self.reviews
            .group_members(group)
            .filter_map(|id| match self.ids.get(id) {
                Some(IdState::Held(slot)) => Some(*slot),
                _ => None,
            })
            .filter(|&slot| !self.reviews.withdrawn(&self.reports[slot as usize]))
            .collect()
    }

    /// Groups again the components holding the `dirty` slots and judges their incidents.
    fn regroup(&mut self, dirty: &BTreeSet<u32>) {
        // The affected components: everything reachable from a dirty slot still held.
        let mut component: BTreeSet<u32> = BTreeSet::new();
        let mut stack: Vec<u32> = dirty
            .iter()
            .copied()
            .filter(|&slot| self.in_graph[slot as usize])
            .collect();
        while let Some(slot) = stack.pop() {
            if component.insert(slot) {
                stack.extend(
                    self.links[slot as usize]
                        .iter()
                        .filter(|next| !component.contains(next)),
                );
            }
        }
        // The pin groups of dirty slots, with their current members.
        let pin_groups: BTreeMap<SmolStr, Vec<u32>> = dirty
            .iter()
            .filter(|&&slot| !self.in_graph[slot as usize])
            .filter_map(|&slot| {
                // Withdrawn or conflicting members too: their group is left without them.
                let pin = self.reviews.pin(&self.reports[slot as usize].id)?;
                Some((pin.group.clone(), self.pinned_slots(&pin.group)))
            })
            .collect();
        // Their incidents, and those of withdrawn or regrouped slots, go.
        let stale_ids: BTreeSet<SmolStr> = component
            .iter()
            .chain(dirty)
            .chain(pin_groups.values().flatten())
            .filter_map(|&slot| self.incident_of[slot as usize].take())
            .collect();
        let mut stale: BTreeMap<SmolStr, Arc<Judged>> = BTreeMap::new();
        for id in stale_ids {
            if let Some(judged) = self.incidents.remove(&id) {
                self.forget_first_pass(&judged);
                stale.insert(id, judged);
            }
        }
        // The batch grouping on these reports alone, in canonical order.
        let mut members: Vec<u32> = component.into_iter().collect();
        members.sort_by(|&a, &b| {
            self.reports[a as usize]
                .id
                .cmp(&self.reports[b as usize].id)
        });
        let local: Vec<Report> = members
            .iter()
            .map(|&slot| self.reports[slot as usize].clone())
            .collect();
        let mut fresh = Vec::new();
        for members in pin_groups
            .into_values()
            .filter(|members| !members.is_empty())
        {
            let incident = crate::incident::derive(&self.reports, members_of(members));
            for &slot in &incident.members {
                self.incident_of[slot as usize] = Some(incident.id.clone());
            }
            fresh.push(incident);
        }
        for mut incident in corroborate(&local, &self.params) {
            for member in &mut incident.members {
                *member = members[*member as usize];
            }
            for &slot in &incident.members {
                self.incident_of[slot as usize] = Some(incident.id.clone());
            }
            fresh.push(incident);
        }
        for incident in fresh {
            // An incident that came out of the grouping again exactly as it was, with no
            // member that changed, keeps its findings: they depend only on its members, the
            // decisions on them and the releases (a change of releases judges everything
            // again below). In a dense cluster most incidents of the component are such.
            let judged = match stale.remove(&incident.id) {
                Some(before)
                    if before.incident == incident
                        && !incident.members.iter().any(|slot| dirty.contains(slot)) =>
                {
                    before
                }
                _ => Arc::new(self.judge(incident)),
            };
            for (agreement, key) in judged.first_pass.iter().enumerate() {
                if let Some(key) = key {
                    self.violations[agreement].insert(key.clone());
                }
            }
            self.incidents.insert(judged.incident.id.clone(), judged);
        }
        // The earliest violation may have changed (new incidents, or stale ones gone): then
        // every finding is judged again under the new releases.
        for agreement in 0..self.adjudicators.len() {
            if !self.reciprocal(agreement) {
                continue;
            }
            let expected = releases(
                self.adjudicators[agreement].agreement(),
                self.violations[agreement].first(),
            );
            if expected != self.releases[agreement] {
                self.releases[agreement] = expected;
                self.rejudge_all(agreement);
            }
        }
    }

    fn reciprocal(&self, agreement: usize) -> bool {
        self.adjudicators[agreement].agreement().reciprocity == Reciprocity::Release
    }

    /// Drops an incident's first-pass keys from the reciprocity bookkeeping.
    fn forget_first_pass(&mut self, judged: &Judged) {
        for (agreement, key) in judged.first_pass.iter().enumerate() {
            if let Some(key) = key {
                self.violations[agreement].remove(key);
            }
        }
    }

    /// Judges a new incident under every agreement with the releases in force.
    fn judge(&self, incident: Incident) -> Judged {
        let none = Releases::new();
        let mut findings = Vec::with_capacity(self.adjudicators.len());
        let mut first_pass = Vec::with_capacity(self.adjudicators.len());
        for (agreement, adjudicator) in self.adjudicators.iter().enumerate() {
            let releases = &self.releases[agreement];
            let finding = adjudicator.adjudicate(&self.reports, &incident, releases);
            if self.reciprocal(agreement) {
                let key = if releases.is_empty() {
                    violation_key(&incident, &finding)
                } else {
                    let unreleased = adjudicator.adjudicate(&self.reports, &incident, &none);
                    violation_key(&incident, &unreleased)
                };
                first_pass.push(key);
            } else {
                first_pass.push(None);
            }
            findings.push(finding);
        }
        Judged {
            incident,
            findings,
            first_pass,
        }
    }

    /// Judges every incident again under one agreement (its releases changed).
    fn rejudge_all(&mut self, agreement: usize) {
        let adjudicator = &self.adjudicators[agreement];
        let releases = &self.releases[agreement];
        for judged in self.incidents.values_mut() {
            let finding = adjudicator.adjudicate(&self.reports, &judged.incident, releases);
            Arc::make_mut(judged).findings[agreement] = finding;
        }
    }
}

/// Reports by grid cell and start time, to find the candidates a new report may link to.
///
/// Rows are one link reach of latitude high at the shortest degree of latitude; each row has
/// a whole number of equal columns at least one reach wide at the highest latitude the row
/// and its neighbours reach (a row touching a pole is one cell), so every report within reach
/// lies in the 3 × 3 cells around a report's own (columns wrap at the antimeridian).
#[derive(Debug)]
struct LinkGrid {
    row_height_deg: f64,
    reach_m: f64,
    cells: BTreeMap<(i64, i64), BTreeSet<(i64, u32)>>,
    /// The widest time interval held, milliseconds: bounds how early a candidate may start.
    widest_ms: i64,
}

/// Metres per degree of latitude at the equator: the shortest degree.
const MIN_METRES_PER_DEGREE_LAT: f64 = WGS84_A * (1.0 - WGS84_E2) * std::f64::consts::PI / 180.0;

/// Room for the path between two points to bend poleward of both, and for rounding.
const CELL_MARGIN: f64 = 1.1;

impl LinkGrid {
    fn new(reach_m: f64) -> LinkGrid {
        let reach_m = if reach_m.is_finite() && reach_m > 1.0 {
            reach_m
        } else {
            1.0
        };
        LinkGrid {
            row_height_deg: (CELL_MARGIN * reach_m / MIN_METRES_PER_DEGREE_LAT).min(180.0),
            reach_m,
            cells: BTreeMap::new(),
            widest_ms: 0,
        }
    }

    fn row(&self, lat: f64) -> i64 {
        ((lat + 90.0) / self.row_height_deg).floor() as i64
    }

    /// The number of columns of `row`.
    fn columns(&self, row: i64) -> i64 {
        let low = -90.0 + (row - 1) as f64 * self.row_height_deg;
        let high = -90.0 + (row + 2) as f64 * self.row_height_deg;
        let max_abs_lat = low.abs().max(high.abs());
        if max_abs_lat >= 90.0 {
            return 1;
        }
        let phi = max_abs_lat.to_radians();
        let metres_per_degree = WGS84_A * phi.cos()
            / (1.0 - WGS84_E2 * phi.sin() * phi.sin()).sqrt()
            * std::f64::consts::PI
            / 180.0;
        let width_deg = CELL_MARGIN * self.reach_m / metres_per_degree;
        ((360.0 / width_deg).floor() as i64).max(1)
    }

    fn column(&self, row: i64, lon: f64) -> i64 {
        let n = self.columns(row);
        (((lon + 180.0) / 360.0 * n as f64).floor() as i64).clamp(0, n - 1)
    }

    fn span(report: &Report) -> (i64, i64) {
        let (a, b) = (report.time.start_ms, report.time.end_ms);
        (a.min(b), a.max(b))
    }

    fn insert(&mut self, (lon, lat): (f64, f64), report: &Report, slot: u32) {
        let row = self.row(lat);
        let column = self.column(row, lon);
        let (start, end) = Self::span(report);
        self.widest_ms = self.widest_ms.max(end.saturating_sub(start));
        self.cells
            .entry((row, column))
            .or_default()
            .insert((start, slot));
    }

    fn remove(&mut self, (lon, lat): (f64, f64), report: &Report, slot: u32) {
        let row = self.row(lat);
        let column = self.column(row, lon);
        let (start, _) = Self::span(report);
        if let Some(cell) = self.cells.get_mut(&(row, column)) {
            cell.remove(&(start, slot));
        }
    }

    /// Slots in the cells around `(lon, lat)` whose interval may lie within `gap_s` of the
    /// report's (a superset of the linkable ones).
    fn candidates(&self, (lon, lat): (f64, f64), report: &Report, gap_s: i64) -> Vec<u32> {
        let (start, end) = Self::span(report);
        let gap_ms = gap_s.saturating_mul(1000);
        let earliest = start.saturating_sub(gap_ms).saturating_sub(self.widest_ms);
        let latest = end.saturating_add(gap_ms);
        let row = self.row(lat);
        let mut found = Vec::new();
        for neighbour_row in row - 1..=row + 1 {
            let n = self.columns(neighbour_row);
            let column = self.column(neighbour_row, lon);
            let mut columns: Vec<i64> =
                (column - 1..=column + 1).map(|c| c.rem_euclid(n)).collect();
            columns.sort_unstable();
            columns.dedup();
            for c in columns {
                if let Some(cell) = self.cells.get(&(neighbour_row, c)) {
                    found.extend(
                        cell.range((earliest, 0)..=(latest, u32::MAX))
                            .map(|&(_, slot)| slot),
                    );
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_model::{ActionType, Casualties, Location, Source, SourceKind, Target, TimeSpan};

    fn located(i: usize, lon: f64, lat: f64, radius: f64, minute: i64) -> Report {
        Report {
            id: format!("r{i}").into(),
            source: std::sync::Arc::new(Source {
                id: format!("s{}", i % 7).into(),
                kind: SourceKind::Osint,
                party: None,
            }),
            time: TimeSpan::instant(minute * 60_000),
            location: Location {
                lon,
                lat,
                uncertainty_m: radius,
            },
            action: ActionType::Artillery,
            target: Target::of(truce_model::TargetKind::Unknown),
            accused: None,
            casualties: Casualties::default(),
            details: truce_model::Details::default(),
        }
    }

    /// The grid hands out every linkable earlier report, near the antimeridian, near the
    /// poles and elsewhere, for small and large reaches.
    #[test]
    fn the_grid_finds_every_linkable_report() {
        let centres = [
            (179.995, 10.0),
            (-179.995, 10.0),
            (0.0, 89.97),
            (120.0, -89.98),
            (37.5, 48.0),
            (-70.0, 0.0),
        ];
        for max_distance_m in [5_000.0, 60_000.0] {
            let params = CorroborationParams {
                max_distance_m,
                max_extent_m: max_distance_m,
                uncertainty_factor: 3.0,
                ..CorroborationParams::default()
            };
            let mut grid = LinkGrid::new(link_reach_m(&params));
            let mut held: Vec<Report> = Vec::new();
            let mut state = 12_345u64;
            let mut next = || {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 11) as f64 / (1u64 << 53) as f64
            };
            let mut n_linked = 0;
            for i in 0..1_200 {
                let (lon, lat) = centres[i % centres.len()];
                let spread = max_distance_m / 111_000.0 * 3.0;
                let lat = (lat + (next() - 0.5) * spread).clamp(-90.0, 90.0);
                let mut lon = lon + (next() - 0.5) * spread * 3.0;
                if lon > 180.0 {
                    lon -= 360.0;
                } else if lon < -180.0 {
                    lon += 360.0;
                }
                let radius = next() * max_distance_m;
                let report = located(i, lon, lat, radius, (next() * 200.0) as i64);
                let position = usable_position(&report).unwrap();
                let candidates: BTreeSet<u32> = grid
                    .candidates(position, &report, params.max_time_gap_s)
                    .into_iter()
                    .collect();
                for (slot, earlier) in held.iter().enumerate() {
                    if linkable(&report, earlier, &params) {
                        n_linked += 1;
                        assert!(
                            candidates.contains(&(slot as u32)),
                            "reach {max_distance_m}: {report:?} and {earlier:?} are linkable but not candidates"
                        );
                    }
                }
                grid.insert(position, &report, held.len() as u32);
                held.push(report);
            }
            assert!(
                n_linked > 500,
                "{n_linked} linkable pairs: the test must exercise links"
            );
        }
    }
}
