//! SVG drawn by hand: a small writer and the report's charts. Colours and strokes come from
//! the page's style sheet through class names, so the charts print and read without scripts.

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::figures::{Headline, TestOutcome, TollRow, Trend, TruceTestRow};
use crate::words::{html_escape, interval_text, ratio_text, thousands};

/// A coordinate for SVG: one decimal, no `-0`, and 0 for a value that is not finite (which
/// the charts never produce; the guard keeps a defect from writing `NaN` into a page).
pub(crate) fn coordinate(value: f64) -> String {
    debug_assert!(value.is_finite(), "a non-finite SVG coordinate");
    if !value.is_finite() {
        return "0".to_owned();
    }
    let rounded = (value * 10.0).round() / 10.0;
    if rounded == 0.0 {
        "0".to_owned()
    } else {
        format!("{rounded}")
    }
}

/// Where a text is anchored.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Anchor {
    /// At its start.
    Start,
    /// At its middle.
    Middle,
    /// At its end.
    End,
}

/// An SVG drawing under construction, for inline use in HTML (which needs no namespace
/// attribute: the HTML parser places `<svg>` in the SVG namespace).
#[derive(Debug)]
pub(crate) struct Svg {
    out: String,
}

impl Svg {
    /// A drawing `width` × `height` units with an accessible title.
    pub(crate) fn new(width: f64, height: f64, class: &str, title: &str) -> Svg {
        let mut out = String::new();
        let _ = write!(
            out,
            "<svg class=\"{class}\" viewBox=\"0 0 {} {}\" role=\"img\"><title>{}</title>",
            coordinate(width),
            coordinate(height),
            html_escape(title)
        );
        Svg { out }
    }

    /// Appends markup as it is (callers escape text).
    pub(crate) fn raw(&mut self, markup: &str) {
        self.out.push_str(markup);
    }

    /// A line.
    pub(crate) fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &str) {
        let _ = write!(
            self.out,
            "<line class=\"{class}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            coordinate(x1),
            coordinate(y1),
            coordinate(x2),
            coordinate(y2)
        );
    }

    /// A rectangle (negative sizes are drawn as empty).
    pub(crate) fn rect(&mut self, x: f64, y: f64, width: f64, height: f64, class: &str) {
        let _ = write!(
            self.out,
            "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
            coordinate(x),
            coordinate(y),
            coordinate(width.max(0.0)),
            coordinate(height.max(0.0))
        );
    }

    /// A circle.
    pub(crate) fn circle(&mut self, cx: f64, cy: f64, r: f64, class: &str) {
        let _ = write!(
            self.out,
            "<circle class=\"{class}\" cx=\"{}\" cy=\"{}\" r=\"{}\"/>",
            coordinate(cx),
            coordinate(cy),
            coordinate(r.max(0.0))
        );
    }

    /// A path with its `d` attribute already written.
    pub(crate) fn path(&mut self, d: &str, class: &str) {
        if !d.is_empty() {
            let _ = write!(self.out, "<path class=\"{class}\" d=\"{d}\"/>");
        }
    }

    /// A text, escaped.
    pub(crate) fn text(&mut self, x: f64, y: f64, anchor: Anchor, class: &str, text: &str) {
        let anchor = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let _ = write!(
            self.out,
            "<text class=\"{class}\" x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            coordinate(x),
            coordinate(y),
            html_escape(text)
        );
    }

    /// The finished document.
    pub(crate) fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

