//! Incidents, findings and statistics as the API shows them.
//!
//! A finding has the published shape of a finding in `truce assess`'s JSON
//! document (`docs/output-format.md`: verdict, reason, parties, rules,
//! exceptions, zones, missing, established, target, site, and the reasons
//! rendered as text), with the interpretation it was judged under added.
//! An incident does not reuse the document's incident shape: that shape
//! lists each member's source name and kind (its `attributions`), which
//! not every reader may see, and its members by report id only. Here an
//! incident names its members by report id and log index, and the
//! incident's own endpoint shows each member report as the reader may see
//! it.
//!
//! # Redaction
//!
//! An incident with a monitor's report among its members is placed from
//! that monitor's exact position. Readers who see monitors' positions
//! coarsened see such an incident's location coarsened the same way, and in
//! its reasons the act's place coarsened and a distance to a zone boundary
//! rounded to the coarsening cell.

use serde::{Deserialize, Serialize};
use truce_engine::adjudicate::Finding;
use truce_engine::reason::Reason;
use truce_model::Casualties;
use utoipa::ToSchema;

use super::{LocationView, METRES_PER_DEGREE, ReportView, Viewer, coarse_location};
use crate::live::{ContestRecord, Group, Published};

/// Casualties of an incident (the maximum over its reports of each count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CasualtiesView {
    /// Civilians killed.
    pub civilian_killed: u32,
    /// Civilians injured.
    pub civilian_injured: u32,
    /// Combatants killed.
    pub military_killed: u32,
    /// Combatants injured.
    pub military_injured: u32,
    /// Killed, not said whether civilian or combatant.
    pub unspecified_killed: u32,
}

impl From<Casualties> for CasualtiesView {
    fn from(casualties: Casualties) -> Self {
        Self {
            civilian_killed: casualties.civilian_killed,
            civilian_injured: casualties.civilian_injured,
            military_killed: casualties.military_killed,
            military_injured: casualties.military_injured,
            unspecified_killed: casualties.unspecified_killed,
        }
    }
}

/// A finding: an incident judged under one interpretation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FindingView {
    /// The interpretation it was judged under (`common` or a party's).
    pub interpretation: String,
    /// The incident judged.
    pub incident_id: String,
    /// `violation`, `alleged`, `disputed`, `no_violation` or `undetermined`.
    pub verdict: String,
    /// For `no_violation`: why (`outside_window`, `exception`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The parties concerned.
    pub parties: Vec<String>,
    /// The rules the act falls under (or might).
    pub rules: Vec<String>,
    /// The exceptions that applied (or might).
    pub exceptions: Vec<String>,
    /// The zones the act is in (or might be).
    pub zones: Vec<String>,
    /// For `undetermined`: what would be needed to decide.
    pub missing: Vec<String>,
    /// Whether the act is established under the corroboration policy.
    pub established: bool,
    /// The target category used.
    pub target: String,
    /// The protected site the incident is at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The chain of reasons, in words.
    pub reasons: Vec<String>,
}

/// An incident: reports judged to describe one event, with its findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentView {
    /// `inc-` and the smallest member report id.
    pub id: String,
    /// The agreement.
    pub agreement_id: String,
    /// The agreement version judged by.
    pub agreement_version: u32,
    /// Earliest instant, Unix milliseconds.
    pub start_ms: i64,
    /// Latest instant, Unix milliseconds, inclusive.
    pub end_ms: i64,
    /// Where (absent if it could not be shown safely).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationView>,
    /// The most frequent action of the members.
    pub action: String,
    /// The target category.
    pub target: String,
    /// A protected site named by a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The casualties.
    pub casualties: CasualtiesView,
    /// How many distinct sources report it.
    pub n_sources: u32,
    /// The member reports' ids, ascending.
    pub report_ids: Vec<String>,
    /// The member reports' log indexes, parallel to `report_ids`.
    pub report_log_indexes: Vec<u64>,
    /// One finding per interpretation of the agreement version.
    pub findings: Vec<FindingView>,
}

/// One page of incidents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentPage {
    /// The agreement.
    pub agreement_id: String,
    /// The agreement version judged by.
    pub agreement_version: u32,
    /// The incidents, by id.
    pub items: Vec<IncidentView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One incident with its member reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentDetail {
    /// The incident and its findings.
    pub incident: IncidentView,
    /// Its member reports as the reader may see them, by report id.
    pub reports: Vec<ReportView>,
    /// Parties' contests of its findings (or of findings of the incidents
    /// its reports were in), each with the finding's versions.
    #[serde(default)]
    pub contests: Vec<ContestView>,
}

/// One group of counted findings. A dimension not grouped by is absent; a
/// grouped `party` or `zone` is `null` for findings concerning no party or
/// placing the act in no zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatisticsRow {
    /// The party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub party: Option<Option<String>>,
    /// The verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub verdict: Option<Option<String>>,
    /// The day the incident starts (`YYYY-MM-DD`), in the agreement's time
    /// zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub day: Option<Option<String>>,
    /// The zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub zone: Option<Option<String>>,
    /// How many findings.
    pub count: u64,
}

