//! Roles, actions and the one table of which role may do what.
//!
//! | action                         | admin | monitor | party | analyst | public |
//! |--------------------------------|-------|---------|-------|---------|--------|
//! | `submit_agreement`             | yes   | no      | no    | no      | no     |
//! | `register_source`              | yes   | no      | no    | no      | no     |
//! | `revoke_source`                | yes   | no      | no    | no      | no     |
//! | `submit_report`                | yes   | yes     | yes   | no      | no     |
//! | `submit_review`                | yes   | yes     | no    | no      | no     |
//! | `submit_contest`               | yes   | no      | yes   | no      | no     |
//! | `submit_coverage`              | yes   | yes     | no    | no      | no     |
//! | `submit_retraction`            | yes   | yes     | yes   | no      | no     |
//! | `read_reports`                 | yes   | yes     | yes   | yes     | yes    |
//! | `read_source_identities`       | yes   | yes     | no    | yes     | no     |
//! | `read_sensitive_fields`        | yes   | yes     | no    | no      | no     |
//! | `read_exact_monitor_positions` | yes   | yes     | no    | no      | no     |
//! | `read_findings`                | yes   | yes     | yes   | yes     | yes    |
//! | `read_statistics`              | yes   | yes     | yes   | yes     | yes    |
//! | `read_log`                     | yes   | yes     | yes   | yes     | yes    |
//! | `backup`                       | yes   | no      | no    | no      | no     |
//!
//! The reasons behind the cells:
//!
//! * Coverage records (patrols, cameras, access denials) are the mission's own
//!   observations: a party does not submit them, it is reported in them.
//! * A contest is a party's dispute of a finding; monitors answer contests
//!   with reviews.
//! * A retraction withdraws one's own report; nothing is deleted. The table
//!   says which roles may retract at all; [`may_retract`] adds that the report
//!   must have been submitted by the same key, for every role (an admin who
//!   wants another source's report set aside asks a monitor for a review).
//! * A party does not see the identities of other sources: a liaison officer
//!   learning who reported on his side's conduct would endanger the source.
//!   It may see the sources that speak for its own party
//!   ([`may_read_source_identity`]).
//! * Sensitive fields and monitors' exact positions are for the mission only.
//!   Analysts see everything else, source identities included; the public sees
//!   sources by kind and monitors' positions coarsened
//!   ([`crate::coarsen_position`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use truce_note::KeyName;

use crate::error::AuthError;

/// Who a key acts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the service: agreements, source registration, backups.
    Admin,
    /// Mission staff: reports, reviews, coverage.
    Monitor,
    /// A party's liaison: reports, contests.
    Party,
    /// Reads everything that is not sensitive; submits nothing.
    Analyst,
    /// Anyone: findings, statistics, reports and the log, without identities.
    Public,
}

impl Role {
    /// Every role, in the order of the permission table.
    pub const ALL: [Self; 5] = [
        Self::Admin,
        Self::Monitor,
        Self::Party,
        Self::Analyst,
        Self::Public,
    ];

    /// The lower-case name used in configuration and on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Monitor => "monitor",
            Self::Party => "party",
            Self::Analyst => "analyst",
            Self::Public => "public",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is none of `admin`, `monitor`, `party`, `analyst`, `public`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {text:?}: expected admin, monitor, party, analyst or public")]
pub struct UnknownRole {
    /// The rejected text.
    pub text: String,
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| UnknownRole {
                text: text.to_owned(),
            })
    }
}

