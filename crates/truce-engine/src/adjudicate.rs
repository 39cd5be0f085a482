//! Adjudication: each incident judged against one agreement under one interpretation.
//!
//! The verdicts (see `docs/output-format.md` for their published form):
//! - `violation`: a prohibited act, established under the corroboration policy, attributed
//!   to one party by a voice other than its adversary's (or by enough voices);
//! - `alleged`: a prohibited act that is not (yet) established, or whose attribution rests
//!   on the adversary's word alone;
//! - `disputed`: the act is established and prohibited, but the reports name different
//!   parties as its author;
//! - `no_violation`: with the reason (not in force, outside the window, released by
//!   reciprocity, party not bound, action permitted, target not protected, outside zones,
//!   exception, actor excluded);
//! - `undetermined`: the uncertainty of place or time straddles a boundary, the target is
//!   unknown, or nobody says who did it — with what is missing.
//!
//! Uncertainty is three-valued all the way ([`Tri`]): unknown never silently becomes yes
//! or no. Reports are grouped into *voices*: all sources that speak for one party are one
//! voice; every other source is a voice of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use smallvec::SmallVec;
use truce_model::agreement::{Agreement, Footprint, InForce, Reciprocity, Selector};
use truce_model::{Report, SmolStr, SourceKind, Target, TargetKind};

use crate::geodesy::geodesic_distance_m;
use crate::incident::Incident;
use crate::reason::{Reason, ReviewNote, WindowPosition, span_text};
use crate::review::ReviewIndex;
use crate::zone_index::{Tri, ZoneIndex};
use crate::zone_screen::{ZoneScreen, ZoneSet, ZoneTris};

/// The verdict of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Established and attributed.
    Violation,
    /// Claimed, not established.
    Alleged,
    /// Established act, contested attribution.
    Disputed,
    /// Not a violation, for a stated reason.
    NoViolation,
    /// Cannot be decided from what is known.
    Undetermined,
}

impl Verdict {
    /// Every verdict, in output order.
    pub const ALL: [Verdict; 5] = [
        Verdict::Violation,
        Verdict::Alleged,
        Verdict::Disputed,
        Verdict::NoViolation,
        Verdict::Undetermined,
    ];

    /// The published spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Verdict::Violation => "violation",
            Verdict::Alleged => "alleged",
            Verdict::Disputed => "disputed",
            Verdict::NoViolation => "no_violation",
            Verdict::Undetermined => "undetermined",
        }
    }
}

/// Why an incident is not a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoViolationReason {
    /// A condition precedent is unmet: the agreement never took effect.
    NotInForce,
    /// The act happened before the party was bound or after the agreement ended.
    OutsideWindow,
    /// The party had been released by the other party's earlier violation.
    ReleasedByReciprocity,
    /// No rule binds the party.
    PartyNotBound,
    /// No rule prohibits this kind of action.
    ActionPermitted,
    /// The target is not protected by any rule that covers the action.
    TargetNotProtected,
    /// The act happened outside every zone of the rules that cover it.
    OutsideZones,
    /// An exception of the agreement permits it.
    Exception,
    /// The actor named is one the agreement does not cover.
    ActorExcluded,
}

impl NoViolationReason {
    /// Every reason, in order of precedence.
    pub const ALL: [NoViolationReason; 9] = [
        NoViolationReason::NotInForce,
        NoViolationReason::OutsideWindow,
        NoViolationReason::ReleasedByReciprocity,
        NoViolationReason::PartyNotBound,
        NoViolationReason::ActionPermitted,
        NoViolationReason::TargetNotProtected,
        NoViolationReason::OutsideZones,
        NoViolationReason::Exception,
        NoViolationReason::ActorExcluded,
    ];

    /// The published spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            NoViolationReason::NotInForce => "not_in_force",
            NoViolationReason::OutsideWindow => "outside_window",
            NoViolationReason::ReleasedByReciprocity => "released_by_reciprocity",
            NoViolationReason::PartyNotBound => "party_not_bound",
            NoViolationReason::ActionPermitted => "action_permitted",
            NoViolationReason::TargetNotProtected => "target_not_protected",
            NoViolationReason::OutsideZones => "outside_zones",
            NoViolationReason::Exception => "exception",
            NoViolationReason::ActorExcluded => "actor_excluded",
        }
    }
}

/// The adjudication of one incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The incident judged.
    pub incident_id: SmolStr,
    /// The verdict.
    pub verdict: Verdict,
    /// For `no_violation`: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<NoViolationReason>,
    /// The parties concerned: the violator, the accused, or the parties named in a dispute.
    pub parties: Vec<SmolStr>,
    /// Ids of the rules the act falls under (or might, for `undetermined`).
    pub rules: Vec<SmolStr>,
    /// Ids of the exceptions that applied (or might).
    pub exceptions: Vec<SmolStr>,
    /// Ids of the zones the act is in (or might be).
    pub zones: Vec<SmolStr>,
    /// For `undetermined`: what would be needed to decide.
    pub missing: Vec<String>,
    /// Whether the act itself is established under the corroboration policy.
    pub established: bool,
    /// The target category used (from the reports or the site registry).
    pub target: Target,
    /// The protected site the incident is at, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<SmolStr>,
    /// The chain of reasons, in order, for readers.
    pub reasons: Vec<Reason>,
}

