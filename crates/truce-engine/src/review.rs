//! Human decisions on reports: monitors' reviews and sources' retractions, and what they do to
//! incidents and findings.
//!
//! Corroboration and adjudication are automatic; a monitoring mission still needs people to
//! overrule them, visibly. A [`Review`] is a monitor's decision on named reports; a
//! [`Retraction`] is a source withdrawing its own report. Both are entries of the log, so the
//! effect of every decision is a pure function of the log prefix like everything else.
//!
//! # What each decision does
//! Decisions are applied in log order; for each report the latest decision of each kind wins.
//! - **retraction** (by the report's own source; a retraction by anyone else is ignored here,
//!   the service refuses it): the report is withdrawn for good. It stays in the record but is a
//!   member of no incident.
//! - **reject**: the report is withdrawn as evidence, like a retraction, until a later
//!   **confirm** of it reinstates it.
//! - **confirm**: the report is taken as describing a real event: the incident holding it is
//!   established whatever the corroboration policy says (attribution is still judged from
//!   the reports).
//! - **reattribute** (to a party, or to nobody known): the report is read as naming that party
//!   instead of what it says itself; its own text is unchanged.
//! - **merge**: the named reports form one incident, and no other report joins it.
//! - **split**: each named report forms an incident of its own, and no other report joins it
//!   (a later merge can group some of them again).
//!
//! A merge or split *pins* reports: pinned reports take no part in corroboration. The reports
//! a review names but that are not (yet) in the record are remembered: the decision applies
//! when they arrive.
//!
//! Every finding whose incident a review touched carries a [`Reason::Reviewed`] step naming
//! the review and the reviewer.
//!
//! [`Reason::Reviewed`]: crate::reason::Reason::Reviewed

use std::collections::{BTreeMap, BTreeSet};

use truce_model::{Report, SmolStr};

/// A monitor's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The reports describe a real event.
    Confirm,
    /// The reports are not evidence.
    Reject,
    /// The event is attributed to this party (`None`: to nobody known).
    Reattribute(Option<SmolStr>),
    /// The reports describe one event.
    Merge,
    /// The reports describe separate events.
    Split,
}

impl Decision {
    /// The decision's name in the API and the log.
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Confirm => "confirm",
            Decision::Reject => "reject",
            Decision::Reattribute(_) => "reattribute",
            Decision::Merge => "merge",
            Decision::Split => "split",
        }
    }
}

/// A monitor's decision on named reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// The review's id (unique in the record).
    pub review_id: SmolStr,
    /// The reviewer's source id.
    pub reviewer: SmolStr,
    /// The decision.
    pub decision: Decision,
    /// The reports it concerns.
    pub reports: Vec<SmolStr>,
}

/// A source withdraws its own report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retraction {
    /// The source withdrawing.
    pub source_id: SmolStr,
    /// The report withdrawn.
    pub report_id: SmolStr,
}

/// A decision about reports, as it comes from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Annotation {
    /// A monitor's review.
    Review(Review),
    /// A source's retraction.
    Retraction(Retraction),
}

/// Who decided: a review's id and its reviewer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReviewRef {
    /// The review's id.
    pub review_id: SmolStr,
    /// The reviewer's source id.
    pub reviewer: SmolStr,
}

/// Where a pinned report belongs: a merge's group or a split's report on its own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pin {
    /// The merge or split that pinned it.
    pub by: ReviewRef,
    /// `true` for a merge, `false` for a split.
    pub merge: bool,
    /// The group's key: the review id for a merge, the review id and the report id for a
    /// split.
    pub group: SmolStr,
}

/// What the decisions so far say about one report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    /// The sources that retracted a report of this id (only the report's own source counts).
    pub retracted_by: BTreeSet<SmolStr>,
    /// The latest confirm or reject: `true` for a confirm.
    pub judged: Option<(ReviewRef, bool)>,
    /// The latest reattribution and the party it names.
    pub attribution: Option<(ReviewRef, Option<SmolStr>)>,
    /// The latest merge or split.
    pub pin: Option<Pin>,
}

/// The decisions applied so far, by report id; see the [module docs](self).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewIndex {
    by_report: BTreeMap<SmolStr, Standing>,
    /// The members (report ids) of every pin group.
    groups: BTreeMap<SmolStr, BTreeSet<SmolStr>>,
}

impl ReviewIndex {
    /// No decisions.
    pub fn new() -> ReviewIndex {
        ReviewIndex::default()
    }