/// Something a request asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Append an agreement version.
    SubmitAgreement,
    /// Register a source and its key.
    RegisterSource,
    /// Revoke a source's key.
    RevokeSource,
    /// Submit a report.
    SubmitReport,
    /// Submit a review of a report or incident.
    SubmitReview,
    /// Contest a finding.
    SubmitContest,
    /// Submit an observation-coverage record or an access denial.
    SubmitCoverage,
    /// Withdraw one's own report.
    SubmitRetraction,
    /// Read reports (as the role may see them).
    ReadReports,
    /// Read which source made a report.
    ReadSourceIdentities,
    /// Read the clear values of sensitive fields.
    ReadSensitiveFields,
    /// Read monitors' exact positions.
    ReadExactMonitorPositions,
    /// Read findings.
    ReadFindings,
    /// Read statistics.
    ReadStatistics,
    /// Read the log (entries, checkpoints, proofs).
    ReadLog,
    /// Take a backup of the store.
    Backup,
}

impl Action {
    /// Every action, in the order of the permission table.
    pub const ALL: [Self; 16] = [
        Self::SubmitAgreement,
        Self::RegisterSource,
        Self::RevokeSource,
        Self::SubmitReport,
        Self::SubmitReview,
        Self::SubmitContest,
        Self::SubmitCoverage,
        Self::SubmitRetraction,
        Self::ReadReports,
        Self::ReadSourceIdentities,
        Self::ReadSensitiveFields,
        Self::ReadExactMonitorPositions,
        Self::ReadFindings,
        Self::ReadStatistics,
        Self::ReadLog,
        Self::Backup,
    ];

    /// The snake-case name used on the wire and in the permission table.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SubmitAgreement => "submit_agreement",
            Self::RegisterSource => "register_source",
            Self::RevokeSource => "revoke_source",
            Self::SubmitReport => "submit_report",
            Self::SubmitReview => "submit_review",
            Self::SubmitContest => "submit_contest",
            Self::SubmitCoverage => "submit_coverage",
            Self::SubmitRetraction => "submit_retraction",
            Self::ReadReports => "read_reports",
            Self::ReadSourceIdentities => "read_source_identities",
            Self::ReadSensitiveFields => "read_sensitive_fields",
            Self::ReadExactMonitorPositions => "read_exact_monitor_positions",
            Self::ReadFindings => "read_findings",
            Self::ReadStatistics => "read_statistics",
            Self::ReadLog => "read_log",
            Self::Backup => "backup",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `role` may perform `action`: the table of the module documentation.
pub fn permits(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Admin => true,
        Role::Monitor => !matches!(
            action,
            SubmitAgreement | RegisterSource | RevokeSource | SubmitContest | Backup
        ),
        Role::Party => matches!(
            action,
            SubmitReport
                | SubmitContest
                | SubmitRetraction
                | ReadReports
                | ReadFindings
                | ReadStatistics
                | ReadLog
        ),
        Role::Analyst => matches!(
            action,
            ReadReports | ReadSourceIdentities | ReadFindings | ReadStatistics | ReadLog
        ),
        Role::Public => matches!(
            action,
            ReadReports | ReadFindings | ReadStatistics | ReadLog
        ),
    }
}

/// [`permits`] as a result.
///
/// # Errors
///
/// [`AuthError::Forbidden`] naming the role and the action when the table
/// says no.
pub fn require(role: Role, action: Action) -> Result<(), AuthError> {
    if permits(role, action) {
        Ok(())
    } else {
        Err(AuthError::Forbidden { role, action })
    }
}

/// Whether a reader may see the identity of a source that speaks for
/// `source_party` (`None` for a source of no party: a monitor, the media).
///
/// Roles the table allows [`Action::ReadSourceIdentities`] see every source; a
/// party's key sees the sources of its own party only; every other role none.
pub fn may_read_source_identity(
    role: Role,
    reader_party: Option<&str>,
    source_party: Option<&str>,
) -> bool {
    if permits(role, Action::ReadSourceIdentities) {
        return true;
    }
    role == Role::Party && reader_party.is_some() && reader_party == source_party
}