impl Finding {
    /// A finding with every list empty, to be judged into.
    pub(crate) fn blank() -> Finding {
        Finding {
            incident_id: SmolStr::default(),
            verdict: Verdict::Undetermined,
            reason: None,
            parties: Vec::new(),
            rules: Vec::new(),
            exceptions: Vec::new(),
            zones: Vec::new(),
            missing: Vec::new(),
            established: false,
            target: Target::of(TargetKind::Unknown),
            site: None,
            reasons: Vec::new(),
        }
    }
}

/// The agreement an [`Adjudicator`] judges by: borrowed for a batch run, shared for a state
/// that lives on (the service's live findings).
#[derive(Debug, Clone)]
pub enum AgreementRef<'a> {
    /// Borrowed from the caller.
    Borrowed(&'a Agreement),
    /// Shared ownership.
    Shared(Arc<Agreement>),
}

impl std::ops::Deref for AgreementRef<'_> {
    type Target = Agreement;
    fn deref(&self) -> &Agreement {
        match self {
            AgreementRef::Borrowed(agreement) => agreement,
            AgreementRef::Shared(agreement) => agreement,
        }
    }
}

impl<'a> From<&'a Agreement> for AgreementRef<'a> {
    fn from(agreement: &'a Agreement) -> Self {
        AgreementRef::Borrowed(agreement)
    }
}

impl From<Arc<Agreement>> for AgreementRef<'static> {
    fn from(agreement: Arc<Agreement>) -> Self {
        AgreementRef::Shared(agreement)
    }
}

/// Zone indexes and site data prepared once per agreement.
#[derive(Debug)]
pub struct Adjudicator<'a> {
    agreement: AgreementRef<'a>,
    /// `zone_areas[z][a]` is the index of area `a` of zone `z`.
    zone_areas: Vec<Vec<ZoneIndex>>,
    /// Which zones an incident may touch (`None` without zones).
    zone_screen: Option<ZoneScreen>,
    site_areas: Vec<Option<ZoneIndex>>,
    /// For each rule, the indices of its zones (`None`: everywhere).
    rule_zones: Vec<Option<Vec<usize>>>,
    /// For each rule, its zones as a set (empty for a rule that applies everywhere).
    rule_zone_sets: Vec<ZoneSet>,
    /// For each exception, the indices of its zones (`None`: everywhere).
    exception_zones: Vec<Option<Vec<usize>>>,
    /// For each party, when it is bound.
    windows: BTreeMap<SmolStr, InForce>,
    /// For each zone, whether its areas are the same for every party.
    party_free_zones: Vec<bool>,
    /// Monitors' decisions on reports (confirmations and reattributions are read here).
    reviews: Arc<ReviewIndex>,
    /// Each party's id with the party [`Agreement::resolve_party`] resolves that exact
    /// spelling to (an index into the agreement's parties): most reports name parties by id.
    party_ids: Vec<(SmolStr, Option<usize>)>,
}

/// An error preparing an agreement's geometry.
#[derive(Debug, thiserror::Error)]
#[error("zone `{zone}`: {message}")]
pub struct PrepareError {
    /// Zone or site id.
    pub zone: String,
    /// What is wrong.
    pub message: String,
}

