//! The reasons of a finding, kept as data and turned into words only when an output prints
//! them: an assessment of a million incidents formats nothing it does not show.

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;
use truce_model::{ActionType, Location, SmolStr, Target, TimeSpan};

/// Where an act's time lies against a party's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowPosition {
    /// Wholly inside.
    Inside,
    /// Wholly outside.
    Outside,
    /// Partly inside.
    Straddles,
}

/// One step of a finding's chain of reasons.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// A report names a protected site of the registry.
    SiteNamed {
        site: SmolStr,
        name: SmolStr,
        target: Target,
    },
    /// The location lies within a protected site's footprint.
    AtSite {
        site: SmolStr,
        name: SmolStr,
        target: Target,
    },
    /// No site applies: the category the reports give.
    TargetFromReports { target: Target },
    /// How many independent voices report the act, and whether that establishes it.
    Voices {
        voices: usize,
        monitor: bool,
        established: bool,
        min_sources: u32,
        monitor_alone: bool,
    },
    /// Only actors the agreement does not cover are named.
    ActorsExcluded { actors: Vec<SmolStr> },
    /// The reasons that follow judge the act as one of this party's.
    AsActOf { party: SmolStr },
    /// A condition precedent is unmet.
    ConditionUnmet { condition: SmolStr },
    /// The party had been released by reciprocity before the act.
    Released {
        party: SmolStr,
        by: SmolStr,
        span: TimeSpan,
    },
    /// The party's window against the act's time.
    Window {
        party: SmolStr,
        start_ms: i64,
        end_ms: Option<i64>,
        span: TimeSpan,
        position: WindowPosition,
    },
    /// No rule binds the party.
    NoRuleBinds { party: SmolStr },
    /// No rule prohibits the action.
    NoRuleProhibits { action: ActionType },
    /// No rule covering the action protects the target.
    TargetNotProtected { action: ActionType, target: Target },
    /// The zones the act is in, and how many others named by the rules it is outside.
    Zones {
        place: Location,
        inside: Vec<SmolStr>,
        outside: usize,
    },
    /// The act's uncertainty disk straddles a zone's boundary.
    ZoneStraddled {
        place: Location,
        zone: SmolStr,
        distance_m: f64,
    },
    /// A rule applies (or may).
    RuleApplies {
        rule: SmolStr,
        text: SmolStr,
        certain: bool,
    },
    /// Every matching rule is limited to zones the act is outside.
    OutsideAllZones,
    /// An exception applies (or may).
    ExceptionApplies {
        exception: SmolStr,
        text: SmolStr,
        certain: bool,
    },
    /// Nobody names a perpetrator.
    NobodyNamed,
    /// Established, with reports naming different authors.
    Disputed { parties: Vec<SmolStr> },
    /// Not established, with reports naming different authors.
    ConflictingAllegations { parties: Vec<SmolStr> },
    /// Established and attributed.
    Violation {
        party: SmolStr,
        voices: usize,
        independent: bool,
    },
    /// Established, attributed only by the adversary.
    AdversaryOnly { party: SmolStr },
    /// Not established.
    NotEstablished { party: SmolStr },
    /// A monitor's review decided part of this finding (see [`crate::review`]).
    Reviewed {
        review: SmolStr,
        reviewer: SmolStr,
        note: ReviewNote,
    },
}

/// What a review did to a finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReviewNote {
    /// It confirmed a member report: the act is established.
    Confirmed,
    /// It attributed a member report to a party (or to nobody known).
    Reattributed {
        report: SmolStr,
        party: Option<SmolStr>,
    },
    /// It merged the incident's reports into one incident.
    Merged,
    /// It split a report off into an incident of its own.
    Split,
}