/// The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10ᵏ) at least `value`,
/// and at least 1: the top of a chart's scale.
pub(crate) fn nice_ceiling(value: f64) -> f64 {
    if !(value.is_finite() && value > 1.0) {
        return 1.0;
    }
    let magnitude = 10_f64.powf(value.log10().floor());
    for step in [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if step * magnitude >= value {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// The CSS class of a verdict.
pub(crate) fn verdict_class(verdict: &str) -> String {
    format!("v-{verdict}")
}

/// Section 1: stacked bars of each party's violations, alleged, disputed and undetermined.
pub(crate) fn verdict_bars(headline: &Headline) -> String {
    const WIDTH: f64 = 720.0;
    const LEFT: f64 = 130.0;
    const ROW: f64 = 26.0;
    let rows = &headline.parties;
    let height = 34.0 + ROW * rows.len() as f64;
    let max = rows
        .iter()
        .map(|p| p.counts.violation + p.counts.alleged + p.counts.disputed + p.counts.undetermined)
        .max()
        .unwrap_or(0);
    let scale_max = nice_ceiling(max as f64);
    let plot = WIDTH - LEFT - 70.0;
    let mut svg = Svg::new(
        WIDTH,
        height,
        "chart",
        "Findings per party: violations, alleged, disputed, undetermined",
    );
    for (i, party) in rows.iter().enumerate() {
        let y = 8.0 + ROW * i as f64;
        svg.text(LEFT - 8.0, y + 14.0, Anchor::End, "label", &party.party);
        let mut x = LEFT;
        let parts = [
            ("violation", party.counts.violation),
            ("alleged", party.counts.alleged),
            ("disputed", party.counts.disputed),
            ("undetermined", party.counts.undetermined),
        ];
        let mut total = 0;
        for (verdict, count) in parts {
            let width = plot * count as f64 / scale_max;
            svg.rect(x, y, width, ROW - 8.0, &verdict_class(verdict));
            x += width;
            total += count;
        }
        svg.text(x + 6.0, y + 14.0, Anchor::Start, "value", &thousands(total));
    }
    let axis_y = 8.0 + ROW * rows.len() as f64;
    svg.line(LEFT, axis_y, LEFT + plot, axis_y, "axis");
    svg.text(LEFT, axis_y + 14.0, Anchor::Middle, "tick", "0");
    svg.text(
        LEFT + plot,
        axis_y + 14.0,
        Anchor::Middle,
        "tick",
        &thousands(scale_max as u64),
    );
    legend(
        &mut svg,
        LEFT + 40.0,
        axis_y + 14.0,
        &["violation", "alleged", "disputed", "undetermined"],
    );
    svg.finish()
}

/// A row of coloured squares with verdict names.
fn legend(svg: &mut Svg, x: f64, y: f64, verdicts: &[&str]) {
    let mut at = x;
    for verdict in verdicts {
        svg.rect(at, y - 9.0, 10.0, 10.0, &verdict_class(verdict));
        let label = verdict.replace('_', " ");
        svg.text(at + 14.0, y, Anchor::Start, "tick", &label);
        at += 24.0 + 7.0 * label.len() as f64;
    }
}

/// The label of a truce-test row: `all parties`, `RU`, `RU · civilian residential`.
pub(crate) fn row_label(row: &TruceTestRow) -> String {
    let who = row.party.as_deref().unwrap_or("all parties");
    match &row.category {
        Some(category) => format!("{who} · {}", category.replace('_', " ")),
        None => who.to_owned(),
    }
}

/// A row of the forest plot: the row, its ratio, interval and significance.
type Plotted<'a> = (&'a TruceTestRow, Option<f64>, f64, Option<f64>, bool);

/// Section 2: each rate ratio with its 95% interval on a log scale, 1 marked.
pub(crate) fn forest_plot(rows: &[TruceTestRow]) -> Option<String> {
    const WIDTH: f64 = 720.0;
    const LEFT: f64 = 260.0;
    const RIGHT: f64 = 150.0;
    const ROW: f64 = 22.0;
    const FLOOR: f64 = 1e-3;
    const CEILING: f64 = 1e3;
    let estimated: Vec<Plotted<'_>> = rows
        .iter()
        .filter_map(|row| match &row.outcome {
            TestOutcome::Estimated {
                ratio,
                ci_low,
                ci_high,
                significant,
                ..
            } => Some((row, *ratio, *ci_low, *ci_high, *significant)),
            TestOutcome::NotEstimated { .. } => None,
        })
        .collect();
    if estimated.is_empty() {
        return None;
    }
    // The domain: at least 0.1 to 10, widened to every finite, positive value shown.
    let (mut low, mut high) = (0.1_f64, 10.0_f64);
    for &(_, ratio, ci_low, ci_high, _) in &estimated {
        for value in [ratio, Some(ci_low), ci_high].into_iter().flatten() {
            if value > 0.0 && value.is_finite() {
                low = low.min(value.max(FLOOR));
                high = high.max(value.min(CEILING));
            }
        }
    }
    let (low, high) = (
        10_f64.powf(low.log10().floor()),
        10_f64.powf(high.log10().ceil()),
    );
    let plot = WIDTH - LEFT - RIGHT;
    let x = |value: f64| {
        let clamped = value.clamp(low, high);
        LEFT + plot * (clamped.ln() - low.ln()) / (high.ln() - low.ln())
    };
    let height = 40.0 + ROW * estimated.len() as f64;
    let mut svg = Svg::new(
        WIDTH,
        height,
        "chart",
        "Rate ratios during against before the agreement, with 95% intervals (log scale)",
    );
    let bottom = 8.0 + ROW * estimated.len() as f64;
    svg.line(x(1.0), 4.0, x(1.0), bottom, "reference");
    let mut tick = low;
    while tick <= high * 1.000_001 {
        for step in [1.0, 2.0, 5.0] {
            let value = tick * step;
            if value >= low && value <= high * 1.000_001 {
                svg.line(x(value), bottom, x(value), bottom + 4.0, "axis");
                if step == 1.0 {
                    svg.text(
                        x(value),
                        bottom + 16.0,
                        Anchor::Middle,
                        "tick",
                        &format!("{value}"),
                    );
                }
            }
        }
        tick *= 10.0;
    }
    svg.line(LEFT, bottom, LEFT + plot, bottom, "axis");
    svg.text(
        LEFT + plot,
        bottom + 30.0,
        Anchor::End,
        "tick",
        "rate during ÷ rate before (below 1: fewer)",
    );
    for (i, &(row, ratio, ci_low, ci_high, significant)) in estimated.iter().enumerate() {
        let y = 8.0 + ROW * i as f64 + ROW / 2.0;
        svg.text(LEFT - 8.0, y + 4.0, Anchor::End, "label", &row_label(row));
        let from = if ci_low > 0.0 { x(ci_low) } else { LEFT };
        let to = ci_high.map_or(LEFT + plot, x);
        svg.line(from, y, to, y, "whisker");
        if ci_low <= 0.0 {
            svg.path(
                &format!("M{} {}l6 -4v8z", coordinate(LEFT), coordinate(y)),
                "whisker-end",
            );
        }
        if ci_high.is_none() {
            svg.path(
                &format!("M{} {}l-6 -4v8z", coordinate(LEFT + plot), coordinate(y)),
                "whisker-end",
            );
        }
        let mark = if significant {
            "estimate"
        } else {
            "estimate ns"
        };
        match ratio {
            Some(value) if value > 0.0 => svg.circle(x(value), y, 4.5, mark),
            Some(_) => svg.circle(LEFT, y, 4.5, mark),
            None => {}
        }
        svg.text(
            LEFT + plot + 8.0,
            y + 4.0,
            Anchor::Start,
            "value",
            &format!("{} ({})", ratio_text(ratio), interval_text(ci_low, ci_high)),
        );
    }
    Some(svg.finish())
}

/// Where an instant falls on a day axis: the day's index plus the fraction of the day gone
/// (`None` off the axis).
pub(crate) fn day_position(instant: Timestamp, days: &[Date], zone: &TimeZone) -> Option<f64> {
    let zoned = instant.to_zoned_datetime(zone.clone());
    let index = days.binary_search(&zoned.date()).ok()?;
    let time = zoned.time();
    let seconds = f64::from(time.hour()) * 3600.0
        + f64::from(time.minute()) * 60.0
        + f64::from(time.second());
    Some(index as f64 + seconds / 86_400.0)
}

/// Section 3: daily counts as bars, the 7-day mean as a line, the start and the change
/// points marked.
pub(crate) fn daily_chart(trend: &Trend, days: &[Date], zone: &TimeZone, title: &str) -> String {
    const WIDTH: f64 = 720.0;
    const HEIGHT: f64 = 190.0;
    const LEFT: f64 = 48.0;
    const RIGHT: f64 = 12.0;
    const TOP: f64 = 26.0;
    const BOTTOM: f64 = 34.0;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = days.len().max(1) as f64;
    let band = plot_w / n;
    let max_count = trend.daily.iter().copied().max().unwrap_or(0) as f64;
    let max_mean = trend
        .rolling_mean_7
        .iter()
        .flatten()
        .fold(0.0_f64, |a, &b| a.max(b));
    let y_max = nice_ceiling(max_count.max(max_mean));
    let x_of = |position: f64| LEFT + band * position;
    let y_of = |value: f64| TOP + plot_h * (1.0 - value / y_max);
    let mut svg = Svg::new(WIDTH, HEIGHT, "chart", title);
    svg.text(LEFT, 14.0, Anchor::Start, "label", title);
    for (i, &count) in trend.daily.iter().enumerate() {
        if count > 0 {
            let height = plot_h * count as f64 / y_max;
            svg.rect(
                x_of(i as f64) + band * 0.1,
                TOP + plot_h - height,
                (band * 0.8).max(0.6),
                height,
                "bar",
            );
        }
    }
    let mut d = String::new();
    let mut pen_down = false;
    for (i, mean) in trend.rolling_mean_7.iter().enumerate() {
        match mean {
            Some(value) => {
                let command = if pen_down { 'L' } else { 'M' };
                let _ = write!(
                    d,
                    "{command}{} {}",
                    coordinate(x_of(i as f64 + 0.5)),
                    coordinate(y_of(*value))
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    svg.path(&d, "mean");
    svg.line(LEFT, TOP + plot_h, LEFT + plot_w, TOP + plot_h, "axis");
    svg.line(LEFT, TOP, LEFT, TOP + plot_h, "axis");
    for value in [0.0, y_max / 2.0, y_max] {
        svg.text(
            LEFT - 6.0,
            y_of(value) + 4.0,
            Anchor::End,
            "tick",
            &format!("{}", (value * 10.0).round() / 10.0),
        );
    }
    // About six date labels, always the first and the last day.
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        let step = (days.len() / 6).max(1);
        let mut labelled: Vec<usize> = (0..days.len()).step_by(step).collect();
        if labelled.last() != Some(&(days.len() - 1)) {
            if labelled.len() > 1 && days.len() - 1 - labelled[labelled.len() - 1] < step / 2 {
                labelled.pop();
            }
            labelled.push(days.len() - 1);
        }
        for i in labelled {
            // The first and last labels are kept inside the drawing.
            let (date, anchor) = if i == 0 {
                (first, Anchor::Start)
            } else if i == days.len() - 1 {
                (last, Anchor::End)
            } else {
                (&days[i], Anchor::Middle)
            };
            let x = x_of(i as f64 + 0.5);
            svg.line(x, TOP + plot_h, x, TOP + plot_h + 4.0, "axis");
            let label_x = match anchor {
                Anchor::Start => x.min(LEFT),
                Anchor::End => x.max(LEFT + plot_w),
                Anchor::Middle => x,
            };
            svg.text(
                label_x,
                TOP + plot_h + 16.0,
                anchor,
                "tick",
                &date.to_string(),
            );
        }
    }
    if let Some(position) = trend
        .bound_from
        .and_then(|start| day_position(start, days, zone))
    {
        let x = x_of(position);
        svg.line(x, TOP - 4.0, x, TOP + plot_h, "start");
        svg.text(x + 3.0, TOP + 6.0, Anchor::Start, "marker", "start");
    }
    for change in &trend.change_points {
        if let Ok(index) = days.binary_search(&change.day) {
            let x = x_of(index as f64);
            svg.line(x, TOP, x, TOP + plot_h, "change");
            svg.path(
                &format!("M{} {}l-5 -7h10z", coordinate(x), coordinate(TOP)),
                "change-mark",
            );
        }
    }
    svg.text(
        LEFT + plot_w,
        HEIGHT - 4.0,
        Anchor::End,
        "tick",
        "bars: per day; line: 7-day mean; ▼ rate shift (rates in the table)",
    );
    svg.finish()
}

/// Section 4: civilians killed and injured per row, before (thin) and under the agreement.
pub(crate) fn harm_bars(rows: &[TollRow], title: &str) -> Option<String> {
    const WIDTH: f64 = 720.0;
    const LEFT: f64 = 230.0;
    const ROW: f64 = 30.0;
    const SHOWN: usize = 15;
    let rows: Vec<&TollRow> = rows.iter().take(SHOWN).collect();
    let max = rows
        .iter()
        .map(|r| (r.before.killed + r.before.injured).max(r.during.killed + r.during.injured))
        .max()
        .unwrap_or(0);
    if max == 0 {
        return None;
    }
    let scale = nice_ceiling(max as f64);
    let plot = WIDTH - LEFT - 90.0;
    let height = 40.0 + ROW * rows.len() as f64;
    let mut svg = Svg::new(WIDTH, height, "chart", title);
    for (i, row) in rows.iter().enumerate() {
        let y = 6.0 + ROW * i as f64;
        svg.text(LEFT - 8.0, y + 15.0, Anchor::End, "label", &row.name);
        let before = (row.before.killed + row.before.injured) as f64;
        svg.rect(LEFT, y, plot * before / scale, 6.0, "harm-before");
        let killed = plot * row.during.killed as f64 / scale;
        let injured = plot * row.during.injured as f64 / scale;
        svg.rect(LEFT, y + 8.0, killed, 14.0, "harm-killed");
        svg.rect(LEFT + killed, y + 8.0, injured, 14.0, "harm-injured");
        svg.text(
            LEFT + killed + injured + 6.0,
            y + 19.0,
            Anchor::Start,
            "value",
            &format!(
                "{} killed, {} injured (before: {}, {})",
                thousands(row.during.killed),
                thousands(row.during.injured),
                thousands(row.before.killed),
                thousands(row.before.injured)
            ),
        );
    }
    let axis_y = 6.0 + ROW * rows.len() as f64;
    svg.line(LEFT, axis_y, LEFT + plot, axis_y, "axis");
    svg.text(LEFT, axis_y + 14.0, Anchor::Middle, "tick", "0");
    svg.text(
        LEFT + plot,
        axis_y + 14.0,
        Anchor::Middle,
        "tick",
        &thousands(scale as u64),
    );
    svg.text(
        LEFT,
        axis_y + 30.0,
        Anchor::Start,
        "tick",
        "thick: under the agreement (dark: killed, light: injured); thin: before",
    );
    Some(svg.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_short_and_finite() {
        assert_eq!(coordinate(1.04), "1");
        assert_eq!(coordinate(1.05), "1.1");
        assert_eq!(coordinate(-0.01), "0");
        assert_eq!(coordinate(123.456), "123.5");
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(1.0), 1.0);
        assert_eq!(nice_ceiling(1.3), 1.5);
        assert_eq!(nice_ceiling(3.0), 3.0);
        assert_eq!(nice_ceiling(7.0), 8.0);
        assert_eq!(nice_ceiling(10.0), 10.0);
        assert_eq!(nice_ceiling(201.0), 250.0);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
    }

    #[test]
    fn text_is_escaped_and_elements_closed() {
        let mut svg = Svg::new(10.0, 10.0, "chart", "a <b>");
        svg.text(1.0, 2.0, Anchor::Middle, "label", "R&D <x>");
        svg.rect(0.0, 0.0, -5.0, 3.0, "bar");
        let out = svg.finish();
        assert_eq!(
            out,
            "<svg class=\"chart\" viewBox=\"0 0 10 10\" role=\"img\"><title>a &lt;b&gt;</title><text class=\"label\" x=\"1\" y=\"2\" \
             text-anchor=\"middle\">R&amp;D &lt;x&gt;</text><rect class=\"bar\" x=\"0\" y=\"0\" \
             width=\"0\" height=\"3\"/></svg>"
        );
    }

    fn row(outcome: TestOutcome) -> TruceTestRow {
        let exposure = crate::figures::Exposure {
            start: Timestamp::UNIX_EPOCH,
            end: Timestamp::UNIX_EPOCH,
            days: 1.0,
            events: 0,
        };
        TruceTestRow {
            party: Some("B".to_owned()),
            category: Some("civilian_residential".to_owned()),
            before: exposure,
            during: exposure,
            outcome,
        }
    }

    #[test]
    fn forest_plot_marks_open_intervals_and_skips_what_was_not_estimated() {
        let open = row(TestOutcome::Estimated {
            ratio: None,
            ci_low: 0.41,
            ci_high: None,
            p_value: 0.25,
            significant: false,
            phrase: String::new(),
        });
        let svg = forest_plot(&[open]).unwrap_or_default();
        assert_eq!(svg.matches("class=\"whisker-end\"").count(), 1, "{svg}");
        assert!(!svg.contains("<circle"), "no estimate to mark");
        assert!(svg.contains("B · civilian residential"));
        assert!(svg.contains("∞ or undefined (0.41–∞)"));
        let nothing = row(TestOutcome::NotEstimated {
            reason: "none".to_owned(),
        });
        assert_eq!(forest_plot(&[nothing]), None);
        let zero = row(TestOutcome::Estimated {
            ratio: Some(0.0),
            ci_low: 0.0,
            ci_high: Some(0.09),
            p_value: 0.001,
            significant: true,
            phrase: String::new(),
        });
        let svg = forest_plot(&[zero]).unwrap_or_default();
        // A zero ratio sits at the left edge, with the arrow of an interval open to 0.
        assert!(
            svg.contains("<circle class=\"estimate\" cx=\"260\""),
            "{svg}"
        );
        assert_eq!(svg.matches("class=\"whisker-end\"").count(), 1);
    }

    #[test]
    fn daily_chart_marks_the_start_within_its_day() {
        let days: Vec<Date> = ["2025-03-10", "2025-03-11", "2025-03-12", "2025-03-13"]
            .iter()
            .map(|d| d.parse().unwrap_or_default())
            .collect();
        let trend = Trend {
            party: None,
            bound_from: "2025-03-12T12:00:00Z".parse().ok(),
            daily: vec![2, 0, 1, 4],
            rolling_mean_7: vec![None; 4],
            week_on_week: None,
            change_points: Vec::new(),
        };
        let svg = daily_chart(&trend, &days, &TimeZone::UTC, "acts per day");
        // 660 units over 4 days: the start, half-way through day 2, is at 48 + 165 · 2.5.
        assert!(svg.contains("<line class=\"start\" x1=\"460.5\""), "{svg}");
        assert_eq!(svg.matches("class=\"bar\"").count(), 3);
        assert!(!svg.contains("class=\"mean\""), "no mean before seven days");
    }

    #[test]
    fn harm_bars_need_harm() {
        let row = TollRow {
            key: "UA-63".to_owned(),
            name: "Kharkiv (UA-63)".to_owned(),
            before: crate::figures::Harm::default(),
            during: crate::figures::Harm::default(),
        };
        assert_eq!(harm_bars(std::slice::from_ref(&row), "t"), None);
        let harmed = TollRow {
            during: crate::figures::Harm {
                killed: 2,
                injured: 5,
                incidents: 1,
            },
            ..row
        };
        let svg = harm_bars(&[harmed], "t").unwrap_or_default();
        assert!(svg.contains("2 killed, 5 injured (before: 0, 0)"));
    }

    #[test]
    fn day_positions_count_the_hours() {
        let days: Vec<Date> = ["2025-04-19", "2025-04-20", "2025-04-21"]
            .iter()
            .map(|d| d.parse().unwrap_or_default())
            .collect();
        let zone = TimeZone::get("Europe/Moscow").unwrap_or(TimeZone::UTC);
        let start: Timestamp = "2025-04-19T15:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(day_position(start, &days, &zone), Some(0.75));
        let outside: Timestamp = "2025-05-01T00:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(day_position(outside, &days, &zone), None);
    }
}