/// Who speaks: all sources of one party are one voice; every other source is its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Voice<'a> {
    Party(&'a str),
    Source(&'a str),
}

/// A small ordered set without duplicates, kept inline: an incident has a handful of voices
/// and accused parties, and a `BTreeSet` would allocate for each of a million incidents.
/// Iterates in ascending order, as a `BTreeSet` does.
#[derive(Debug)]
struct SmallSet<T>(SmallVec<[T; 4]>);

impl<T> Default for SmallSet<T> {
    fn default() -> Self {
        Self(SmallVec::new())
    }
}

impl<T: Ord> SmallSet<T> {
    fn insert(&mut self, item: T) {
        if let Err(at) = self.0.binary_search(&item) {
            self.0.insert(at, item);
        }
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
}

impl<T: Ord + Copy> SmallSet<T> {
    /// Adds every item of `other`.
    fn union(&mut self, other: &SmallSet<T>) {
        for &item in other.iter() {
            self.insert(item);
        }
    }
}

/// Which parties the reports name, each with the voices naming it, in ascending party order
/// (the order of the `BTreeMap` this replaces).
#[derive(Debug, Default)]
struct Claims<'a>(SmallVec<[(&'a str, SmallSet<Voice<'a>>); 2]>);

impl<'a> Claims<'a> {
    /// The voices naming `party`, added empty when it was not named yet.
    fn voices_of(&mut self, party: &'a str) -> &mut SmallSet<Voice<'a>> {
        let at = match self.0.binary_search_by(|(p, _)| (*p).cmp(party)) {
            Ok(at) => at,
            Err(at) => {
                self.0.insert(at, (party, SmallSet::default()));
                at
            }
        };
        &mut self.0[at].1
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn parties(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.0.iter().map(|(p, _)| *p)
    }

    fn get(&self, party: &str) -> Option<&SmallSet<Voice<'a>>> {
        self.0
            .binary_search_by(|(p, _)| (*p).cmp(party))
            .ok()
            .map(|at| &self.0[at].1)
    }
}

/// How one candidate perpetrator's act measures against the agreement.
struct Evaluation {
    prohibited: Tri,
    /// The reason the act is not prohibited, when `prohibited` is `No`.
    reason: Option<NoViolationReason>,
    /// Indices into the agreement's rules, exceptions and zones (their ids are looked up only
    /// when the finding is finished).
    rules: SmallSet<u32>,
    exceptions: SmallSet<u32>,
    zones: SmallSet<u32>,
    missing: Vec<String>,
}

/// What the zone screen says of an incident: the zones it may touch (`None`: it cannot tell)
/// and, per zone, what is known so far (`No` for the zones it surely misses; filled in as zones
/// whose areas are the same for every party are classified).
struct Screened<'s> {
    open: Option<&'s ZoneSet>,
    tris: &'s mut ZoneTris,
}

/// The rules, exceptions and zones a finding names, as indices into the agreement's lists.
#[derive(Default)]
struct Named {
    rules: SmallSet<u32>,
    exceptions: SmallSet<u32>,
    zones: SmallSet<u32>,
}

impl Named {
    /// Adds what `e` names.
    fn add(&mut self, e: &Evaluation) {
        self.rules.union(&e.rules);
        self.exceptions.union(&e.exceptions);
        self.zones.union(&e.zones);
    }
}

/// How much of a finding to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// All of it, with the chain of reasons and what is missing.
    Full,
    /// The verdict with its reason, parties, rules, exceptions and zones: no reasons, nothing
    /// missing.
    Verdict,
    /// What a summary counts: the verdict, its reason and the parties (no reasons, nothing
    /// missing, no lists of rules, exceptions or zones).
    Count,
}

/// Adds a reason to the chain, built only when the finding is built in full.
#[inline]
fn add_reason(reasons: &mut Vec<Reason>, detail: Detail, reason: impl FnOnce() -> Reason) {
    if detail == Detail::Full {
        reasons.push(reason());
    }
}

/// Release times from reciprocity: a party is released from this instant on (ms).
pub type Releases = BTreeMap<SmolStr, (i64, SmolStr)>;

impl<'a> Adjudicator<'a> {
    /// Prepares the zone and site indexes of `agreement`.
    pub fn new(agreement: impl Into<AgreementRef<'a>>) -> Result<Self, PrepareError> {
        let agreement: AgreementRef<'a> = agreement.into();
        let mut zone_areas = Vec::new();
        for zone in &agreement.zones {
            let mut areas = Vec::new();
            for area in &zone.areas {
                let index = ZoneIndex::new(&area.area).map_err(|e| PrepareError {
                    zone: zone.id.to_string(),
                    message: e.to_string(),
                })?;
                areas.push(index);
            }
            zone_areas.push(areas);
        }
        let mut site_areas = Vec::new();
        for site in &agreement.sites {
            site_areas.push(match &site.footprint {
                Footprint::Area(area) => Some(ZoneIndex::new(area).map_err(|e| PrepareError {
                    zone: site.id.to_string(),
                    message: e.to_string(),
                })?),
                Footprint::Circle { .. } => None,
            });
        }
        let zone_indices = |selector: &Selector<String>| match selector {
            Selector::All => None,
            Selector::Only(ids) => Some(
                ids.iter()
                    .filter_map(|id| agreement.zones.iter().position(|zone| zone.id == id))
                    .collect(),
            ),
        };
        let rule_zones: Vec<Option<Vec<usize>>> = agreement
            .rules
            .iter()
            .map(|r| zone_indices(&r.zones))
            .collect();
        let rule_zone_sets = rule_zones
            .iter()
            .map(|zones| ZoneSet::of(zones.iter().flatten().copied()))
            .collect();
        let exception_zones = agreement
            .exceptions
            .iter()
            .map(|e| zone_indices(&e.zones))
            .collect();
        let windows = agreement
            .parties
            .iter()
            .map(|p| (p.id.clone(), agreement.in_force_for(&p.id)))
            .collect();
        let party_free_zones = agreement
            .zones
            .iter()
            .map(|z| z.areas.iter().all(|a| a.party.is_none()))
            .collect();
        let zone_screen = ZoneScreen::new(&zone_areas);
        let party_ids = agreement
            .parties
            .iter()
            .map(|p| {
                let resolved = agreement
                    .resolve_party(&p.id)
                    .and_then(|id| agreement.parties.iter().position(|q| q.id == id));
                (p.id.clone(), resolved)
            })
            .collect();
        Ok(Adjudicator {
            agreement,
            zone_areas,
            zone_screen,
            site_areas,
            rule_zones,
            rule_zone_sets,
            exception_zones,
            windows,
            party_free_zones,
            reviews: Arc::new(ReviewIndex::new()),
            party_ids,
        })
    }

    /// [`Agreement::resolve_party`]: the same party, found without trimming or case folding
    /// when `name` is spelt exactly as a party's id.
    fn resolve_party(&self, name: &str) -> Option<&str> {
        match self.party_ids.iter().find(|(id, _)| id == name) {
            Some((_, resolved)) => resolved.map(|i| self.agreement.parties[i].id.as_str()),
            None => self.agreement.resolve_party(name),
        }
    }

    /// Judges under these decisions from now on (see [`crate::review`]).
    pub fn set_reviews(&mut self, reviews: Arc<ReviewIndex>) {
        self.reviews = reviews;
    }

    /// The decisions judged under.
    pub fn reviews(&self) -> &ReviewIndex {
        &self.reviews
    }

    /// The agreement being applied.
    pub fn agreement(&self) -> &Agreement {
        &self.agreement
    }

    /// Whether the incident is at protected site `i`.
    fn at_site(&self, i: usize, incident: &Incident) -> Tri {
        let site = &self.agreement.sites[i];
        let loc = incident.location;
        match (&site.footprint, &self.site_areas[i]) {
            (Footprint::Circle { radius_m }, _) => {
                let d = geodesic_distance_m((loc.lon, loc.lat), (site.lon, site.lat));
                if d + loc.uncertainty_m <= *radius_m {
                    Tri::Yes
                } else if d - loc.uncertainty_m > *radius_m {
                    Tri::No
                } else {
                    Tri::Unknown
                }
            }
            (Footprint::Area(_), Some(index)) => {
                index.classify(loc.lon, loc.lat, loc.uncertainty_m)
            }
            (Footprint::Area(_), None) => Tri::Unknown,
        }
    }

    /// Judges one incident. `releases` holds reciprocity releases (empty on a first pass).
    pub fn adjudicate(
        &self,
        reports: &[Report],
        incident: &Incident,
        releases: &Releases,
    ) -> Finding {
        self.judge(reports, incident, releases, Detail::Full)
    }

    /// The same adjudicator without its zone screen: every zone a rule names is asked through
    /// its own index. The findings are the same (a test compares them on every example);
    /// judging is slower. For comparisons.
    pub fn without_zone_screen(mut self) -> Self {
        self.zone_screen = None;
        self
    }

    /// The finding [`Adjudicator::adjudicate`] gives without its chain of reasons and without
    /// what is missing (both empty): the verdict, its reason, the parties, rules, exceptions,
    /// zones, target and site are the same. For outputs that count findings and show few.
    pub fn verdict(&self, reports: &[Report], incident: &Incident, releases: &Releases) -> Finding {
        self.judge(reports, incident, releases, Detail::Verdict)
    }

    /// The finding [`Adjudicator::verdict`] gives without its lists of rules, exceptions and
    /// zones (empty): the verdict, its reason, the parties, target and site are the same. What
    /// a summary counts.
    ///
    /// Written into `finding`, whose lists are emptied and reused: counting a million
    /// findings then allocates nothing for them.
    pub(crate) fn count_into(
        &self,
        reports: &[Report],
        incident: &Incident,
        releases: &Releases,
        finding: &mut Finding,
    ) {
        self.judge_into(reports, incident, releases, Detail::Count, finding);
    }

    fn judge(
        &self,
        reports: &[Report],
        incident: &Incident,
        releases: &Releases,
        detail: Detail,
    ) -> Finding {
        let mut finding = Finding::blank();
        self.judge_into(reports, incident, releases, detail, &mut finding);
        finding
    }

    /// Judges `incident` into `finding`: every field is set, the lists emptied first.
    fn judge_into(
        &self,
        reports: &[Report],
        incident: &Incident,
        releases: &Releases,
        detail: Detail,
        finding: &mut Finding,
    ) {
        let agreement: &Agreement = &self.agreement;
        let mut reasons = match detail {
            Detail::Full => Vec::with_capacity(8),
            Detail::Verdict | Detail::Count => Vec::new(),
        };

        // Target: the site registry wins over the reports' own category.
        let mut target = incident.target;
        let mut site = None;
        let named = incident
            .site
            .as_deref()
            .and_then(|id| agreement.sites.iter().position(|s| s.id == id));
        let mut possible_site: Option<usize> = None;
        if let Some(i) = named {
            site = Some(agreement.sites[i].id.clone());
            target = agreement.sites[i].target;
            add_reason(&mut reasons, detail, || Reason::SiteNamed {
                site: agreement.sites[i].id.clone(),
                name: agreement.sites[i].name.clone(),
                target,
            });
        } else {
            for i in 0..agreement.sites.len() {
                match self.at_site(i, incident) {
                    Tri::Yes => {
                        site = Some(agreement.sites[i].id.clone());
                        target = agreement.sites[i].target;
                        add_reason(&mut reasons, detail, || Reason::AtSite {
                            site: agreement.sites[i].id.clone(),
                            name: agreement.sites[i].name.clone(),
                            target,
                        });
                        break;
                    }
                    Tri::Unknown if possible_site.is_none() => possible_site = Some(i),
                    _ => {}
                }
            }
        }
        if site.is_none() {
            add_reason(&mut reasons, detail, || Reason::TargetFromReports {
                target,
            });
        }

        // Voices and attributions.
        let mut voices: SmallSet<Voice<'_>> = SmallSet::default();
        let mut has_monitor = false;
        let mut claims = Claims::default();
        let mut excluded_claims: SmallSet<&str> = SmallSet::default();
        let mut review_notes: BTreeSet<(crate::review::ReviewRef, ReviewNote)> = BTreeSet::new();
        let mut confirmed = None;
        let reviewed = !self.reviews.is_empty();
        for attribution in incident.member_reports(reports) {
            let voice = match &attribution.source.party {
                Some(party) => Voice::Party(self.resolve_party(party).unwrap_or(party)),
                None => Voice::Source(&attribution.source.id),
            };
            has_monitor |= attribution.source.kind == SourceKind::Monitor;
            voices.insert(voice);
            let standing = if reviewed {
                self.reviews.standing(&attribution.id)
            } else {
                None
            };
            if let Some(standing) = standing {
                if let Some((by, true)) = &standing.judged {
                    confirmed = Some(match confirmed {
                        Some(earlier) if earlier <= by => earlier,
                        _ => by,
                    });
                }
                if let Some(pin) = &standing.pin {
                    review_notes.insert((
                        pin.by.clone(),
                        if pin.merge {
                            ReviewNote::Merged
                        } else {
                            ReviewNote::Split
                        },
                    ));
                }
                if let Some((by, party)) = &standing.attribution {
                    review_notes.insert((
                        by.clone(),
                        ReviewNote::Reattributed {
                            report: attribution.id.clone(),
                            party: party.clone(),
                        },
                    ));
                    if let Some(p) = party.as_deref().and_then(|p| self.resolve_party(p)) {
                        claims.voices_of(p).insert(voice);
                    }
                    continue;
                }
            }
            if let Some(accused) = &attribution.accused {
                match self.resolve_party(accused) {
                    Some(p) => {
                        claims.voices_of(p).insert(voice);
                    }
                    None if agreement.is_excluded_actor(accused) => {
                        excluded_claims.insert(accused);
                    }
                    // A named actor that is neither a party nor excluded names no party.
                    None => {}
                }
            } else if !attribution.actors().is_empty() {
                let parties: BTreeSet<&str> = attribution
                    .actors()
                    .iter()
                    .filter_map(|a| self.resolve_party(a))
                    .collect();
                if let (1, Some(p)) = (parties.len(), parties.first()) {
                    claims.voices_of(p).insert(voice);
                } else if parties.is_empty() {
                    for actor in attribution.actors() {
                        if agreement.is_excluded_actor(actor) {
                            excluded_claims.insert(actor);
                        }
                    }
                }
            }
        }
        let policy = &agreement.corroboration;
        let by_voices = (has_monitor && policy.monitor_alone_establishes)
            || voices.len() as u32 >= policy.min_independent_sources;
        for (by, note) in review_notes {
            add_reason(&mut reasons, detail, || Reason::Reviewed {
                review: by.review_id,
                reviewer: by.reviewer,
                note,
            });
        }
        add_reason(&mut reasons, detail, || Reason::Voices {
            voices: voices.len(),
            monitor: has_monitor,
            established: by_voices,
            min_sources: policy.min_independent_sources,
            monitor_alone: policy.monitor_alone_establishes,
        });
        if let Some(by) = confirmed {
            add_reason(&mut reasons, detail, || Reason::Reviewed {
                review: by.review_id.clone(),
                reviewer: by.reviewer.clone(),
                note: ReviewNote::Confirmed,
            });
        }
        let established = by_voices || confirmed.is_some();

        finding.incident_id = incident.id.clone();
        finding.verdict = Verdict::Undetermined;
        finding.reason = None;
        finding.parties.clear();
        finding.rules.clear();
        finding.exceptions.clear();
        finding.zones.clear();
        finding.missing.clear();
        finding.established = established;
        finding.target = target;
        finding.site = site;
        finding.reasons = reasons;

        if claims.is_empty() && !excluded_claims.is_empty() {
            finding.verdict = Verdict::NoViolation;
            finding.reason = Some(NoViolationReason::ActorExcluded);
            add_reason(&mut finding.reasons, detail, || Reason::ActorsExcluded {
                actors: excluded_claims.iter().map(SmolStr::new).collect(),
            });
            return;
        }

        let candidates: SmallVec<[SmolStr; 2]> = if claims.is_empty() {
            agreement.parties.iter().map(|p| p.id.clone()).collect()
        } else {
            claims.parties().map(SmolStr::new).collect()
        };
        // Zones the incident surely misses are `No` for every party; the other zones whose
        // areas are the same for every party are classified once per incident.
        let loc = incident.location;
        let open = self
            .zone_screen
            .as_ref()
            .and_then(|screen| screen.candidates(loc.lon, loc.lat, loc.uncertainty_m));
        let mut shared = match &open {
            Some(open) => open.misses(agreement.zones.len()),
            None => ZoneTris::from_elem(None, agreement.zones.len()),
        };
        // Each candidate's reasons go into the finding in turn, headed by whose act it is
        // judged as when there are several.
        let several = candidates.len() > 1;
        let mut evaluations: SmallVec<[(SmolStr, Evaluation); 2]> = SmallVec::new();
        for p in &candidates {
            if several {
                add_reason(&mut finding.reasons, detail, || Reason::AsActOf {
                    party: p.clone(),
                });
            }
            let evaluation = self.evaluate(
                incident,
                p,
                target,
                possible_site,
                releases,
                Screened {
                    open: open.as_ref(),
                    tris: &mut shared,
                },
                &mut finding.reasons,
                detail,
            );
            evaluations.push((p.clone(), evaluation));
        }
        let yes: SmallVec<[&(SmolStr, Evaluation); 2]> = evaluations
            .iter()
            .filter(|(_, e)| e.prohibited == Tri::Yes)
            .collect();
        let unknown: SmallVec<[&(SmolStr, Evaluation); 2]> = evaluations
            .iter()
            .filter(|(_, e)| e.prohibited == Tri::Unknown)
            .collect();
        let relevant: SmallVec<[&(SmolStr, Evaluation); 2]> = if yes.is_empty() {
            unknown.clone()
        } else {
            yes.clone()
        };
        // What the finding names; a counted finding names nothing.
        let counted = detail == Detail::Count;
        let mut named = Named::default();
        for (_, e) in relevant.iter().filter(|_| !counted) {
            named.add(e);
        }

        if yes.is_empty() && unknown.is_empty() {
            // Not prohibited for any candidate: the first reason in precedence order.
            finding.verdict = Verdict::NoViolation;
            finding.reason = evaluations.iter().filter_map(|(_, e)| e.reason).min();
            if !claims.is_empty() {
                finding.parties.extend(candidates.iter().cloned());
            }
            for (_, e) in evaluations.iter().filter(|_| !counted) {
                named.exceptions.union(&e.exceptions);
            }
            finish(finding, agreement, &named, detail);
            return;
        }

        if claims.is_empty() {
            finding.verdict = Verdict::Undetermined;
            if detail == Detail::Full {
                finding
                    .missing
                    .push("attribution: no report says which party did it".into());
            }
            for (_, e) in &unknown {
                finding.missing.extend(e.missing.iter().cloned());
            }
            add_reason(&mut finding.reasons, detail, || Reason::NobodyNamed);
            finish(finding, agreement, &named, detail);
            return;
        }

        if yes.is_empty() {
            finding.verdict = Verdict::Undetermined;
            finding
                .parties
                .extend(unknown.iter().map(|(p, _)| p.clone()));
            for (_, e) in &unknown {
                finding.missing.extend(e.missing.iter().cloned());
            }
            finish(finding, agreement, &named, detail);
            return;
        }

        let accused: SmallVec<[SmolStr; 2]> = claims.parties().map(SmolStr::new).collect();
        if accused.len() > 1 {
            finding.parties.extend(accused.iter().cloned());
            if established {
                finding.verdict = Verdict::Disputed;
                add_reason(&mut finding.reasons, detail, || Reason::Disputed {
                    parties: accused.to_vec(),
                });
            } else {
                finding.verdict = Verdict::Alleged;
                add_reason(&mut finding.reasons, detail, || {
                    Reason::ConflictingAllegations {
                        parties: accused.to_vec(),
                    }
                });
            }
            finish(finding, agreement, &named, detail);
            return;
        }

        let party = &accused[0];
        finding.parties.push(party.clone());
        let Some(naming) = claims.get(party.as_str()) else {
            unreachable!("`accused` lists the parties of `claims`")
        };
        let independent_of_adversary = naming
            .iter()
            .any(|v| *v == Voice::Party(party) || matches!(v, Voice::Source(_)));
        let attribution_established =
            independent_of_adversary || naming.len() as u32 >= policy.min_independent_sources;
        if established && attribution_established {
            finding.verdict = Verdict::Violation;
            add_reason(&mut finding.reasons, detail, || Reason::Violation {
                party: party.clone(),
                voices: naming.len(),
                independent: independent_of_adversary,
            });
        } else {
            finding.verdict = Verdict::Alleged;
            add_reason(&mut finding.reasons, detail, || {
                if established {
                    Reason::AdversaryOnly {
                        party: party.clone(),
                    }
                } else {
                    Reason::NotEstablished {
                        party: party.clone(),
                    }
                }
            });
        }
        finish(finding, agreement, &named, detail);
    }

    #[allow(clippy::too_many_arguments)]
    fn evaluate(
        &self,
        incident: &Incident,
        party: &str,
        target: Target,
        possible_site: Option<usize>,
        releases: &Releases,
        screened: Screened<'_>,
        reasons: &mut Vec<Reason>,
        detail: Detail,
    ) -> Evaluation {
        let Screened { open, tris: shared } = screened;
        let agreement: &Agreement = &self.agreement;
        let mut e = Evaluation {
            prohibited: Tri::No,
            reason: None,
            rules: SmallSet::default(),
            exceptions: SmallSet::default(),
            zones: SmallSet::default(),
            missing: Vec::new(),
        };
        // Time.
        let in_force = match self.windows.get(party) {
            Some(in_force) => in_force.clone(),
            None => agreement.in_force_for(party),
        };
        let (start, end) = match in_force {
            InForce::ConditionUnmet { condition } => {
                e.reason = Some(NoViolationReason::NotInForce);
                add_reason(reasons, detail, || Reason::ConditionUnmet { condition });
                return e;
            }
            InForce::Between { start, end } => {
                (start.as_millisecond(), end.map(|t| t.as_millisecond()))
            }
        };
        let release = releases.get(party);
        let bound_end = match (end, release) {
            (Some(end), Some((r, _))) => Some(end.min(*r)),
            (None, Some((r, _))) => Some(*r),
            (end, None) => end,
        };
        let span = incident.time;
        let after_start = if span.start_ms >= start {
            Tri::Yes
        } else if span.end_ms < start {
            Tri::No
        } else {
            Tri::Unknown
        };
        let before_end = match bound_end {
            None => Tri::Yes,
            Some(end) if span.end_ms < end => Tri::Yes,
            Some(end) if span.start_ms >= end => Tri::No,
            Some(_) => Tri::Unknown,
        };
        let in_time = after_start.and(before_end);
        let window = |position| Reason::Window {
            party: SmolStr::new(party),
            start_ms: start,
            end_ms: bound_end,
            span,
            position,
        };
        match in_time {
            Tri::No => {
                let released = release.is_some_and(|(r, _)| span.start_ms >= *r)
                    && end.is_none_or(|end| span.start_ms < end)
                    && after_start != Tri::No;
                if released {
                    let by = release.map(|(_, by)| by.clone()).unwrap_or_default();
                    e.reason = Some(NoViolationReason::ReleasedByReciprocity);
                    add_reason(reasons, detail, || Reason::Released {
                        party: SmolStr::new(party),
                        by,
                        span,
                    });
                } else {
                    e.reason = Some(NoViolationReason::OutsideWindow);
                    add_reason(reasons, detail, || window(WindowPosition::Outside));
                }
                return e;
            }
            Tri::Unknown => {
                add_reason(reasons, detail, || window(WindowPosition::Straddles));
                if detail == Detail::Full {
                    e.missing.push(format!(
                        "time: the act's time ({}) straddles the edge of the window",
                        span_text(span)
                    ));
                }
            }
            Tri::Yes => add_reason(reasons, detail, || window(WindowPosition::Inside)),
        }

        // Rules.
        let binding = || {
            agreement
                .rules
                .iter()
                .filter(|r| r.parties.selects_id(party))
        };
        if binding().next().is_none() {
            e.reason = Some(NoViolationReason::PartyNotBound);
            add_reason(reasons, detail, || Reason::NoRuleBinds {
                party: SmolStr::new(party),
            });
            return e;
        }
        let by_action = || binding().filter(|r| r.actions.selects(&incident.action));
        if by_action().next().is_none() {
            e.reason = Some(NoViolationReason::ActionPermitted);
            add_reason(reasons, detail, || Reason::NoRuleProhibits {
                action: incident.action,
            });
            return e;
        }
        let possible_target = possible_site.map(|i| agreement.sites[i].target);
        let target_tri = |targets: &Selector<Target>| -> Tri {
            if targets.covers(target) {
                Tri::Yes
            } else if target.kind == TargetKind::Unknown
                || possible_target.is_some_and(|t| targets.covers(t))
            {
                Tri::Unknown
            } else {
                Tri::No
            }
        };
        if by_action().all(|r| target_tri(&r.targets) == Tri::No) {
            e.reason = Some(NoViolationReason::TargetNotProtected);
            add_reason(reasons, detail, || Reason::TargetNotProtected {
                action: incident.action,
                target,
            });
            return e;
        }
        let mut any_rule = Tri::No;
        let mut zone_cache = ZoneTris::from_elem(None, agreement.zones.len());
        for (rule_index, rule) in agreement.rules.iter().enumerate() {
            let covered = rule.parties.selects_id(party)
                && rule.actions.selects(&incident.action)
                && target_tri(&rule.targets) != Tri::No;
            if !covered {
                continue;
            }
            let t = target_tri(&rule.targets);
            if t == Tri::Unknown && detail == Detail::Full {
                let what = match possible_site {
                    Some(i) => format!(
                        "target: the location may or may not be at protected site `{}`",
                        agreement.sites[i].id
                    ),
                    None => "target: the reports do not say what was hit".to_string(),
                };
                e.missing.push(what);
            }
            let zone_tri = match (&self.rule_zones[rule_index], open) {
                (None, _) => Tri::Yes,
                // Without the chain of reasons (which counts the zones the act is outside),
                // only the zones the screen left open are asked: the others are `No`.
                (Some(_), Some(open)) if detail != Detail::Full => open
                    .common(&self.rule_zone_sets[rule_index])
                    .fold(Tri::No, |acc, z| {
                        acc.or(self.zone_tri(&mut zone_cache, shared, z, party, incident))
                    }),
                (Some(zones), _) => zones.iter().fold(Tri::No, |acc, &z| {
                    acc.or(self.zone_tri(&mut zone_cache, shared, z, party, incident))
                }),
            };
            let rule_tri = t.and(zone_tri);
            if rule_tri != Tri::No {
                e.rules.insert(rule_index as u32);
                add_reason(reasons, detail, || Reason::RuleApplies {
                    rule: rule.id.clone(),
                    text: rule.text.clone(),
                    certain: rule_tri == Tri::Yes,
                });
            }
            any_rule = any_rule.or(rule_tri);
        }
        // A counted finding names no zones: the zones it is in are not collected.
        if detail != Detail::Count {
            self.zone_reasons(&zone_cache, incident, &mut e, reasons, detail);
        }
        if any_rule == Tri::No {
            e.reason = Some(NoViolationReason::OutsideZones);
            add_reason(reasons, detail, || Reason::OutsideAllZones);
            return e;
        }

        // Exceptions.
        let mut excepted = Tri::No;
        for (exception_index, exception) in agreement.exceptions.iter().enumerate() {
            if !exception.actions.selects(&incident.action) {
                continue;
            }
            let t = target_tri(&exception.targets);
            let z = match &self.exception_zones[exception_index] {
                None => Tri::Yes,
                Some(zones) => zones.iter().fold(Tri::No, |acc, &zi| {
                    acc.or(self.zone_tri(&mut zone_cache, shared, zi, party, incident))
                }),
            };
            let applies = t.and(z);
            if applies != Tri::No {
                e.exceptions.insert(exception_index as u32);
                add_reason(reasons, detail, || Reason::ExceptionApplies {
                    exception: exception.id.clone(),
                    text: exception.text.clone(),
                    certain: applies == Tri::Yes,
                });
                if applies == Tri::Unknown && detail == Detail::Full {
                    e.missing
                        .push(format!("whether exception {} applies", exception.id));
                }
            }
            excepted = excepted.or(applies);
        }
        e.prohibited = in_time.and(any_rule).and(excepted.not());
        if e.prohibited == Tri::No {
            e.reason = Some(NoViolationReason::Exception);
        }
        e
    }

    fn in_zone(&self, z: usize, party: &str, incident: &Incident) -> Tri {
        let loc = incident.location;
        let zone = &self.agreement.zones[z];
        zone.areas_for(Some(party), incident.action)
            .fold(Tri::No, |acc, (a, _)| {
                acc.or(self.zone_areas[z][a].classify(loc.lon, loc.lat, loc.uncertainty_m))
            })
    }

    /// Whether the incident is in zone `z` for `party`: from this evaluation's `cache`, else
    /// from the incident's `shared` cache (a zone it surely misses, or one that is the same for
    /// every party and already classified), else classified now.
    #[inline]
    fn zone_tri(
        &self,
        cache: &mut ZoneTris,
        shared: &mut ZoneTris,
        z: usize,
        party: &str,
        incident: &Incident,
    ) -> Tri {
        if let Some(tri) = cache[z] {
            return tri;
        }
        let tri = match shared[z] {
            Some(tri) => tri,
            None if self.party_free_zones[z] => *shared[z].insert(self.in_zone(z, party, incident)),
            None => self.in_zone(z, party, incident),
        };
        cache[z] = Some(tri);
        tri
    }

    /// One reason for the zones the act is in (and how many it is outside), one per zone
    /// whose boundary it straddles, with the distance.
    fn zone_reasons(
        &self,
        cache: &ZoneTris,
        incident: &Incident,
        e: &mut Evaluation,
        reasons: &mut Vec<Reason>,
        detail: Detail,
    ) {
        let mut inside = Vec::new();
        let mut outside = 0usize;
        let place = incident.location;
        for (z, tri) in cache.iter().enumerate() {
            let id = &self.agreement.zones[z].id;
            match tri {
                None => {}
                Some(Tri::Yes) => {
                    if detail == Detail::Full {
                        inside.push(id.clone());
                    }
                    e.zones.insert(z as u32);
                }
                Some(Tri::No) => outside += 1,
                Some(Tri::Unknown) if detail != Detail::Full => {
                    e.zones.insert(z as u32);
                }
                Some(Tri::Unknown) => {
                    let distance_m = self.zone_areas[z]
                        .iter()
                        .map(|i| i.distance_to_boundary_m(place.lon, place.lat))
                        .fold(f64::INFINITY, f64::min);
                    let reason = Reason::ZoneStraddled {
                        place,
                        zone: id.clone(),
                        distance_m,
                    };
                    e.missing.push(format!("place: {reason}"));
                    reasons.push(reason);
                    e.zones.insert(z as u32);
                }
            }
        }
        if !inside.is_empty() || outside > 0 {
            add_reason(reasons, detail, || Reason::Zones {
                place,
                inside,
                outside,
            });
        }
    }
}

/// Puts the ids of what `named` names into `finding` (unless only counted), each list in id
/// order without repeats, and sorts what is missing the same way.
fn finish(finding: &mut Finding, agreement: &Agreement, named: &Named, detail: Detail) {
    if detail == Detail::Count {
        return;
    }
    fn ids(set: &SmallSet<u32>, id: impl Fn(usize) -> SmolStr) -> Vec<SmolStr> {
        let mut list: Vec<SmolStr> = set.iter().map(|&i| id(i as usize)).collect();
        list.sort_unstable();
        list.dedup();
        list
    }
    finding.rules = ids(&named.rules, |i| agreement.rules[i].id.clone());
    finding.exceptions = ids(&named.exceptions, |i| agreement.exceptions[i].id.clone());
    finding.zones = ids(&named.zones, |i| agreement.zones[i].id.clone());
    finding.missing.sort();
    finding.missing.dedup();
}

/// An established violation as the reciprocity clause orders them: by the end of the act,
/// then the violator's id, then the incident id (the earliest releases the other parties).
pub type ViolationKey = (i64, SmolStr, SmolStr);

/// The reciprocity key of `finding` on `incident`, when it is an established violation with
/// a named violator.
pub fn violation_key(incident: &Incident, finding: &Finding) -> Option<ViolationKey> {
    if finding.verdict != Verdict::Violation {
        return None;
    }
    let party = finding.parties.first()?;
    Some((incident.time.end_ms, party.clone(), incident.id.clone()))
}

/// The releases that the earliest established violation (by [`ViolationKey`] order)
/// triggers under a reciprocity clause: its violator releases every other party from the end
/// of that act on. Empty without a reciprocity clause or without a violation.
pub fn releases(agreement: &Agreement, earliest: Option<&ViolationKey>) -> Releases {
    let mut out = Releases::new();
    if agreement.reciprocity != Reciprocity::Release {
        return out;
    }
    if let Some((at, violator, incident)) = earliest {
        for party in &agreement.parties {
            if party.id != *violator {
                out.insert(
                    party.id.clone(),
                    (
                        *at,
                        format!("{violator}'s violation in incident {incident}").into(),
                    ),
                );
            }
        }
    }
    out
}
