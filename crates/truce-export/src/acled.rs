//! The ACLED-compatible export: ACLED's 31 columns, in the order of its exports since the
//! March 2023 revision, with its event types and precision codes.
//!
//! The mapping is the inverse of truce's ACLED reader (`truce_model::ingest`, documented in
//! `docs/report-format.md`): an exported report read back by that reader has the same action
//! (except `naval_attack`), a time span and uncertainty radius containing the original ones,
//! the same target and the accused among its actors. The tests read exports back to hold the
//! two tables together.

use std::io::Write;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use truce_engine::adjudicate::NoViolationReason;
use truce_model::{
    ActionType, Casualties, EnergyKind, Location, Report, Target, TargetKind, TimeSpan,
};

use crate::rows::{Line, RowContext, Subject, country, incident_places, incident_sources, walk};
use crate::time::{add_days, days_between, local_date, round6};
use crate::{Assessed, ExportError, ExportOptions};

/// ACLED's columns, in order (those truce's ACLED reader reads).
pub const ACLED_COLUMNS: [&str; 31] = truce_model::ingest::ACLED_COLUMNS;

/// The radius, in metres, truce's ACLED reader gives each `geo_precision` code; a code is
/// written when the radius it is read as holds the uncertainty.
const GEO_PRECISION_RADIUS_M: [(u8, f64); 3] = truce_model::ingest::ACLED_GEO_PRECISION_M;

/// Days either side of `event_date` truce's ACLED reader reads for `time_precision` 2.
const TIME_PRECISION_2_DAYS: i64 = truce_model::ingest::ACLED_TIME_PRECISION_2_DAYS as i64;

/// ACLED's classification of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AcledEvent {
    pub(crate) disorder_type: &'static str,
    pub(crate) event_type: &'static str,
    pub(crate) sub_event_type: &'static str,
}

const POLITICAL_VIOLENCE: &str = "Political violence";
const REMOTE_VIOLENCE: &str = "Explosions/Remote violence";
const STRATEGIC: &str = "Strategic developments";

/// The event type and sub-event type the reader maps back to `action`.
pub(crate) fn acled_event(action: ActionType) -> AcledEvent {
    let violence = |event_type, sub_event_type| AcledEvent {
        disorder_type: POLITICAL_VIOLENCE,
        event_type,
        sub_event_type,
    };
    match action {
        // ACLED has no naval type: a strike from or on a vessel is remote violence; the
        // reader reads it back as artillery.
        ActionType::Artillery
        | ActionType::Mortar
        | ActionType::Mlrs
        | ActionType::MissileStrike
        | ActionType::NavalAttack => violence(REMOTE_VIOLENCE, "Shelling/artillery/missile attack"),
        ActionType::DroneStrike | ActionType::AirStrike => {
            violence(REMOTE_VIOLENCE, "Air/drone strike")
        }
        ActionType::MineIed => violence(REMOTE_VIOLENCE, "Remote explosive/landmine/IED"),
        ActionType::Other => violence(REMOTE_VIOLENCE, "Grenade"),
        ActionType::GroundAssault => violence("Battles", "Armed clash"),
        ActionType::SmallArms => violence("Violence against civilians", "Attack"),
        ActionType::AirDefenceIntercept => AcledEvent {
            disorder_type: STRATEGIC,
            event_type: STRATEGIC,
            sub_event_type: "Disrupted weapons use",
        },
    }
}

/// Words for an action in the notes. The reader refines the broad sub-event types from the
/// notes (missile, MLRS and mortar words within shelling; drone words within air strikes),
/// so each phrase names its weapon and no other.
fn action_phrase(action: ActionType) -> &'static str {
    match action {
        ActionType::Artillery => "artillery fire",
        ActionType::Mortar => "mortar fire",
        ActionType::Mlrs => "multiple rocket launcher fire",
        ActionType::MissileStrike => "a missile strike",
        ActionType::DroneStrike => "a drone strike",
        ActionType::AirStrike => "an air strike",
        ActionType::GroundAssault => "a ground assault",
        ActionType::SmallArms => "small arms fire",
        ActionType::MineIed => "a mine or IED explosion",
        ActionType::NavalAttack => "a naval attack",
        ActionType::AirDefenceIntercept => "an air defence interception",
        ActionType::Other => "a violent act of another kind",
    }
}