impl From<(Group, u64)> for StatisticsRow {
    fn from((group, count): (Group, u64)) -> Self {
        let mut row = Self {
            party: None,
            verdict: None,
            day: None,
            zone: None,
            count,
        };
        for (dimension, value) in group {
            let slot = match dimension {
                crate::live::Dimension::Party => &mut row.party,
                crate::live::Dimension::Verdict => &mut row.verdict,
                crate::live::Dimension::Day => &mut row.day,
                crate::live::Dimension::Zone => &mut row.zone,
            };
            *slot = Some(value);
        }
        row
    }
}

/// Counts of findings, grouped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatisticsView {
    /// The agreement.
    pub agreement_id: String,
    /// The agreement version judged by.
    pub agreement_version: u32,
    /// The interpretation the findings were judged under.
    pub interpretation: String,
    /// The time zone days are counted in.
    pub time_zone: String,
    /// The dimensions grouped by, in output order.
    pub group_by: Vec<String>,
    /// How many incidents (each counted once).
    pub incidents: u64,
    /// The groups. A finding concerning several parties (or zones) counts
    /// once under each when grouping by party (or zone).
    pub rows: Vec<StatisticsRow>,
}

impl Viewer<'_> {
    /// Whether the reader sees incident `position` placed coarsely.
    fn coarse_incident(&self, published: &Published, position: usize) -> bool {
        !self.sees_exact_position("monitor") && published.has_monitor_member(position)
    }

    /// The location the reader sees for incident `position`.
    pub fn incident_location(
        &self,
        published: &Published,
        position: usize,
    ) -> Option<LocationView> {
        let location = published.incident_at(position)?.location;
        if !self.coarse_incident(published, position) {
            return Some(LocationView {
                lon: location.lon,
                lat: location.lat,
                radius_m: location.uncertainty_m,
                coarsened: false,
            });
        }
        coarse_location(location, self.cell_deg).map(|shown| LocationView {
            lon: shown.lon,
            lat: shown.lat,
            radius_m: shown.uncertainty_m,
            coarsened: true,
        })
    }

    /// The view of incident `position` with its findings (`None` past the last incident).
    pub fn incident(&self, published: &Published, position: usize) -> Option<IncidentView> {
        let incident = published.incident_at(position)?;
        let coarse = self.coarse_incident(published, position);
        let (report_ids, report_log_indexes) = published
            .members(position)
            .into_iter()
            .map(|member| (member.report_id.to_string(), member.log_index))
            .unzip();
        Some(IncidentView {
            id: incident.id.to_string(),
            agreement_id: published.agreement_id.clone(),
            agreement_version: published.version,
            start_ms: incident.time.start_ms,
            end_ms: incident.time.end_ms,
            location: self.incident_location(published, position),
            action: incident.action.as_str().to_owned(),
            target: incident.target.to_string(),
            site: incident.site.as_ref().map(ToString::to_string),
            casualties: incident.casualties.into(),
            n_sources: incident.n_sources,
            report_ids,
            report_log_indexes,
            findings: published
                .findings(position)
                .into_iter()
                .map(|(interpretation, finding)| self.finding(interpretation, finding, coarse))
                .collect(),
        })
    }

    /// The view of a finding; `coarse` when the act's place is shown
    /// coarsened to this reader.
    pub fn finding(&self, interpretation: &str, finding: &Finding, coarse: bool) -> FindingView {
        let strings =
            |items: &[truce_model::SmolStr]| items.iter().map(ToString::to_string).collect();
        FindingView {
            interpretation: interpretation.to_owned(),
            incident_id: finding.incident_id.to_string(),
            verdict: finding.verdict.as_str().to_owned(),
            reason: finding.reason.map(|reason| reason.as_str().to_owned()),
            parties: strings(&finding.parties),
            rules: strings(&finding.rules),
            exceptions: strings(&finding.exceptions),
            zones: strings(&finding.zones),
            missing: finding.missing.clone(),
            established: finding.established,
            target: finding.target.to_string(),
            site: finding.site.as_ref().map(ToString::to_string),
            reasons: finding
                .reasons
                .iter()
                .map(|reason| match reason {
                    // Reviewers are monitors: their names only for readers
                    // who may see monitors' identities.
                    Reason::Reviewed {
                        review,
                        reviewer: _,
                        note,
                    } if !self.sees_source(None) => Reason::Reviewed {
                        review: review.clone(),
                        reviewer: truce_model::SmolStr::default(),
                        note: note.clone(),
                    }
                    .to_string(),
                    _ if coarse => coarse_reason(reason, self.cell_deg),
                    _ => reason.to_string(),
                })
                .collect(),
        }
    }

    /// The view of a contested finding and its versions.
    pub fn contest(&self, record: &ContestRecord) -> ContestView {
        let coarse = !self.sees_exact_position("monitor");
        let interpretation = &record.contest.interpretation;
        ContestView {
            contest_id: record.contest.contest_id.clone(),
            party: record.contest.party.clone(),
            interpretation: interpretation.clone(),
            incident_id: record.contest.incident.clone(),
            log_index: record.log_index,
            log_size: record.contest.log_size,
            status: if record.versions.len() > 1 {
                "answered"
            } else {
                "open"
            }
            .to_owned(),
            versions: record
                .versions
                .iter()
                .map(|version| FindingVersionView {
                    version: version.version,
                    after_log_index: version.after_log_index,
                    review_id: version.review.as_ref().map(|r| r.review_id.to_string()),
                    reviewer: version
                        .review
                        .as_ref()
                        .filter(|_| self.sees_source(None))
                        .map(|r| r.reviewer.to_string()),
                    incident_id: version.incident.as_ref().map(|(id, _, _)| id.to_string()),
                    report_ids: version
                        .incident
                        .as_ref()
                        .map(|(_, members, _)| members.iter().map(ToString::to_string).collect())
                        .unwrap_or_default(),
                    finding: version
                        .incident
                        .as_ref()
                        .map(|(_, _, finding)| self.finding(interpretation, finding, coarse)),
                })
                .collect(),
        }
    }
}