    /// The decisions of `annotations`, applied in order.
    pub fn from_annotations<'a>(
        annotations: impl IntoIterator<Item = &'a Annotation>,
    ) -> ReviewIndex {
        let mut index = ReviewIndex::new();
        for annotation in annotations {
            index.apply(annotation);
        }
        index
    }

    /// Whether no decision is held.
    pub fn is_empty(&self) -> bool {
        self.by_report.is_empty()
    }

    /// Applies one more decision; returns the ids of the reports whose incident or finding it
    /// may change (the named reports and the other members of the pin groups it changes).
    pub fn apply(&mut self, annotation: &Annotation) -> BTreeSet<SmolStr> {
        let mut touched = BTreeSet::new();
        match annotation {
            Annotation::Retraction(retraction) => {
                self.by_report
                    .entry(retraction.report_id.clone())
                    .or_default()
                    .retracted_by
                    .insert(retraction.source_id.clone());
                touched.insert(retraction.report_id.clone());
            }
            Annotation::Review(review) => {
                let by = ReviewRef {
                    review_id: review.review_id.clone(),
                    reviewer: review.reviewer.clone(),
                };
                for report_id in &review.reports {
                    touched.insert(report_id.clone());
                    let pin = match &review.decision {
                        Decision::Merge => Some(Pin {
                            by: by.clone(),
                            merge: true,
                            group: review.review_id.clone(),
                        }),
                        Decision::Split => Some(Pin {
                            by: by.clone(),
                            merge: false,
                            group: SmolStr::new(format!("{}/{}", review.review_id, report_id)),
                        }),
                        _ => None,
                    };
                    let standing = self.by_report.entry(report_id.clone()).or_default();
                    match &review.decision {
                        Decision::Confirm => standing.judged = Some((by.clone(), true)),
                        Decision::Reject => standing.judged = Some((by.clone(), false)),
                        Decision::Reattribute(party) => {
                            standing.attribution = Some((by.clone(), party.clone()));
                        }
                        Decision::Merge | Decision::Split => {}
                    }
                    if let Some(pin) = pin {
                        let old = standing.pin.replace(pin.clone());
                        if let Some(old) = old
                            && let Some(members) = self.groups.get_mut(&old.group)
                        {
                            members.remove(report_id);
                            touched.extend(members.iter().cloned());
                            if members.is_empty() {
                                self.groups.remove(&old.group);
                            }
                        }
                        let members = self.groups.entry(pin.group).or_default();
                        touched.extend(members.iter().cloned());
                        members.insert(report_id.clone());
                    }
                }
            }
        }
        touched
    }

    /// What the decisions say about the report with this id.
    pub fn standing(&self, report_id: &str) -> Option<&Standing> {
        self.by_report.get(report_id)
    }

    /// Whether `report` is withdrawn (retracted by its own source, or rejected and not
    /// confirmed since).
    pub fn withdrawn(&self, report: &Report) -> bool {
        self.standing(&report.id).is_some_and(|standing| {
            standing.retracted_by.contains(&report.source.id)
                || matches!(standing.judged, Some((_, false)))
        })
    }

    /// The pin of the report with this id, if a merge or split holds it.
    pub fn pin(&self, report_id: &str) -> Option<&Pin> {
        self.standing(report_id)?.pin.as_ref()
    }

    /// The report ids pinned to a group.
    pub fn group_members(&self, group: &str) -> impl Iterator<Item = &SmolStr> {
        self.groups.get(group).into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(id: &str, decision: Decision, reports: &[&str]) -> Annotation {
        Annotation::Review(Review {
            review_id: id.into(),
            reviewer: "monitor".into(),
            decision,
            reports: reports.iter().copied().map(SmolStr::new).collect(),
        })
    }

    #[test]
    fn the_latest_confirm_or_reject_wins() {
        let mut index = ReviewIndex::new();
        index.apply(&review("r1", Decision::Reject, &["a"]));
        assert!(matches!(
            index.standing("a").and_then(|s| s.judged.as_ref()),
            Some((_, false))
        ));
        index.apply(&review("r2", Decision::Confirm, &["a"]));
        assert!(matches!(
            index.standing("a").and_then(|s| s.judged.as_ref()),
            Some((by, true)) if by.review_id == "r2"
        ));
    }

    #[test]
    fn a_later_pin_moves_a_report_out_of_its_group_and_touches_the_rest() {
        let mut index = ReviewIndex::new();
        let touched = index.apply(&review("m1", Decision::Merge, &["a", "b", "c"]));
        assert_eq!(touched.len(), 3);
        let touched = index.apply(&review("s1", Decision::Split, &["b"]));
        // b, and the members left in m1.
        assert_eq!(
            touched.iter().map(SmolStr::as_str).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(
            index
                .group_members("m1")
                .map(SmolStr::as_str)
                .collect::<Vec<_>>(),
            ["a", "c"]
        );
        assert_eq!(index.pin("b").map(|p| p.group.as_str()), Some("s1/b"));
        assert!(index.pin("b").is_some_and(|p| !p.merge));
    }

    #[test]
    fn only_the_reports_own_source_can_retract_it() {
        use std::sync::Arc;
        use truce_model::{
            ActionType, Casualties, Location, Source, SourceKind, Target, TargetKind, TimeSpan,
        };
        let report = Report {
            id: "a".into(),
            source: Arc::new(Source {
                id: "owner".into(),
                kind: SourceKind::Media,
                party: None,
            }),
            time: TimeSpan::instant(0),
            location: Location {
                lon: 37.0,
                lat: 48.0,
                uncertainty_m: 100.0,
            },
            action: ActionType::Artillery,
            target: Target::of(TargetKind::Military),
            accused: None,
            casualties: Casualties::default(),
            details: truce_model::Details::default(),
        };
        let mut index = ReviewIndex::new();
        index.apply(&Annotation::Retraction(Retraction {
            source_id: "someone_else".into(),
            report_id: "a".into(),
        }));
        assert!(!index.withdrawn(&report));
        index.apply(&Annotation::Retraction(Retraction {
            source_id: "owner".into(),
            report_id: "a".into(),
        }));
        assert!(index.withdrawn(&report));
        // A confirm does not undo a retraction.
        index.apply(&review("r1", Decision::Confirm, &["a"]));
        assert!(index.withdrawn(&report));
    }
}