/// Words for a target in the notes, chosen so that the reader's keyword groups (tried from
/// the most specific) find this target and no earlier one; `None` for an unknown target.
fn target_phrase(target: Target) -> Option<&'static str> {
    if let Some(energy) = target.energy {
        return Some(match energy {
            EnergyKind::NuclearPowerPlant => "a nuclear power plant",
            EnergyKind::HydroelectricDam => "a hydroelectric dam",
            EnergyKind::OilRefinery => "an oil refinery",
            EnergyKind::PowerGeneration => "a power plant",
            EnergyKind::PowerTransmission => "an electrical substation",
            EnergyKind::OilGasPipelineStorage => "a fuel storage site",
        });
    }
    match target.kind {
        TargetKind::Energy => Some("energy infrastructure"),
        TargetKind::Maritime => Some("a port"),
        TargetKind::CivilianResidential => Some("residential buildings"),
        TargetKind::CivilianInfrastructure => Some("water supply facilities"),
        TargetKind::Medical => Some("a hospital"),
        TargetKind::Education => Some("a school"),
        TargetKind::Transport => Some("a railway"),
        TargetKind::Military => Some("military positions"),
        TargetKind::Unknown => None,
    }
}

/// `event_date` and `time_precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventDate {
    pub(crate) date: Date,
    pub(crate) precision: u8,
}

/// The date and the smallest precision code whose reading (the day; the date ± 3 days; the
/// whole month) contains the span's local days. A span longer than a week that crosses a
/// month boundary has no such code: it gets code 3 in the month of its middle (lossy).
pub(crate) fn event_date(span: TimeSpan, zone: &TimeZone) -> Result<EventDate, String> {
    let first = local_date(span.start_ms, zone)?;
    let last = local_date(span.end_ms, zone)?;
    let days = days_between(first, last)?;
    if days <= 0 {
        return Ok(EventDate {
            date: first,
            precision: 1,
        });
    }
    if days <= 2 * TIME_PRECISION_2_DAYS {
        return Ok(EventDate {
            date: add_days(first, days / 2)?,
            precision: 2,
        });
    }
    let month = if (first.year(), first.month()) == (last.year(), last.month()) {
        first
    } else {
        local_date(span.midpoint_ms(), zone)?
    };
    let middle = Date::new(month.year(), month.month(), 15).map_err(|e| e.to_string())?;
    Ok(EventDate {
        date: middle,
        precision: 3,
    })
}

/// The smallest `geo_precision` code whose radius holds `uncertainty_m`; 3 beyond 50 km
/// (lossy).
pub(crate) fn geo_precision(uncertainty_m: f64) -> u8 {
    GEO_PRECISION_RADIUS_M
        .iter()
        .find(|(_, radius_m)| uncertainty_m <= *radius_m)
        .map_or(3, |(code, _)| *code)
}

/// The notes: when, what, and against what, in words the reader classifies back.
fn notes(when: EventDate, action: ActionType, target: Target) -> String {
    let when = match when.precision {
        1 => format!("On {}", when.date.strftime("%-d %B %Y")),
        2 => format!("Around {}", when.date.strftime("%-d %B %Y")),
        _ => format!("In {}", when.date.strftime("%B %Y")),
    };
    let action = action_phrase(action);
    match target_phrase(target) {
        Some(target) => format!("{when}, {action} (target: {target})."),
        None => format!("{when}, {action}."),
    }
}

/// The fields of one ACLED row before formatting.
struct Event<'a> {
    subject: &'static str,
    id: &'a str,
    time: TimeSpan,
    location: Location,
    action: ActionType,
    target: Target,
    actors: Vec<&'a str>,
    place: Option<String>,
    sources: Vec<String>,
    casualties: Casualties,
    tags: Vec<String>,
}