/// Whether the key `requester` may retract a report submitted by the key
/// `submitter`: its role must allow [`Action::SubmitRetraction`] and the
/// report must be its own, whatever the role.
pub fn may_retract(role: Role, requester: &KeyName, submitter: &KeyName) -> bool {
    permits(role, Action::SubmitRetraction) && requester == submitter
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The Markdown table of the module documentation, read back from this file.
    fn documented_table() -> Vec<(String, Vec<bool>)> {
        include_str!("role.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("//! | `"))
            .map(|row| {
                let cells: Vec<&str> = row.split('|').map(str::trim).collect();
                let action = cells[0].trim_end_matches('`').to_owned();
                let allowed = cells[1..=5]
                    .iter()
                    .map(|cell| match *cell {
                        "yes" => true,
                        "no" => false,
                        other => panic!("cell {other:?} in row {action}"),
                    })
                    .collect();
                (action, allowed)
            })
            .collect()
    }

    #[test]
    fn the_documented_table_is_the_code() {
        let table = documented_table();
        assert_eq!(table.len(), Action::ALL.len());
        for ((name, allowed), action) in table.iter().zip(Action::ALL) {
            assert_eq!(name, action.as_str());
            for (role, expected) in Role::ALL.into_iter().zip(allowed) {
                assert_eq!(permits(role, action), *expected, "{role} {action}");
            }
        }
    }

    #[test]
    fn sensitive_reads_are_for_the_mission_only() {
        for action in [
            Action::ReadSensitiveFields,
            Action::ReadExactMonitorPositions,
        ] {
            let allowed: Vec<Role> = Role::ALL
                .into_iter()
                .filter(|role| permits(*role, action))
                .collect();
            assert_eq!(allowed, [Role::Admin, Role::Monitor], "{action}");
        }
        for action in Action::ALL {
            assert!(permits(Role::Admin, action), "{action}");
            if action.as_str().starts_with("submit_") || action == Action::Backup {
                assert!(!permits(Role::Analyst, action), "{action}");
                assert!(!permits(Role::Public, action), "{action}");
            }
        }
    }

    #[test]
    fn require_names_role_and_action() {
        assert_eq!(require(Role::Monitor, Action::SubmitReview), Ok(()));
        let error = require(Role::Party, Action::SubmitCoverage).unwrap_err();
        assert_eq!(
            error,
            AuthError::Forbidden {
                role: Role::Party,
                action: Action::SubmitCoverage
            }
        );
        assert_eq!(error.status(), 403);
        assert_eq!(error.problem_type(), "forbidden");
        assert_eq!(error.field(), None);
        assert_eq!(
            error.to_string(),
            "role party may not perform submit_coverage"
        );
    }

    #[test]
    fn parties_see_only_their_own_sources() {
        assert!(may_read_source_identity(
            Role::Party,
            Some("ua"),
            Some("ua")
        ));
        assert!(!may_read_source_identity(
            Role::Party,
            Some("ua"),
            Some("ru")
        ));
        assert!(!may_read_source_identity(Role::Party, Some("ua"), None));
        assert!(!may_read_source_identity(Role::Party, None, None));
        assert!(may_read_source_identity(Role::Analyst, None, Some("ru")));
        assert!(!may_read_source_identity(
            Role::Public,
            Some("ua"),
            Some("ua")
        ));
    }

    #[test]
    fn retraction_needs_the_same_key() {
        let own = KeyName::new("monitor-1").unwrap();
        let other = KeyName::new("monitor-2").unwrap();
        assert!(may_retract(Role::Monitor, &own, &own));
        assert!(!may_retract(Role::Monitor, &own, &other));
        assert!(!may_retract(Role::Admin, &own, &other));
        assert!(!may_retract(Role::Analyst, &own, &own));
    }

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>().unwrap(), role);
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{role}\""));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        for action in Action::ALL {
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{action}\""));
        }
        assert_eq!(
            "Admin".parse::<Role>(),
            Err(UnknownRole {
                text: "Admin".into()
            })
        );
        assert!(serde_json::from_str::<Role>("\"Admin\"").is_err());
    }
}