fn time(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// An instant or an interval, as readers see it.
pub fn span_text(span: TimeSpan) -> String {
    if span.start_ms == span.end_ms {
        time(span.start_ms)
    } else {
        format!("between {} and {}", time(span.start_ms), time(span.end_ms))
    }
}

/// A location with its uncertainty, as readers see it.
pub fn place_text(place: Location) -> String {
    format!(
        "({:.4}, {:.4}) ± {:.0} m",
        place.lon, place.lat, place.uncertainty_m
    )
}

fn or_no_text(text: &str) -> &str {
    if text.is_empty() { "no text" } else { text }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::SiteNamed { site, name, target } => {
                write!(
                    f,
                    "reports name protected site `{site}` ({name}), category {target}"
                )
            }
            Reason::AtSite { site, name, target } => {
                write!(
                    f,
                    "location is at protected site `{site}` ({name}), category {target}"
                )
            }
            Reason::TargetFromReports { target } => {
                write!(f, "target category from the reports: {target}")
            }
            Reason::Voices {
                voices,
                monitor,
                established,
                min_sources,
                monitor_alone,
            } => write!(
                f,
                "{voices} independent voice(s) report it{}; the act is {}established (policy: {min_sources} voices{})",
                if *monitor {
                    ", including a monitor"
                } else {
                    ""
                },
                if *established { "" } else { "not " },
                if *monitor_alone {
                    ", or one monitor"
                } else {
                    ""
                },
            ),
            Reason::ActorsExcluded { actors } => write!(
                f,
                "the reports name {} which the agreement does not cover",
                actors
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Reason::AsActOf { party } => write!(f, "as an act of {party}:"),
            Reason::ConditionUnmet { condition } => write!(
                f,
                "condition precedent `{condition}` is not met: the agreement is not in force"
            ),
            Reason::Released { party, by, span } => write!(
                f,
                "{party} was released by reciprocity after {by}; the act ({}) came later",
                span_text(*span)
            ),
            Reason::Window {
                party,
                start_ms,
                end_ms,
                span,
                position,
            } => {
                write!(f, "{party} is bound from {}", time(*start_ms))?;
                if let Some(end) = end_ms {
                    write!(f, " until {}", time(*end))?;
                }
                let what = match position {
                    WindowPosition::Inside => "is inside",
                    WindowPosition::Outside => "is outside that window",
                    WindowPosition::Straddles => "straddles the window's edge",
                };
                write!(f, "; the act ({}) {what}", span_text(*span))
            }
            Reason::NoRuleBinds { party } => write!(f, "no rule binds {party}"),
            Reason::NoRuleProhibits { action } => write!(f, "no rule prohibits {action}"),
            Reason::TargetNotProtected { action, target } => {
                write!(f, "no rule that covers {action} protects {target} targets")
            }
            Reason::Zones {
                place,
                inside,
                outside,
            } => {
                write!(f, "{}", place_text(*place))?;
                if !inside.is_empty() {
                    let zones: Vec<String> = inside.iter().map(|z| format!("`{z}`")).collect();
                    write!(f, " is inside zone {}", zones.join(", "))?;
                }
                if *outside > 0 {
                    let joint = if inside.is_empty() {
                        " is outside"
                    } else {
                        " and outside"
                    };
                    write!(f, "{joint} {outside} other zone(s) the rules name")?;
                }
                Ok(())
            }
            Reason::ZoneStraddled {
                place,
                zone,
                distance_m,
            } => write!(
                f,
                "{} straddles the boundary of zone `{zone}` ({distance_m:.0} m away)",
                place_text(*place)
            ),
            Reason::RuleApplies {
                rule,
                text,
                certain,
            } => write!(
                f,
                "rule {rule} ({}) {} apply",
                or_no_text(text),
                if *certain { "does" } else { "may" }
            ),
            Reason::OutsideAllZones => {
                write!(
                    f,
                    "the act is outside every zone where a matching rule applies"
                )
            }
            Reason::ExceptionApplies {
                exception,
                text,
                certain,
            } => write!(
                f,
                "exception {exception} ({}) {} apply",
                or_no_text(text),
                if *certain { "does" } else { "may" }
            ),
            Reason::NobodyNamed => write!(f, "nobody names a perpetrator: undetermined"),
            Reason::Reviewed {
                review,
                reviewer,
                note,
            } => {
                // An empty reviewer is one withheld from the reader.
                let by = if reviewer.is_empty() {
                    "a monitor".to_owned()
                } else {
                    format!("`{reviewer}`")
                };
                match note {
                    ReviewNote::Confirmed => write!(
                        f,
                        "review `{review}` by {by} confirms the event: the act is established"
                    ),
                    ReviewNote::Reattributed { report, party } => match party {
                        Some(party) => write!(
                            f,
                            "review `{review}` by {by} attributes report `{report}` to {party}"
                        ),
                        None => write!(
                            f,
                            "review `{review}` by {by} attributes report `{report}` to nobody known"
                        ),
                    },
                    ReviewNote::Merged => write!(
                        f,
                        "review `{review}` by {by} grouped these reports into one incident"
                    ),
                    ReviewNote::Split => write!(
                        f,
                        "review `{review}` by {by} made this report an incident of its own"
                    ),
                }
            }
            Reason::Disputed { parties } => write!(
                f,
                "the act is established, but the reports name different authors ({}): disputed",
                parties.join(", ")
            ),
            Reason::ConflictingAllegations { parties } => write!(
                f,
                "conflicting allegations against {}, the act is not established: alleged",
                parties.join(", ")
            ),
            Reason::Violation {
                party,
                voices,
                independent,
            } => {
                write!(
                    f,
                    "the act is established and attributed to {party} by {voices} voice(s)"
                )?;
                if *independent {
                    write!(f, ", at least one of them not {party}'s adversary")?;
                }
                write!(f, ": violation by {party}")
            }
            Reason::AdversaryOnly { party } => write!(
                f,
                "the act is established but only {party}'s adversary attributes it to {party}: alleged"
            ),
            Reason::NotEstablished { party } => write!(
                f,
                "the act is not established under the corroboration policy: alleged against {party}"
            ),
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