/// Names in order, each once.
fn distinct<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        if !name.is_empty() && !seen.contains(&name) {
            seen.push(name);
        }
    }
    seen
}

fn verdict_tags(
    verdict: &str,
    reason: Option<NoViolationReason>,
    interpretation: Option<&str>,
    tags: &mut Vec<String>,
) {
    tags.push(format!("verdict={verdict}"));
    if let Some(reason) = reason {
        tags.push(format!("reason={}", reason.as_str()));
    }
    if let Some(interpretation) = interpretation {
        tags.push(format!("interpretation={interpretation}"));
    }
}

fn event<'a>(context: &RowContext<'_, 'a>, line: &Line<'a>) -> Event<'a> {
    let interpretation = context.several_readings.then_some(line.interpretation);
    let mut tags = Vec::new();
    match line.subject {
        Subject::Incident { incident, finding } => {
            let attributions = incident.attributions(context.reports);
            // The finding's parties first, then whoever the reports name.
            let actors = distinct(finding.parties.iter().map(|party| party.as_str()).chain(
                attributions.iter().flat_map(|report| {
                    report
                        .accused
                        .iter()
                        .chain(report.actors())
                        .map(|name| name.as_str())
                }),
            ));
            verdict_tags(
                finding.verdict.as_str(),
                finding.reason,
                interpretation,
                &mut tags,
            );
            Event {
                subject: "incident",
                id: &incident.id,
                time: incident.time,
                location: incident.location,
                action: incident.action,
                target: finding.target,
                actors,
                place: incident_places(&attributions).into_iter().next(),
                sources: incident_sources(&attributions),
                casualties: incident.casualties,
                tags,
            }
        }
        Subject::Report { report, incident } => {
            if let Some((incident, judgement)) = incident {
                tags.push(format!("incident={}", incident.id));
                verdict_tags(
                    judgement.verdict.as_str(),
                    judgement.reason,
                    interpretation,
                    &mut tags,
                );
            } else if let Some(interpretation) = interpretation {
                tags.push(format!("interpretation={interpretation}"));
            }
            report_event(report, tags)
        }
    }
}

fn report_event(report: &Report, tags: Vec<String>) -> Event<'_> {
    Event {
        subject: "report",
        id: &report.id,
        time: report.time,
        location: report.location,
        action: report.action,
        target: report.target,
        actors: distinct(
            report
                .accused
                .iter()
                .chain(report.actors())
                .map(|name| name.as_str()),
        ),
        place: report.place().map(str::to_string),
        sources: vec![report.source.id.to_string()],
        casualties: report.casualties,
        tags,
    }
}

/// The 31 fields of an event's row.
fn record(
    context: &RowContext<'_, '_>,
    event: &Event<'_>,
    zone: &TimeZone,
) -> Result<[String; 31], ExportError> {
    let when = event_date(event.time, zone).map_err(|reason| ExportError::Time {
        subject: event.subject,
        id: event.id.to_string(),
        reason,
    })?;
    let acled = acled_event(event.action);
    let casualties = event.casualties;
    let fatalities = u64::from(casualties.civilian_killed)
        + u64::from(casualties.military_killed)
        + u64::from(casualties.unspecified_killed);
    let only_civilians_killed = casualties.civilian_killed > 0
        && casualties.military_killed == 0
        && casualties.unspecified_killed == 0;
    // The reader takes the flag with no target keyword as civilian homes: it is set only
    // when the notes name the target.
    let civilian_targeting = event.target.kind != TargetKind::Unknown
        && (event.target.kind == TargetKind::CivilianResidential || only_civilians_killed);
    let region = context.region(event.location);
    let country = region
        .as_ref()
        .and_then(|region| country(region.country_code()));
    let actor = |index: usize| event.actors.get(index).copied().unwrap_or("").to_string();
    Ok([
        event.id.to_string(),
        when.date.to_string(),
        when.date.year().to_string(),
        when.precision.to_string(),
        acled.disorder_type.to_string(),
        acled.event_type.to_string(),
        acled.sub_event_type.to_string(),
        actor(0),
        String::new(),
        String::new(),
        actor(1),
        String::new(),
        String::new(),
        String::new(),
        if civilian_targeting {
            "Civilian targeting".to_string()
        } else {
            String::new()
        },
        country.map_or(String::new(), |country| country.numeric.to_string()),
        country.map_or(String::new(), |country| country.acled_region.to_string()),
        country.map_or(String::new(), |country| country.name.to_string()),
        region.map_or(String::new(), |region| region.name),
        String::new(),
        String::new(),
        event.place.clone().unwrap_or_default(),
        round6(event.location.lat).to_string(),
        round6(event.location.lon).to_string(),
        geo_precision(event.location.uncertainty_m).to_string(),
        event.sources.join("; "),
        String::new(),
        notes(when, event.action, event.target),
        fatalities.to_string(),
        event.tags.join("; "),
        event.time.end_ms.div_euclid(1000).to_string(),
    ])
}