/// A party's contest of a finding, with every version of that finding: the
/// one contested, then one after each review answering the contest (never
/// overwritten; each is computed from the log up to its entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContestView {
    /// The contest's id.
    pub contest_id: String,
    /// The contesting party.
    pub party: String,
    /// The interpretation of the finding contested.
    pub interpretation: String,
    /// The incident named by the contest.
    pub incident_id: String,
    /// The contest's log index.
    pub log_index: u64,
    /// The log size of the assessment the contest refers to.
    pub log_size: u64,
    /// `open` until a review answers it, then `answered`.
    pub status: String,
    /// Version 1 is the finding contested; each later version follows a
    /// review answering the contest.
    pub versions: Vec<FindingVersionView>,
}

/// One version of a contested finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FindingVersionView {
    /// 1, 2, 3, …
    pub version: u32,
    /// The log entry (the contest, or the answering review) right after
    /// which the finding stood so.
    pub after_log_index: u64,
    /// The answering review (absent for version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_id: Option<String>,
    /// Its reviewer (absent for readers who may not see monitors' identities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<String>,
    /// The incident holding the contested reports then (absent: none did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    /// Its member reports.
    pub report_ids: Vec<String>,
    /// Its finding under the contested interpretation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<FindingView>,
}

/// A reason in words, with the act's place coarsened to `cell_deg` and a
/// distance to a boundary rounded to the cell.
fn coarse_reason(reason: &Reason, cell_deg: f64) -> String {
    let withheld = "the act's position is withheld".to_owned();
    match reason {
        Reason::Zones {
            place,
            inside,
            outside,
        } => coarse_location(*place, cell_deg).map_or(withheld, |place| {
            Reason::Zones {
                place,
                inside: inside.clone(),
                outside: *outside,
            }
            .to_string()
        }),
        Reason::ZoneStraddled {
            place,
            zone,
            distance_m,
        } => coarse_location(*place, cell_deg).map_or(withheld, |place| {
            let cell_m = cell_deg * METRES_PER_DEGREE;
            Reason::ZoneStraddled {
                place,
                zone: zone.clone(),
                distance_m: (distance_m / cell_m).round() * cell_m,
            }
            .to_string()
        }),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use truce_auth::Role;
    use truce_model::Location;

    use super::*;

    #[test]
    fn coarse_reasons_hide_the_exact_place() {
        let exact = Location {
            lon: 30.123_456,
            lat: 46.654_321,
            uncertainty_m: 50.0,
        };
        let zones = Reason::Zones {
            place: exact,
            inside: vec!["sea".into()],
            outside: 1,
        };
        let shown = coarse_reason(&zones, 0.1);
        assert!(!shown.contains("30.1235"), "{shown}");
        assert!(zones.to_string().contains("30.1235"));
        let straddled = Reason::ZoneStraddled {
            place: exact,
            zone: "sea".into(),
            distance_m: 1_234.0,
        };
        let shown = coarse_reason(&straddled, 0.1);
        assert!(!shown.contains("1234"), "{shown}");
        assert!(!shown.contains("30.1235"), "{shown}");
        let other = Reason::NobodyNamed;
        assert_eq!(coarse_reason(&other, 0.1), other.to_string());
        let viewer = Viewer {
            role: Role::Public,
            party: None,
            cell_deg: 0.1,
        };
        assert!(!viewer.sees_exact_position("monitor"));
    }

    #[test]
    fn statistics_rows_name_only_grouped_dimensions() {
        use crate::live::Dimension;
        let row = StatisticsRow::from((
            vec![
                (Dimension::Party, None),
                (Dimension::Day, Some("2025-04-02".to_owned())),
            ],
            3,
        ));
        let json = serde_json::to_string(&row).unwrap_or_default();
        assert_eq!(json, r#"{"party":null,"day":"2025-04-02","count":3}"#);
    }
}
