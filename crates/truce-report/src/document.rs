//! The report as a document: headings, paragraphs, lists, tables and figures, built once
//! from the figures and printed by the HTML and Markdown renderers, so the two always say
//! the same thing.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::error::ReportError;
use crate::figures::{
    AreaCoverage, ComplianceReport, Exposure, InForceNote, LogInputs, ReadingFigures, TollRow,
    Trend, TruceTestRow, VerdictCounts,
};
use crate::geography::geography;
use crate::map::render_map;
use crate::period::local_time;
use crate::svg::{daily_chart, forest_plot, harm_bars, verdict_bars};
use crate::words::{
    missing_meaning, outcome_cells, outcome_sentence, percent_text, target_phrase, thousands,
};

/// A run of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inline {
    /// Plain.
    Text(String),
    /// Emphasised.
    Strong(String),
    /// An identifier or a digest.
    Code(String),
}

/// A list item: a line and the lines under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    /// The line.
    pub(crate) text: Vec<Inline>,
    /// The lines under it.
    pub(crate) details: Vec<String>,
}

/// How a table column is aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    /// Text, to the left.
    Left,
    /// Numbers, to the right.
    Right,
}

/// One block of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    /// A heading; level 2 headings carry an anchor.
    Heading {
        /// 1 to 4.
        level: u8,
        /// The anchor, for the contents.
        anchor: Option<&'static str>,
        /// The text.
        text: String,
    },
    /// A paragraph.
    Paragraph(Vec<Inline>),
    /// A caveat the reader must not miss.
    Caveat(String),
    /// A list.
    List(Vec<Item>),
    /// A table.
    Table {
        /// Column titles and alignment.
        head: Vec<(String, Align)>,
        /// Rows of cells.
        rows: Vec<Vec<String>>,
    },
    /// Text printed as is, in a fixed-width font (a signed checkpoint).
    Code(String),
    /// A drawing (HTML only); the caption is printed in both.
    Figure {
        /// Inline SVG.
        svg: String,
        /// What it shows.
        caption: String,
    },
}

/// The sections with their anchors, for the contents.
pub(crate) const SECTIONS: [(&str, &str); 10] = [
    ("summary", "Summary"),
    ("headline", "1. Findings per party"),
    ("truce-test", "2. The truce test"),
    ("trends", "3. Trends"),
    ("toll", "4. Humanitarian toll"),
    ("map", "5. Map"),
    ("coverage", "6. Coverage and access"),
    ("readings", "7. Competing readings"),
    ("violations", "8. Violations"),
    ("inputs", "9. Inputs and method"),
];

fn text(s: impl Into<String>) -> Inline {
    Inline::Text(s.into())
}

fn section(blocks: &mut Vec<Block>, at: usize) {
    let (anchor, title) = SECTIONS[at];
    blocks.push(Block::Heading {
        level: 2,
        anchor: Some(anchor),
        text: title.to_owned(),
    });
}

/// Sub-headings per reading when there are several.
fn reading_heading(blocks: &mut Vec<Block>, report: &ComplianceReport, reading: &ReadingFigures) {
    if report.readings.len() > 1 {
        blocks.push(Block::Heading {
            level: 3,
            anchor: None,
            text: format!("Reading: {}", reading.agreement.label()),
        });
    }
}