/// Writes the header and one row per incident (or report) and reading.
pub(crate) fn write(
    assessed: &Assessed<'_, '_>,
    options: &ExportOptions<'_>,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    let context = RowContext::new(assessed, options);
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(ACLED_COLUMNS)?;
    walk(assessed, options.rows_of, &mut |line| {
        let event = event(&context, line);
        writer.write_record(record(&context, &event, &options.local_zone)?)?;
        Ok(())
    })?;
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a panic in a test is a test failure
    use super::*;

    fn kyiv() -> TimeZone {
        TimeZone::get("Europe/Kyiv").unwrap()
    }

    fn ms(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn precision_codes_hold_the_uncertainty() {
        assert_eq!(geo_precision(0.0), 1);
        assert_eq!(geo_precision(2_000.0), 1);
        assert_eq!(geo_precision(2_000.5), 2);
        assert_eq!(geo_precision(10_000.0), 2);
        assert_eq!(geo_precision(50_000.0), 3);
        assert_eq!(geo_precision(80_000.0), 3);
    }

    #[test]
    fn event_dates_hold_the_span() {
        let span = |start: &str, end: &str| TimeSpan {
            start_ms: ms(start),
            end_ms: ms(end),
        };
        // Late on 18 March UTC is 19 March in Kyiv.
        assert_eq!(
            event_date(
                span("2025-03-18T23:40:00Z", "2025-03-18T23:40:00Z"),
                &kyiv()
            )
            .unwrap(),
            EventDate {
                date: date("2025-03-19"),
                precision: 1
            }
        );
        // 16 to 22 March (6 days on): the middle day, code 2.
        assert_eq!(
            event_date(
                span("2025-03-16T10:00:00Z", "2025-03-22T10:00:00Z"),
                &kyiv()
            )
            .unwrap(),
            EventDate {
                date: date("2025-03-19"),
                precision: 2
            }
        );
        // 16 to 23 March: within March, code 3 on the 15th.
        assert_eq!(
            event_date(
                span("2025-03-16T10:00:00Z", "2025-03-23T10:00:00Z"),
                &kyiv()
            )
            .unwrap(),
            EventDate {
                date: date("2025-03-15"),
                precision: 3
            }
        );
        // 25 March to 10 April: no code holds it; the month of its middle (2 April).
        assert_eq!(
            event_date(
                span("2025-03-25T10:00:00Z", "2025-04-10T10:00:00Z"),
                &kyiv()
            )
            .unwrap(),
            EventDate {
                date: date("2025-04-15"),
                precision: 3
            }
        );
    }

    #[test]
    fn notes_say_when_what_and_against_what() {
        let when = EventDate {
            date: date("2025-03-19"),
            precision: 1,
        };
        assert_eq!(
            notes(
                when,
                ActionType::DroneStrike,
                Target::energy(EnergyKind::PowerGeneration)
            ),
            "On 19 March 2025, a drone strike (target: a power plant)."
        );
        let month = EventDate {
            date: date("2025-03-15"),
            precision: 3,
        };
        assert_eq!(
            notes(month, ActionType::Mlrs, Target::of(TargetKind::Unknown)),
            "In March 2025, multiple rocket launcher fire."
        );
    }
}