/// A sentence from a phrase: capital first letter, full stop.
pub(crate) fn sentence(phrase: &str) -> String {
    let mut chars = phrase.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

fn local(instant: Timestamp, zone: &TimeZone) -> String {
    local_time(instant, zone)
}

/// The document of a report. Figures (SVG) are drawn only when `with_figures` is set.
pub(crate) fn build(
    report: &ComplianceReport,
    with_figures: bool,
) -> Result<Vec<Block>, ReportError> {
    let zone = &report.period.zone;
    let mut blocks = Vec::new();
    let primary = report.readings.first();
    blocks.push(Block::Heading {
        level: 1,
        anchor: None,
        text: match primary {
            Some(reading) => format!("Compliance report: {}", reading.agreement.title),
            None => "Compliance report".to_owned(),
        },
    });
    let period = &report.period;
    blocks.push(Block::Paragraph(vec![
        text(format!(
            "From {} to {} ({} calendar days in {}), with a baseline of {} days before the \
             agreement. ",
            local(period.start, zone),
            local(period.end, zone),
            period.days.len(),
            period.time_zone,
            period.baseline_days
        )),
        text(format!(
            "{} incidents of the period, from {} reports ({} incidents in all).",
            thousands(period.incidents),
            thousands(period.reports_total),
            thousands(period.incidents_total)
        )),
    ]));

    summary(&mut blocks, report);
    headline_section(&mut blocks, report, with_figures);
    truce_test_section(&mut blocks, report, with_figures);
    trends_section(&mut blocks, report, with_figures, zone);
    toll_section(&mut blocks, report, with_figures, zone);
    map_section(&mut blocks, report, with_figures)?;
    coverage_section(&mut blocks, report, zone);
    readings_section(&mut blocks, report);
    violations_section(&mut blocks, report, zone);
    inputs_section(&mut blocks, report, zone);
    Ok(blocks)
}

fn summary(blocks: &mut Vec<Block>, report: &ComplianceReport) {
    section(blocks, 0);
    let Some(primary) = report.readings.first() else {
        return;
    };
    let mut items = Vec::new();
    match &primary.agreement.in_force {
        InForceNote::Never { condition } => items.push(Item {
            text: vec![text(format!(
                "Under the reading `{}` the agreement never took effect: condition `{condition}` \
                 is not met.",
                primary.agreement.interpretation
            ))],
            details: Vec::new(),
        }),
        InForceNote::Between { .. } => {
            for row in primary
                .truce_test
                .rows
                .iter()
                .filter(|row| row.category.is_none())
            {
                items.push(Item {
                    text: vec![text(sentence(outcome_sentence(&row.outcome)))],
                    details: Vec::new(),
                });
            }
        }
    }
    let counts: Vec<String> = primary
        .headline
        .parties
        .iter()
        .filter(|p| p.party != truce_engine::assess::UNATTRIBUTED)
        .map(|p| {
            format!(
                "{} {} established, {} alleged, {} disputed",
                p.party,
                thousands(p.counts.violation),
                thousands(p.counts.alleged),
                thousands(p.counts.disputed)
            )
        })
        .collect();
    if !counts.is_empty() {
        items.push(Item {
            text: vec![
                Inline::Strong("Violations: ".to_owned()),
                text(format!("{}.", counts.join("; "))),
            ],
            details: Vec::new(),
        });
    }
    let share = &primary.headline.undetermined;
    let main_gap = share
        .missing
        .iter()
        .max_by_key(|m| m.incidents)
        .map(|m| format!(" (most often: {})", missing_meaning(&m.aspect)))
        .unwrap_or_default();
    items.push(Item {
        text: vec![text(format!(
            "{} of the {} incidents in or near the agreement's time are undetermined{}.",
            percent_text(share.percent),
            thousands(share.considered),
            main_gap
        ))],
        details: Vec::new(),
    });
    blocks.push(Block::List(items));
}

fn headline_section(blocks: &mut Vec<Block>, report: &ComplianceReport, with_figures: bool) {
    section(blocks, 1);
    blocks.push(Block::Paragraph(vec![text(
        "Findings for the incidents of the period. A violation is established and attributed; \
         an alleged one is not (yet) established under the corroboration policy, or rests on \
         the adversary's word alone; a disputed one is established with its author contested \
         (it counts for every party named).",
    )]));
    for reading in &report.readings {
        reading_heading(blocks, report, reading);
        let headline = &reading.headline;
        let counts_row = |party: String, name: String, c: &VerdictCounts| {
            let outside = outside_time(c);
            vec![
                party,
                name,
                thousands(c.violation),
                thousands(c.alleged),
                thousands(c.disputed),
                thousands(c.undetermined),
                thousands(c.no_violation - outside),
                thousands(outside),
            ]
        };
        let mut rows: Vec<Vec<String>> = headline
            .parties
            .iter()
            .map(|p| counts_row(p.party.clone(), p.name.clone(), &p.counts))
            .collect();
        rows.push(counts_row(
            "all".to_owned(),
            "every incident once".to_owned(),
            &headline.total,
        ));
        blocks.push(Block::Table {
            head: vec![
                ("party".to_owned(), Align::Left),
                ("name".to_owned(), Align::Left),
                ("violations".to_owned(), Align::Right),
                ("alleged".to_owned(), Align::Right),
                ("disputed".to_owned(), Align::Right),
                ("undetermined".to_owned(), Align::Right),
                ("not violations".to_owned(), Align::Right),
                ("outside the agreement's time".to_owned(), Align::Right),
            ],
            rows,
        });
        if with_figures {
            blocks.push(Block::Figure {
                svg: verdict_bars(headline),
                caption: "Findings per party.".to_owned(),
            });
        }
        let rule_rows: Vec<Vec<String>> = headline
            .parties
            .iter()
            .flat_map(|p| {
                p.by_rule
                    .iter()
                    .filter(|r| r.violation + r.alleged + r.disputed > 0)
                    .map(|r| {
                        vec![
                            p.party.clone(),
                            r.rule.clone(),
                            r.text.clone(),
                            thousands(r.violation),
                            thousands(r.alleged),
                            thousands(r.disputed),
                        ]
                    })
            })
            .collect();
        if rule_rows.is_empty() {
            blocks.push(Block::Paragraph(vec![text(
                "No rule has a violation, alleged or disputed finding.",
            )]));
        } else {
            blocks.push(Block::Paragraph(vec![text(
                "By rule (a finding under two rules counts for each):",
            )]));
            blocks.push(Block::Table {
                head: vec![
                    ("party".to_owned(), Align::Left),
                    ("rule".to_owned(), Align::Left),
                    ("clause".to_owned(), Align::Left),
                    ("violations".to_owned(), Align::Right),
                    ("alleged".to_owned(), Align::Right),
                    ("disputed".to_owned(), Align::Right),
                ],
                rows: rule_rows,
            });
        }
        let share = &headline.undetermined;
        blocks.push(Block::Paragraph(vec![text(format!(
            "Undetermined: {} of {} incidents ({}) that fall, or may fall, in the time the \
             agreement binds. What is missing (an incident can miss several things):",
            thousands(share.undetermined),
            thousands(share.considered),
            percent_text(share.percent)
        ))]));
        if !share.missing.is_empty() {
            blocks.push(Block::Table {
                head: vec![
                    ("missing".to_owned(), Align::Left),
                    ("meaning".to_owned(), Align::Left),
                    ("incidents".to_owned(), Align::Right),
                ],
                rows: share
                    .missing
                    .iter()
                    .map(|m| {
                        vec![
                            m.aspect.clone(),
                            missing_meaning(&m.aspect).to_owned(),
                            thousands(m.incidents),
                        ]
                    })
                    .collect(),
            });
        }
        if !reading.releases.is_empty() {
            blocks.push(Block::List(
                reading
                    .releases
                    .iter()
                    .map(|r| Item {
                        text: vec![text(format!(
                            "{} released by reciprocity from {} after {}",
                            r.party,
                            local(r.from, &report.period.zone),
                            r.after
                        ))],
                        details: Vec::new(),
                    })
                    .collect(),
            ));
        }
    }
}

/// Findings that are not violations because the agreement did not bind then.
fn outside_time(counts: &VerdictCounts) -> u64 {
    ["outside_window", "not_in_force"]
        .iter()
        .filter_map(|reason| counts.no_violation_by_reason.get(*reason))
        .sum()
}

fn exposure_cell(exposure: &Exposure) -> String {
    let days = (exposure.days * 100.0).round() / 100.0;
    format!("{} in {days} d", thousands(exposure.events))
}

fn rate_cell(exposure: &Exposure) -> String {
    if exposure.days > 0.0 {
        let rate = exposure.events as f64 / exposure.days;
        format!("{}", (rate * 100.0).round() / 100.0)
    } else {
        "–".to_owned()
    }
}

fn test_table(rows: &[TruceTestRow]) -> Block {
    Block::Table {
        head: vec![
            ("who".to_owned(), Align::Left),
            ("target".to_owned(), Align::Left),
            ("before".to_owned(), Align::Right),
            ("per day".to_owned(), Align::Right),
            ("during".to_owned(), Align::Right),
            ("per day".to_owned(), Align::Right),
            ("rate ratio".to_owned(), Align::Right),
            ("95% CI".to_owned(), Align::Right),
            ("p".to_owned(), Align::Right),
        ],
        rows: rows
            .iter()
            .map(|row| {
                let [ratio, interval, p, _] = outcome_cells(&row.outcome);
                vec![
                    row.party
                        .clone()
                        .unwrap_or_else(|| "all parties".to_owned()),
                    row.category
                        .as_deref()
                        .map_or("all".to_owned(), target_phrase),
                    exposure_cell(&row.before),
                    rate_cell(&row.before),
                    exposure_cell(&row.during),
                    rate_cell(&row.during),
                    ratio,
                    interval,
                    p,
                ]
            })
            .collect(),
    }
}

fn truce_test_section(blocks: &mut Vec<Block>, report: &ComplianceReport, with_figures: bool) {
    section(blocks, 2);
    let Some(primary) = report.readings.first() else {
        return;
    };
    blocks.push(Block::Paragraph(vec![
        Inline::Strong("What is counted. ".to_owned()),
        text(primary.truce_test.measure.clone()),
    ]));
    blocks.push(Block::Paragraph(vec![
        Inline::Strong("Method. ".to_owned()),
        text(format!(
            "The rate during the agreement is compared with the rate in the {} days before \
             its start: the {}. A rate ratio below 1 is a fall. The interval is exact and \
             conservative (at least 95% coverage); a change whose interval includes no change \
             is marked not significant.",
            report.period.baseline_days, primary.truce_test.method
        )),
    ]));
    for reading in &report.readings {
        reading_heading(blocks, report, reading);
        let test = &reading.truce_test;
        if !test.rows.is_empty() {
            blocks.push(Block::List(
                test.rows
                    .iter()
                    .map(|row| Item {
                        text: vec![text(sentence(outcome_sentence(&row.outcome)))],
                        details: Vec::new(),
                    })
                    .collect(),
            ));
            blocks.push(test_table(&test.rows));
            if with_figures && let Some(svg) = forest_plot(&test.rows) {
                blocks.push(Block::Figure {
                    svg,
                    caption: "Rate ratios with their 95% intervals, on a logarithmic scale; \
                              hollow marks are not significant."
                        .to_owned(),
                });
            }
        }
        if !test.notes.is_empty() {
            blocks.push(Block::List(
                test.notes
                    .iter()
                    .map(|note| Item {
                        text: vec![text(note.clone())],
                        details: Vec::new(),
                    })
                    .collect(),
            ));
        }
    }
}

fn series_name(trend: &Trend) -> String {
    match &trend.party {
        Some(party) => format!("prohibited acts attributed to {party}"),
        None => "prohibited acts, all parties".to_owned(),
    }
}

fn trends_section(
    blocks: &mut Vec<Block>,
    report: &ComplianceReport,
    with_figures: bool,
    zone: &TimeZone,
) {
    section(blocks, 3);
    blocks.push(Block::Paragraph(vec![text(
        "Prohibited acts per calendar day (the first and last day may be partial), with the \
         mean of the last seven days. The week-on-week change compares the last seven days \
         with the seven before, by the same exact test. A rate shift is a day on which the \
         daily rate changes, found by optimal Poisson segmentation (stretches of at least 7 \
         days, a penalty of 2·ln(days) per shift).",
    )]));
    for reading in &report.readings {
        reading_heading(blocks, report, reading);
        let mut rows = Vec::new();
        for trend in &reading.trends {
            let total: u64 = trend.daily.iter().sum();
            let last_mean = trend
                .rolling_mean_7
                .last()
                .copied()
                .flatten()
                .map_or("–".to_owned(), |m| format!("{m}"));
            let week = trend.week_on_week.as_ref().map_or_else(
                || "fewer than 14 days".to_owned(),
                |w| {
                    format!(
                        "{} to {}: {} against {} the week before; {}",
                        w.current_from,
                        w.current_to,
                        thousands(w.current),
                        thousands(w.previous),
                        outcome_sentence(&w.outcome)
                    )
                },
            );
            let shifts = if trend.change_points.is_empty() {
                "none".to_owned()
            } else {
                trend
                    .change_points
                    .iter()
                    .map(|c| format!("{}: {} → {} a day", c.day, c.rate_before, c.rate_after))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            rows.push(vec![
                trend
                    .party
                    .clone()
                    .unwrap_or_else(|| "all parties".to_owned()),
                thousands(total),
                last_mean,
                week,
                shifts,
            ]);
            if with_figures {
                let title = format!("{} per day", series_name(trend));
                blocks.push(Block::Figure {
                    svg: daily_chart(trend, &report.period.days, zone, &title),
                    caption: sentence(&title),
                });
            }
        }
        blocks.push(Block::Table {
            head: vec![
                ("who".to_owned(), Align::Left),
                ("acts".to_owned(), Align::Right),
                ("last 7-day mean".to_owned(), Align::Right),
                ("week on week".to_owned(), Align::Left),
                ("rate shifts".to_owned(), Align::Left),
            ],
            rows,
        });
    }
}

fn harm_rows(rows: &[TollRow]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| {
            vec![
                row.name.clone(),
                thousands(row.before.killed),
                thousands(row.before.injured),
                thousands(row.before.incidents),
                thousands(row.during.killed),
                thousands(row.during.injured),
                thousands(row.during.incidents),
            ]
        })
        .collect()
}

fn harm_head(first: &str) -> Vec<(String, Align)> {
    vec![
        (first.to_owned(), Align::Left),
        ("killed before".to_owned(), Align::Right),
        ("injured before".to_owned(), Align::Right),
        ("incidents before".to_owned(), Align::Right),
        ("killed during".to_owned(), Align::Right),
        ("injured during".to_owned(), Align::Right),
        ("incidents during".to_owned(), Align::Right),
    ]
}

fn toll_section(
    blocks: &mut Vec<Block>,
    report: &ComplianceReport,
    with_figures: bool,
    zone: &TimeZone,
) {
    section(blocks, 4);
    let toll = &report.toll;
    blocks.push(Block::Paragraph(vec![text(format!(
        "Civilians killed and injured in the incidents of the period, before the agreement \
         ({} to {}) and under it ({} to {}), whoever is accused.",
        local(toll.before.0, zone),
        local(toll.before.1, zone),
        local(toll.during.0, zone),
        local(toll.during.1, zone)
    ))]));
    blocks.push(Block::Caveat(toll.caveat.clone()));
    if toll.by_region.is_empty() {
        blocks.push(Block::Paragraph(vec![text(
            "No report of the period gives a civilian casualty.",
        )]));
        return;
    }
    let mut rows = harm_rows(&toll.by_region);
    rows.extend(harm_rows(std::slice::from_ref(&toll.total)));
    blocks.push(Block::Table {
        head: harm_head("region"),
        rows,
    });
    if with_figures
        && let Some(svg) = harm_bars(&toll.by_region, "Civilians killed and injured by region")
    {
        blocks.push(Block::Figure {
            svg,
            caption: "Civilians killed and injured by region (the 15 most affected).".to_owned(),
        });
    }
    let mut rows = harm_rows(&toll.by_category);
    rows.extend(harm_rows(std::slice::from_ref(&toll.total)));
    blocks.push(Block::Table {
        head: harm_head("target"),
        rows,
    });
}

fn map_section(
    blocks: &mut Vec<Block>,
    report: &ComplianceReport,
    with_figures: bool,
) -> Result<(), ReportError> {
    section(blocks, 5);
    let label = report
        .readings
        .first()
        .map(|r| r.agreement.label())
        .unwrap_or_default();
    let caption = format!(
        "The {} incidents of the period at their estimated locations, coloured by their \
         verdict under {label}, with the agreement's zones and the approximate line of contact \
         (accurate to 10–20 km). Beyond {} incidents the map shows grid cells coloured by the \
         most serious verdict in each. Boundaries: Natural Earth. Places: GeoNames (CC BY 4.0). \
         Borders are the internationally recognised ones.",
        thousands(report.map.points.len() as u64),
        thousands(crate::map::MAX_DOTS as u64)
    );
    if with_figures {
        let title = format!("Map of the incidents and zones, {label}");
        blocks.push(Block::Figure {
            svg: render_map(&report.map, geography()?, &title),
            caption,
        });
    } else {
        blocks.push(Block::Paragraph(vec![text(format!(
            "The map is drawn in the HTML rendering of this report. {caption}"
        ))]));
    }
    Ok(())
}

fn readings_section(blocks: &mut Vec<Block>, report: &ComplianceReport) {
    section(blocks, 7);
    let Some(comparison) = &report.comparison else {
        blocks.push(Block::Paragraph(vec![text(
            "One reading was assessed. Several agreements (`--agreement` repeated) or every \
             party's reading (`--interpretation all`) are compared here side by side.",
        )]));
        return;
    };
    blocks.push(Block::Paragraph(vec![text(format!(
        "The same incidents under {} readings. {} incidents of the period are judged \
         differently by at least one of them.",
        comparison.readings.len(),
        thousands(comparison.differing_incidents)
    ))]));
    let mut head = vec![
        ("party".to_owned(), Align::Left),
        ("verdict".to_owned(), Align::Left),
    ];
    head.extend(
        comparison
            .readings
            .iter()
            .map(|label| (label.clone(), Align::Right)),
    );
    blocks.push(Block::Table {
        head,
        rows: comparison
            .rows
            .iter()
            .filter(|row| row.counts.iter().any(|&n| n > 0))
            .map(|row| {
                let mut cells = vec![row.party.clone(), row.verdict.replace('_', " ")];
                cells.extend(row.counts.iter().map(|&n| thousands(n)));
                cells
            })
            .collect(),
    });
    let mut head = vec![("who".to_owned(), Align::Left)];
    head.extend(
        comparison
            .readings
            .iter()
            .map(|label| (format!("truce test, {label}"), Align::Left)),
    );
    blocks.push(Block::Table {
        head,
        rows: comparison
            .tests
            .iter()
            .map(|test| {
                let mut cells = vec![
                    test.party
                        .clone()
                        .unwrap_or_else(|| "all parties".to_owned()),
                ];
                cells.extend(test.phrases.iter().cloned());
                cells
            })
            .collect(),
    });
    if !comparison.examples.is_empty() {
        let mut head = vec![("incident".to_owned(), Align::Left)];
        head.extend(
            comparison
                .readings
                .iter()
                .map(|label| (label.clone(), Align::Left)),
        );
        blocks.push(Block::Paragraph(vec![text(format!(
            "The first {} of them:",
            comparison.examples.len()
        ))]));
        blocks.push(Block::Table {
            head,
            rows: comparison
                .examples
                .iter()
                .map(|d| {
                    let mut cells = vec![d.incident.clone()];
                    cells.extend(d.verdicts.iter().map(|v| v.replace('_', " ")));
                    cells
                })
                .collect(),
        });
    }
    for note in &comparison.notes {
        blocks.push(Block::Caveat(note.clone()));
    }
}

fn violations_section(blocks: &mut Vec<Block>, report: &ComplianceReport, zone: &TimeZone) {
    section(blocks, 8);
    blocks.push(Block::Paragraph(vec![text(verification_text(
        report.inputs.log.as_ref(),
    ))]));
    for reading in &report.readings {
        reading_heading(blocks, report, reading);
        let listed = &reading.violations;
        if listed.total == 0 {
            blocks.push(Block::Paragraph(vec![text(
                "No established violation and no disputed incident in the period.",
            )]));
            continue;
        }
        let shown = if listed.shown.len() as u64 == listed.total {
            String::new()
        } else {
            format!(
                "; the first {} by time are listed (all of them are in `truce assess`'s output)",
                thousands(listed.shown.len() as u64)
            )
        };
        blocks.push(Block::Paragraph(vec![text(format!(
            "{} established violations and disputed incidents{shown}. Each is given with the \
             chain of reasons behind its verdict{}.",
            thousands(listed.total),
            if report.inputs.log.is_some() {
                ", the log indexes of its reports and the size of the checkpoint that includes \
                 them"
            } else {
                ""
            }
        ))]));
        blocks.push(Block::List(
            listed
                .shown
                .iter()
                .map(|f| {
                    let when = if f.start == f.end {
                        local(f.start, zone)
                    } else {
                        format!("{} to {}", local(f.start, zone), local(f.end, zone))
                    };
                    let mut line = vec![
                        Inline::Strong(f.verdict.clone()),
                        text(" "),
                        Inline::Code(f.incident.clone()),
                        text(format!(
                            " {when}: {} against {}; {} ({}, {} ± {} m); parties {}; \
                             rules {}; {} source(s)",
                            f.action.replace('_', " "),
                            f.target,
                            f.region,
                            f.lon,
                            f.lat,
                            f.uncertainty_m,
                            f.parties.join(", "),
                            f.rules.join(", "),
                            f.sources
                        )),
                    ];
                    if let Some(size) = f.checkpoint_size {
                        let indices: Vec<String> =
                            f.log_indices.iter().map(ToString::to_string).collect();
                        line.push(text("; log entries "));
                        line.push(Inline::Code(indices.join(", ")));
                        line.push(text(format!(" in the checkpoint of size {size}")));
                    }
                    Item {
                        text: line,
                        details: f.reasons.clone(),
                    }
                })
                .collect(),
        ));
    }
}

fn inputs_section(blocks: &mut Vec<Block>, report: &ComplianceReport, zone: &TimeZone) {
    section(blocks, 9);
    let inputs = &report.inputs;
    if let Some(log) = &inputs.log {
        log_inputs(blocks, log);
    } else {
        blocks.push(Block::Table {
            head: vec![
                ("agreement file".to_owned(), Align::Left),
                (
                    "sha256 (with the files it references)".to_owned(),
                    Align::Left,
                ),
            ],
            rows: inputs
                .agreements
                .iter()
                .map(|a| vec![a.file.clone(), a.sha256.clone()])
                .collect(),
        });
    }
    blocks.push(Block::Table {
        head: vec![
            ("reading".to_owned(), Align::Left),
            ("title".to_owned(), Align::Left),
            ("file".to_owned(), Align::Left),
            ("in force".to_owned(), Align::Left),
            ("parties bound from".to_owned(), Align::Left),
        ],
        rows: report
            .readings
            .iter()
            .map(|r| {
                let a = &r.agreement;
                let in_force = match &a.in_force {
                    InForceNote::Between { start, end } => match end {
                        Some(end) => format!("{} to {}", local(*start, zone), local(*end, zone)),
                        None => format!("from {}", local(*start, zone)),
                    },
                    InForceNote::Never { condition } => {
                        format!("never: condition `{condition}` unmet")
                    }
                };
                let bound = a
                    .parties
                    .iter()
                    .map(|p| match p.bound_from {
                        Some(t) => format!("{} {}", p.id, local(t, zone)),
                        None => format!("{} never", p.id),
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut title = a.title.clone();
                if !a.interpretation_note.is_empty() {
                    title.push_str(" — ");
                    title.push_str(&a.interpretation_note);
                }
                vec![a.label(), title, a.file.clone(), in_force, bound]
            })
            .collect(),
    });
    if inputs.log.is_none() {
        blocks.push(Block::Table {
            head: vec![
                ("report file".to_owned(), Align::Left),
                ("format".to_owned(), Align::Left),
                ("accepted".to_owned(), Align::Right),
                ("rejected".to_owned(), Align::Right),
                ("sha256 of the file".to_owned(), Align::Left),
            ],
            rows: inputs
                .reports
                .iter()
                .map(|f| {
                    vec![
                        f.file.clone(),
                        f.format.clone(),
                        thousands(f.accepted),
                        thousands(f.rejected),
                        f.sha256.clone(),
                    ]
                })
                .collect(),
        });
    }
    if !inputs.coverage_files.is_empty() {
        blocks.push(Block::Table {
            head: vec![
                ("coverage file".to_owned(), Align::Left),
                ("records".to_owned(), Align::Right),
                ("sha256 of the file".to_owned(), Align::Left),
            ],
            rows: inputs
                .coverage_files
                .iter()
                .map(|f| vec![f.file.clone(), thousands(f.records), f.sha256.clone()])
                .collect(),
        });
    }
    let until = match report.period.until {
        Some(until) => format!("the data ends at {} (as given)", local(until, zone)),
        None => "the data ends with the last calendar day holding an incident".to_owned(),
    };
    blocks.push(Block::List(vec![
        Item {
            text: vec![
                text("Report set digest (SHA-256 over the accepted reports in canonical order, as `truce assess` prints it): "),
                Inline::Code(inputs.reports_sha256.clone()),
            ],
            details: Vec::new(),
        },
        Item {
            text: vec![text(format!(
                "Rows rejected: {}. Baseline: {} days; {until}; days in {}.",
                thousands(inputs.rejected_rows),
                report.period.baseline_days,
                report.period.time_zone
            ))],
            details: Vec::new(),
        },
        Item {
            text: vec![text(format!(
                "Computed by truce {} (report format {}).",
                report.truce_version, report.format
            ))],
            details: Vec::new(),
        },
        Item {
            text: vec![text(
                "Methods: the conditional test for two Poisson rates (Przyborowski & Wilenski \
                 1940) with the Clopper–Pearson interval (Clopper & Pearson 1934); rate shifts \
                 by optimal partitioning of a Poisson likelihood (Jackson et al. 2005). Each \
                 figure is explained in the project's docs/report.md.",
            )],
            details: Vec::new(),
        },
    ]));
}

/// How to check the listed findings against the log, or why they cannot be.
fn verification_text(log: Option<&LogInputs>) -> String {
    match log {
        Some(log) => format!(
            "Read from the log {} at its checkpoint of size {} (section 9 gives its root and \
             the signed checkpoint). To check a listed finding, copy the log (`truce log mirror \
             SERVICE/v1/log COPY --vkey LOG_KEY`, or take the `log/` directory of the data \
             directory), save the checkpoint of section 9 as a file and run `truce log verify \
             COPY --vkey LOG_KEY --previous THAT_FILE`: it re-hashes every entry, checks the \
             signature and proves that this checkpoint is a prefix of the log. Then `truce log \
             prove COPY --index I --size {}` prints the inclusion proof of entry I (one of the \
             finding's log entries) under this checkpoint's root, and the entry itself is \
             `GET SERVICE/v1/log/entries?start=I&end=I+1`.",
            log.origin, log.size, log.size
        ),
        None => "Read from files, not from a log: the findings carry no log index or \
                 checkpoint. `truce report --data DIR` on a service's data directory gives them."
            .to_owned(),
    }
}

/// Section 9's account of the log: checkpoint, agreement entries, reports read.
fn log_inputs(blocks: &mut Vec<Block>, log: &LogInputs) {
    blocks.push(Block::Paragraph(vec![text(format!(
        "Read from the log `{}` as of its checkpoint of size {} (entries 0 to {}), with root \
         (base64, as the checkpoint writes it):",
        log.origin,
        thousands(log.size),
        log.size.saturating_sub(1)
    ))]));
    blocks.push(Block::Paragraph(vec![Inline::Code(log.root.clone())]));
    blocks.push(Block::Paragraph(vec![text(format!(
        "The signed checkpoint, verbatim (signature lines of {}; checked by `truce log \
         verify`, not here):",
        if log.signatures.is_empty() {
            "no key".to_owned()
        } else {
            log.signatures.join(", ")
        }
    ))]));
    blocks.push(Block::Code(log.checkpoint.clone()));
    blocks.push(Block::Table {
        head: vec![
            ("agreement version".to_owned(), Align::Left),
            ("log entries".to_owned(), Align::Left),
            ("sha256 of the text".to_owned(), Align::Left),
        ],
        rows: log
            .agreements
            .iter()
            .map(|a| {
                vec![
                    format!("{} v{}", a.id, a.version),
                    a.log_indices
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    a.text_sha256.clone(),
                ]
            })
            .collect(),
    });
    let mut items = vec![Item {
        text: vec![text(format!(
            "{} reports filed under the agreement in the log; {} of them withdrawn by their \
             source (members of no incident, in no figure). {} monitors' reviews applied as \
             the service applies them. {} coverage records in the log.",
            thousands(log.reports),
            thousands(log.retracted.len() as u64),
            thousands(log.reviews),
            thousands(log.coverage_records)
        ))],
        details: log
            .retracted
            .iter()
            .map(|r| {
                format!(
                    "{} (log entry {}), retracted at entry {}",
                    r.report_id, r.log_index, r.retraction_index
                )
            })
            .collect(),
    }];
    items.push(Item {
        text: vec![text(
            "Anyone holding a copy of the log can re-run this report: `truce report --data` \
             on a data directory restored from it gives the same figures at the same size.",
        )],
        details: Vec::new(),
    });
    blocks.push(Block::List(items));
}

/// `–` for a missing number.
fn optional(value: Option<f64>, suffix: &str) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v}{suffix}"))
}

fn area_row(row: &AreaCoverage) -> Vec<String> {
    vec![
        row.area.clone(),
        row.name.clone(),
        thousands(row.records),
        thousands(row.covered_days),
        format!("{}", row.covered_hours),
        thousands(row.incidents),
        thousands(row.incidents_observed),
        optional(row.observed_percent, "%"),
        optional(row.per_covered_day, ""),
    ]
}

fn coverage_section(blocks: &mut Vec<Block>, report: &ComplianceReport, zone: &TimeZone) {
    section(blocks, 6);
    let coverage = &report.coverage;
    blocks.push(Block::Paragraph(vec![text(coverage.statement.clone())]));
    if let Some(observed) = &coverage.observation {
        blocks.push(Block::Paragraph(vec![text(format!(
            "Over the {} days of the period, patrols, cameras and drones were recorded on {} \
             calendar days, for {} hours in all. {} of the {} incidents of the period ({}) fell \
             inside a record's time and area.",
            observed.period_days,
            thousands(observed.covered_days),
            observed.covered_hours,
            thousands(observed.incidents_observed),
            thousands(observed.incidents),
            percent_text(observed.observed_percent)
        ))]));
        blocks.push(Block::Table {
            head: vec![
                ("kind".to_owned(), Align::Left),
                ("records".to_owned(), Align::Right),
                ("covered days".to_owned(), Align::Right),
                ("covered hours".to_owned(), Align::Right),
            ],
            rows: observed
                .by_kind
                .iter()
                .map(|k| {
                    vec![
                        k.kind.replace('_', " "),
                        thousands(k.records),
                        thousands(k.covered_days),
                        format!("{}", k.covered_hours),
                    ]
                })
                .collect(),
        });
        blocks.push(Block::Paragraph(vec![text(
            "Prohibited acts (as counted by the truce test) against coverage: per day of the \
             period, and observed acts per covered day.",
        )]));
        blocks.push(Block::Table {
            head: vec![
                ("who".to_owned(), Align::Left),
                ("acts".to_owned(), Align::Right),
                ("observed".to_owned(), Align::Right),
                ("share observed".to_owned(), Align::Right),
                ("per day".to_owned(), Align::Right),
                ("observed per covered day".to_owned(), Align::Right),
            ],
            rows: observed
                .by_party
                .iter()
                .map(|p| {
                    vec![
                        p.party.clone().unwrap_or_else(|| "all parties".to_owned()),
                        thousands(p.acts),
                        thousands(p.acts_observed),
                        optional(p.observed_percent, "%"),
                        optional(p.per_day, ""),
                        optional(p.per_covered_day, ""),
                    ]
                })
                .collect(),
        });
        if !observed.by_area.is_empty() {
            blocks.push(Block::Paragraph(vec![text(
                "By zone of the agreement and by region (a record counts for every zone and \
                 region its area touches; an incident for the one holding its estimated \
                 centre):",
            )]));
            blocks.push(Block::Table {
                head: vec![
                    ("area".to_owned(), Align::Left),
                    ("name".to_owned(), Align::Left),
                    ("records".to_owned(), Align::Right),
                    ("covered days".to_owned(), Align::Right),
                    ("covered hours".to_owned(), Align::Right),
                    ("incidents".to_owned(), Align::Right),
                    ("observed".to_owned(), Align::Right),
                    ("share observed".to_owned(), Align::Right),
                    ("observed per covered day".to_owned(), Align::Right),
                ],
                rows: observed.by_area.iter().map(area_row).collect(),
            });
        }
        if observed.records_outside_period > 0 {
            blocks.push(Block::Paragraph(vec![text(format!(
                "{} coverage records lie outside the period and are not counted.",
                thousands(observed.records_outside_period)
            ))]));
        }
        blocks.push(Block::Caveat(observed.caveat.clone()));
    }
    if coverage.records > 0 {
        if coverage.access.is_empty() {
            blocks.push(Block::Paragraph(vec![text(
                "No denial of access to monitors and no jamming is recorded in the period.",
            )]));
        } else {
            blocks.push(Block::Paragraph(vec![text(
                "Denials of access to monitors and jamming of their means, by the party named \
                 in the record:",
            )]));
            blocks.push(Block::List(
                coverage
                    .access
                    .iter()
                    .map(|a| Item {
                        text: vec![text(format!(
                            "{}: {} denials of access, {} of jamming, {} hours, on {}",
                            a.party.as_deref().unwrap_or("party not named"),
                            thousands(a.denials),
                            thousands(a.jamming),
                            a.hours,
                            a.dates
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))],
                        details: a
                            .events
                            .iter()
                            .map(|e| {
                                let mut line = format!(
                                    "{} {} from {} to {} at {} ({}), recorded by {}",
                                    e.kind.replace('_', " "),
                                    e.id,
                                    local(e.start, zone),
                                    local(e.end, zone),
                                    e.area,
                                    e.regions.join(", "),
                                    e.observer
                                );
                                if let Some(index) = e.log_index {
                                    line.push_str(&format!("; log entry {index}"));
                                }
                                line
                            })
                            .collect(),
                    })
                    .collect(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_start_with_a_capital_and_end_with_a_stop() {
        assert_eq!(
            sentence("prohibited acts fell by 71% (95% CI 60–79%)"),
            "Prohibited acts fell by 71% (95% CI 60–79%)."
        );
        assert_eq!(sentence("done."), "Done.");
        assert_eq!(sentence(""), ".");
    }
}
