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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// At its start.
    Start,
    /// At its middle.
    Middle,
    /// At its end.
    End,
}

impl Anchor {
    /// The value of the `text-anchor` attribute.
    fn attribute(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// The font size, in SVG units, of a text of a CSS class, as the page's style sheet sets it
/// (`svg .label`, `svg .tick`... in html.rs); a text of no known class inherits the body's
/// 15px.
pub(crate) fn font_size(class: &str) -> f64 {
    match class.split_whitespace().next() {
        Some("label") => 12.0,
        Some("value") => 11.0,
        Some("tick" | "marker" | "city-label") => 10.0,
        _ => 15.0,
    }
}

/// The advance of one character, in ems, rounded up from DejaVu Sans (the widest of the
/// usual system sans-serif fonts, and what Debian's browsers fall back to): narrow
/// punctuation and letters, ordinary letters and digits, capitals, and wide signs. Letters
/// outside ASCII are taken a little wider than ASCII ones, capitals much wider.
fn char_width_em(c: char) -> f64 {
    match c {
        ' ' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | '(' | ')' | '[' | ']' | '-' | '/'
        | 'i' | 'j' | 'l' | 'f' | 't' | 'I' | 'J' | '·' => 0.4,
        'm' | 'w' | 'M' | 'W' | '@' | '%' | '—' | '…' | '∞' => 1.0,
        '#' | '&' | '+' | '<' | '=' | '>' | '~' | '×' | '÷' | '±' | '−' | '▼' | '▲' => 0.9,
        '–' => 0.55,
        'ж' | 'ш' | 'щ' | 'ю' | 'ы' | 'м' | 'Ж' | 'Ш' | 'Щ' | 'Ю' | 'Ы' | 'М' => 1.1,
        c if c.is_ascii_uppercase() => 0.8,
        c if c.is_ascii() => 0.65,
        c if c.is_uppercase() => 1.1,
        // Hangul, CJK, full-width forms: a full em; pictographs more.
        '\u{1100}'..='\u{115F}'
        | '\u{2E80}'..='\u{A4CF}'
        | '\u{AC00}'..='\u{D7A3}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FE30}'..='\u{FE4F}'
        | '\u{FF00}'..='\u{FF60}'
        | '\u{FFE0}'..='\u{FFE6}' => 1.0,
        '\u{1F000}'.. => 1.3,
        _ => 0.75,
    }
}

/// The estimated width of `text` set at `font_size` SVG units: no smaller than what the
/// browser draws in the usual system fonts, so a text placed by this estimate stays in its
/// drawing.
pub(crate) fn text_width(text: &str, font_size: f64) -> f64 {
    text.chars().map(char_width_em).sum::<f64>() * font_size
}

/// The box a text covers: left, top, right, bottom (top and bottom from the font's ascent
/// and descent around the baseline at `y`).
pub(crate) fn text_extent(
    x: f64,
    y: f64,
    anchor: Anchor,
    font_size: f64,
    text: &str,
) -> (f64, f64, f64, f64) {
    let width = text_width(text, font_size);
    let left = match anchor {
        Anchor::Start => x,
        Anchor::Middle => x - width / 2.0,
        Anchor::End => x - width,
    };
    (
        left,
        y - TEXT_ASCENT * font_size,
        left + width,
        y + TEXT_DESCENT * font_size,
    )
}

/// How far above its baseline a text reaches, in ems (rounded up).
pub(crate) const TEXT_ASCENT: f64 = 0.95;
/// How far below its baseline a text reaches, in ems (rounded up).
pub(crate) const TEXT_DESCENT: f64 = 0.25;

/// `text` cut at the end, with an ellipsis, to at most `room` units wide at `font_size`;
/// `None` when not even one character and the ellipsis fit.
fn shortened(text: &str, font_size: f64, room: f64) -> Option<String> {
    if text_width(text, font_size) <= room {
        return Some(text.to_owned());
    }
    let mut width = char_width_em('…') * font_size;
    let mut kept = String::new();
    for c in text.chars() {
        width += char_width_em(c) * font_size;
        if width > room {
            break;
        }
        kept.push(c);
    }
    let kept = kept.trim_end();
    if kept.is_empty() {
        None
    } else {
        Some(format!("{kept}…"))
    }
}

/// An SVG drawing under construction, for inline use in HTML (which needs no namespace
/// attribute: the HTML parser places `<svg>` in the SVG namespace).
#[derive(Debug)]
pub(crate) struct Svg {
    out: String,
    width: f64,
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
        Svg { out, width }
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

    /// A text, escaped. The charts leave room for their texts; as a last resort, a text that
    /// would still run past the left or right edge of the drawing is cut short with an
    /// ellipsis, and left out when not even that fits.
    pub(crate) fn text(&mut self, x: f64, y: f64, anchor: Anchor, class: &str, text: &str) {
        let room = match anchor {
            Anchor::Start => self.width - x,
            Anchor::Middle => 2.0 * x.min(self.width - x),
            Anchor::End => x,
        };
        let Some(text) = shortened(text, font_size(class), room) else {
            return;
        };
        let _ = write!(
            self.out,
            "<text class=\"{class}\" x=\"{}\" y=\"{}\" text-anchor=\"{}\">{}</text>",
            coordinate(x),
            coordinate(y),
            anchor.attribute(),
            html_escape(&text)
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

/// Space between a label and what it names (a bar's end, an axis), SVG units.
const GAP: f64 = 6.0;
/// Space kept free inside a drawing's edges, SVG units.
pub(crate) const MARGIN: f64 = 4.0;

/// Where the plot starts after a column of labels right-aligned before it: the widest label's
/// estimated width plus room around it, within `narrowest..=widest`. Longer labels are cut
/// short by [`Svg::text`].
fn label_column<'a>(
    labels: impl IntoIterator<Item = &'a str>,
    class: &str,
    narrowest: f64,
    widest: f64,
) -> f64 {
    let longest = labels
        .into_iter()
        .map(|label| text_width(label, font_size(class)))
        .fold(0.0, f64::max);
    (longest + GAP + 2.0 + MARGIN).max(narrowest).min(widest)
}

/// The length of a bar chart's scale: at most `preferred`, and short enough that the label
/// written [`GAP`] after each bar's end still fits within `room` (from the bars' start to the
/// drawing's margin), but never below `shortest`. `bars` are each bar's share of the scale
/// and its label's estimated width.
fn fitted_scale(
    preferred: f64,
    room: f64,
    shortest: f64,
    bars: impl IntoIterator<Item = (f64, f64)>,
) -> f64 {
    let mut length = preferred.min(room);
    for (share, label_width) in bars {
        if share > 0.0 {
            length = length.min((room - GAP - label_width) / share);
        }
    }
    length.max(shortest)
}

/// Section 1: stacked bars of each party's violations, alleged, disputed and undetermined.
pub(crate) fn verdict_bars(headline: &Headline) -> String {
    const WIDTH: f64 = 720.0;
    const ROW: f64 = 26.0;
    let rows = &headline.parties;
    let left = label_column(
        rows.iter().map(|p| p.party.as_str()),
        "label",
        130.0,
        WIDTH * 0.4,
    );
    let totals: Vec<u64> = rows
        .iter()
        .map(|p| p.counts.violation + p.counts.alleged + p.counts.disputed + p.counts.undetermined)
        .collect();
    let scale_max = nice_ceiling(totals.iter().copied().max().unwrap_or(0) as f64);
    let plot = fitted_scale(
        WIDTH - left - 70.0,
        WIDTH - left - MARGIN,
        WIDTH * 0.3,
        totals.iter().map(|&total| {
            (
                total as f64 / scale_max,
                text_width(&thousands(total), font_size("value")),
            )
        }),
    );
    let height = 50.0 + ROW * rows.len() as f64;
    let mut svg = Svg::new(
        WIDTH,
        height,
        "chart",
        "Findings per party: violations, alleged, disputed, undetermined",
    );
    for (i, (party, &total)) in rows.iter().zip(&totals).enumerate() {
        let y = 8.0 + ROW * i as f64;
        svg.text(left - 8.0, y + 14.0, Anchor::End, "label", &party.party);
        let mut x = left;
        let parts = [
            ("violation", party.counts.violation),
            ("alleged", party.counts.alleged),
            ("disputed", party.counts.disputed),
            ("undetermined", party.counts.undetermined),
        ];
        for (verdict, count) in parts {
            let width = plot * count as f64 / scale_max;
            svg.rect(x, y, width, ROW - 8.0, &verdict_class(verdict));
            x += width;
        }
        svg.text(x + GAP, y + 14.0, Anchor::Start, "value", &thousands(total));
    }
    let axis_y = 8.0 + ROW * rows.len() as f64;
    svg.line(left, axis_y, left + plot, axis_y, "axis");
    svg.text(left, axis_y + 14.0, Anchor::Middle, "tick", "0");
    svg.text(
        left + plot,
        axis_y + 14.0,
        Anchor::Middle,
        "tick",
        &thousands(scale_max as u64),
    );
    legend(
        &mut svg,
        left,
        axis_y + 32.0,
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
        at += 14.0 + text_width(&label, font_size("tick")) + 12.0;
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
    const ROW: f64 = 22.0;
    /// The plot is never narrower than this; labels give way first.
    const SHORTEST_PLOT: f64 = 240.0;
    /// Nor are the labels' and the values' columns.
    const NARROWEST_COLUMN: f64 = 100.0;
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
    // Room on the right for the longest value, on the left for the longest row label.
    let values: Vec<String> = estimated
        .iter()
        .map(|&(_, ratio, ci_low, ci_high, _)| {
            format!("{} ({})", ratio_text(ratio), interval_text(ci_low, ci_high))
        })
        .collect();
    let widest_value = values
        .iter()
        .map(|value| text_width(value, font_size("value")))
        .fold(0.0, f64::max);
    let right = (widest_value + 8.0 + MARGIN).clamp(60.0, WIDTH - NARROWEST_COLUMN - SHORTEST_PLOT);
    let labels: Vec<String> = estimated.iter().map(|&(row, ..)| row_label(row)).collect();
    let left = label_column(
        labels.iter().map(String::as_str),
        "label",
        NARROWEST_COLUMN,
        WIDTH - right - SHORTEST_PLOT,
    );
    let plot = WIDTH - left - right;
    let x = |value: f64| {
        let clamped = value.clamp(low, high);
        left + plot * (clamped.ln() - low.ln()) / (high.ln() - low.ln())
    };
    let height = 44.0 + ROW * estimated.len() as f64;
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
    svg.line(left, bottom, left + plot, bottom, "axis");
    svg.text(
        left + plot,
        bottom + 30.0,
        Anchor::End,
        "tick",
        "rate during ÷ rate before (below 1: fewer)",
    );
    let plotted = estimated.iter().zip(labels.iter().zip(&values));
    for (i, (&(_, ratio, ci_low, ci_high, significant), (label, value))) in plotted.enumerate() {
        let y = 8.0 + ROW * i as f64 + ROW / 2.0;
        svg.text(left - 8.0, y + 4.0, Anchor::End, "label", label);
        let from = if ci_low > 0.0 { x(ci_low) } else { left };
        let to = ci_high.map_or(left + plot, x);
        svg.line(from, y, to, y, "whisker");
        if ci_low <= 0.0 {
            svg.path(
                &format!("M{} {}l6 -4v8z", coordinate(left), coordinate(y)),
                "whisker-end",
            );
        }
        if ci_high.is_none() {
            svg.path(
                &format!("M{} {}l-6 -4v8z", coordinate(left + plot), coordinate(y)),
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
            Some(_) => svg.circle(left, y, 4.5, mark),
            None => {}
        }
        svg.text(left + plot + 8.0, y + 4.0, Anchor::Start, "value", value);
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
    const RIGHT: f64 = 12.0;
    const TOP: f64 = 26.0;
    const BOTTOM: f64 = 34.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = days.len().max(1) as f64;
    let max_count = trend.daily.iter().copied().max().unwrap_or(0) as f64;
    let max_mean = trend
        .rolling_mean_7
        .iter()
        .flatten()
        .fold(0.0_f64, |a, &b| a.max(b));
    let y_max = nice_ceiling(max_count.max(max_mean));
    let ticks: Vec<(f64, String)> = [0.0, y_max / 2.0, y_max]
        .into_iter()
        .map(|value| (value, format!("{}", (value * 10.0).round() / 10.0)))
        .collect();
    // Room on the left for the widest count on the axis.
    let left = label_column(
        ticks.iter().map(|(_, text)| text.as_str()),
        "tick",
        48.0,
        WIDTH / 4.0,
    );
    let plot_w = WIDTH - left - RIGHT;
    let band = plot_w / n;
    let x_of = |position: f64| left + band * position;
    let y_of = |value: f64| TOP + plot_h * (1.0 - value / y_max);
    let mut svg = Svg::new(WIDTH, HEIGHT, "chart", title);
    svg.text(left, 14.0, Anchor::Start, "label", title);
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
    svg.line(left, TOP + plot_h, left + plot_w, TOP + plot_h, "axis");
    svg.line(left, TOP, left, TOP + plot_h, "axis");
    for (value, text) in &ticks {
        svg.text(left - GAP, y_of(*value) + 4.0, Anchor::End, "tick", text);
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
                Anchor::Start => x.min(left),
                Anchor::End => x.max(left + plot_w),
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
        // After the line, or before it when the start is too near the right edge.
        if x + 3.0 + text_width("start", font_size("marker")) <= WIDTH - MARGIN {
            svg.text(x + 3.0, TOP + 6.0, Anchor::Start, "marker", "start");
        } else {
            svg.text(x - 3.0, TOP + 6.0, Anchor::End, "marker", "start");
        }
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
        left + plot_w,
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
    let left = label_column(
        rows.iter().map(|row| row.name.as_str()),
        "label",
        120.0,
        WIDTH * 0.4,
    );
    let during_text = |row: &TollRow| {
        format!(
            "{} killed, {} injured",
            thousands(row.during.killed),
            thousands(row.during.injured),
        )
    };
    let values: Vec<String> = rows
        .iter()
        .map(|row| {
            format!(
                "{} (before: {}, {})",
                during_text(row),
                thousands(row.before.killed),
                thousands(row.before.injured)
            )
        })
        .collect();
    // The bars are as long as the longest value written after its bar lets them be.
    let plot = fitted_scale(
        WIDTH - left - 90.0,
        WIDTH - left - MARGIN,
        WIDTH * 0.2,
        rows.iter().zip(&values).map(|(row, value)| {
            (
                (row.during.killed + row.during.injured) as f64 / scale,
                text_width(value, font_size("value")),
            )
        }),
    );
    let height = 40.0 + ROW * rows.len() as f64;
    let mut svg = Svg::new(WIDTH, height, "chart", title);
    for (i, (row, value)) in rows.iter().zip(&values).enumerate() {
        let y = 6.0 + ROW * i as f64;
        svg.text(left - 8.0, y + 15.0, Anchor::End, "label", &row.name);
        let before = (row.before.killed + row.before.injured) as f64;
        svg.rect(left, y, plot * before / scale, 6.0, "harm-before");
        let killed = plot * row.during.killed as f64 / scale;
        let injured = plot * row.during.injured as f64 / scale;
        svg.rect(left, y + 8.0, killed, 14.0, "harm-killed");
        svg.rect(left + killed, y + 8.0, injured, 14.0, "harm-injured");
        // Counts too long for the room left say only what the thick bar shows.
        let value_x = left + killed + injured + GAP;
        if value_x + text_width(value, font_size("value")) <= WIDTH - MARGIN {
            svg.text(value_x, y + 19.0, Anchor::Start, "value", value);
        } else {
            svg.text(value_x, y + 19.0, Anchor::Start, "value", &during_text(row));
        }
    }
    let axis_y = 6.0 + ROW * rows.len() as f64;
    svg.line(left, axis_y, left + plot, axis_y, "axis");
    svg.text(left, axis_y + 14.0, Anchor::Middle, "tick", "0");
    svg.text(
        left + plot,
        axis_y + 14.0,
        Anchor::Middle,
        "tick",
        &thousands(scale as u64),
    );
    let key = "thick: under the agreement (dark: killed, light: injured); thin: before";
    let key_x = left
        .min(WIDTH - MARGIN - text_width(key, font_size("tick")))
        .max(MARGIN);
    svg.text(key_x, axis_y + 30.0, Anchor::Start, "tick", key);
    Some(svg.finish())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A `<text>` of a drawing and the box it is estimated to cover.
    #[derive(Debug)]
    pub(crate) struct DrawnText {
        /// Its CSS class.
        pub(crate) class: String,
        /// Its words, unescaped.
        pub(crate) content: String,
        /// Left, top, right, bottom.
        pub(crate) area: (f64, f64, f64, f64),
    }

    /// The value of attribute `name` in the markup of one start tag.
    fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
        let needle = format!(" {name}=\"");
        let from = tag.find(&needle)? + needle.len();
        let length = tag[from..].find('"')?;
        Some(&tag[from..from + length])
    }

    fn number(tag: &str, name: &str) -> f64 {
        attribute(tag, name)
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("no number {name} in {tag}"))
    }

    /// The width and height of the drawing's `viewBox` (which starts at 0 0 in every chart).
    pub(crate) fn view_box(svg: &str) -> (f64, f64) {
        let tag = &svg[..svg.find('>').unwrap_or(svg.len())];
        let numbers: Vec<f64> = attribute(tag, "viewBox")
            .unwrap_or_default()
            .split(' ')
            .filter_map(|n| n.parse().ok())
            .collect();
        assert_eq!(numbers.len(), 4, "no viewBox in {tag}");
        assert_eq!((numbers[0], numbers[1]), (0.0, 0.0), "{tag}");
        (numbers[2], numbers[3])
    }

    /// Every `<text>` of a drawing with its position, anchor and font size read back from the
    /// markup and its width estimated from its characters.
    pub(crate) fn drawn_texts(svg: &str) -> Vec<DrawnText> {
        let mut texts = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find("<text ") {
            rest = &rest[start..];
            let tag_end = rest.find('>').unwrap_or_else(|| panic!("unclosed {rest}"));
            let tag = &rest[..tag_end];
            let close = rest
                .find("</text>")
                .unwrap_or_else(|| panic!("unclosed {rest}"));
            let content = rest[tag_end + 1..close]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            let class = attribute(tag, "class").unwrap_or_default().to_owned();
            let anchor = match attribute(tag, "text-anchor") {
                Some("middle") => Anchor::Middle,
                Some("end") => Anchor::End,
                _ => Anchor::Start,
            };
            let area = text_extent(
                number(tag, "x"),
                number(tag, "y"),
                anchor,
                font_size(&class),
                &content,
            );
            texts.push(DrawnText {
                class,
                content,
                area,
            });
            rest = &rest[close..];
        }
        texts
    }

    /// What of the drawing's texts reaches out of the box `left, top, right, bottom`.
    pub(crate) fn texts_outside(
        texts: &[DrawnText],
        (left, top, right, bottom): (f64, f64, f64, f64),
    ) -> Vec<String> {
        texts
            .iter()
            .filter(|text| {
                let (l, t, r, b) = text.area;
                l < left || t < top || r > right || b > bottom
            })
            .map(|text| format!("{:?} at {:?}", text.content, text.area))
            .collect()
    }

    /// Panics naming every text of `svg` whose estimated box leaves the viewBox.
    pub(crate) fn assert_texts_inside(svg: &str) {
        let (width, height) = view_box(svg);
        let texts = drawn_texts(svg);
        assert!(!texts.is_empty(), "no text in {svg}");
        let outside = texts_outside(&texts, (0.0, 0.0, width, height));
        assert!(outside.is_empty(), "{outside:#?}\nin {svg}");
    }

    #[test]
    fn width_estimates_are_no_narrower_than_the_browser_draws() {
        // Widths Chromium gives these at font-size 10 in DejaVu Sans, the widest of the usual
        // system fonts (SVGTextContentElement.getComputedTextLength).
        let measured = [
            ("1 killed, 4 injured (before: 0, 0)", 155.5),
            ("∞ or undefined (0.0154–∞)", 134.5),
            ("Sudzha", 36.8),
            ("RU · civilian residential", 114.5),
            ("Kharkiv (UA-63)", 78.9),
            ("Дніпропетровськ", 90.5),
            ("ШШШШШШШШШШ", 106.9),
            ("MMMMMMMMMM", 86.3),
            ("WWWWWWWWWW", 98.9),
            ("mmmmmmmmmm", 97.4),
            ("0000000000", 63.6),
            ("ЖЖЖЖЖЖЖЖЖЖ", 107.7),
            ("%%%%%%%%%%", 95.0),
            ("——————————", 100.0),
        ];
        for (text, width) in measured {
            let estimate = text_width(text, 10.0);
            assert!(estimate >= width, "{text:?}: {estimate} < {width}");
            // Generous, not wasteful: ordinary text is not given half as much again.
            assert!(estimate <= width * 1.5, "{text:?}: {estimate} ≫ {width}");
        }
        assert_eq!(text_width("", 10.0), 0.0);
        assert_eq!(text_width("ab", 20.0), 2.0 * text_width("ab", 10.0));
    }

    #[test]
    fn texts_too_long_for_the_drawing_are_cut_short() {
        assert_eq!(shortened("short", 10.0, 100.0).as_deref(), Some("short"));
        let cut = shortened("a rather long label indeed", 10.0, 60.0).unwrap_or_default();
        assert!(
            cut.ends_with('…') && text_width(&cut, 10.0) <= 60.0,
            "{cut}"
        );
        assert_eq!(shortened("anything", 10.0, 5.0), None);

        let mut svg = Svg::new(100.0, 20.0, "chart", "t");
        svg.text(90.0, 15.0, Anchor::Start, "tick", "cut off here");
        svg.text(10.0, 15.0, Anchor::End, "tick", "gone");
        svg.text(50.0, 15.0, Anchor::Middle, "tick", "fits");
        let out = svg.finish();
        assert!(!out.contains("gone"), "{out}");
        assert!(out.contains(">fits</text>"), "{out}");
        assert_texts_inside(&out);
    }

    #[test]
    fn the_text_reader_sees_what_was_written() {
        let mut svg = Svg::new(200.0, 40.0, "chart", "t");
        svg.text(100.0, 20.0, Anchor::Middle, "value", "R&D <x>");
        let texts = drawn_texts(&svg.finish());
        assert_eq!(texts.len(), 1);
        assert_eq!(texts[0].content, "R&D <x>");
        assert_eq!(texts[0].class, "value");
        let width = text_width("R&D <x>", 11.0);
        let (left, top, right, bottom) = texts[0].area;
        assert!((left - (100.0 - width / 2.0)).abs() < 1e-9);
        assert!((right - left - width).abs() < 1e-9);
        assert!(top < 20.0 - 10.0 && bottom > 20.0 + 2.0);
        // A text past the edge is found.
        let wide = "<svg viewBox=\"0 0 50 20\"><text class=\"tick\" x=\"40\" y=\"15\" \
                    text-anchor=\"start\">cut</text></svg>";
        let outside = texts_outside(&drawn_texts(wide), (0.0, 0.0, 50.0, 20.0));
        assert_eq!(outside.len(), 1, "{outside:?}");
    }

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
        let mut svg = Svg::new(100.0, 10.0, "chart", "a <b>");
        svg.text(50.0, 2.0, Anchor::Middle, "label", "R&D <x>");
        svg.rect(0.0, 0.0, -5.0, 3.0, "bar");
        let out = svg.finish();
        assert_eq!(
            out,
            "<svg class=\"chart\" viewBox=\"0 0 100 10\" role=\"img\"><title>a &lt;b&gt;</title><text class=\"label\" x=\"50\" y=\"2\" \
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
        let left_edge = svg
            .split("<path class=\"whisker-end\" d=\"M")
            .nth(1)
            .and_then(|d| d.split(' ').next())
            .unwrap_or("none");
        assert!(
            svg.contains(&format!("<circle class=\"estimate\" cx=\"{left_edge}\"")),
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

    /// A name longer than any chart has room for.
    const VERY_LONG: &str = "Autonomous Republic of an Improbably Long Name and its Surrounding \
                             Districts, Municipalities and Settlements (XX-99)";

    fn counts(violation: u64, undetermined: u64) -> crate::figures::VerdictCounts {
        crate::figures::VerdictCounts {
            violation,
            undetermined,
            ..Default::default()
        }
    }

    fn headline(parties: &[(&str, u64)]) -> Headline {
        Headline {
            parties: parties
                .iter()
                .map(|&(party, violations)| crate::figures::PartyHeadline {
                    party: party.to_owned(),
                    name: party.to_owned(),
                    counts: counts(violations, violations / 3),
                    by_rule: Vec::new(),
                })
                .collect(),
            total: counts(0, 0),
            undetermined: crate::figures::UndeterminedShare {
                undetermined: 0,
                considered: 0,
                percent: None,
                missing: Vec::new(),
            },
        }
    }

    #[test]
    fn verdict_bars_keep_every_label_inside() {
        let svg = verdict_bars(&headline(&[
            ("RU", 12),
            ("UA", 7),
            (VERY_LONG, 3),
            ("unattributed", 123_456_789_012),
        ]));
        assert_texts_inside(&svg);
        // The count after the longest bar is written out in full.
        assert!(svg.contains(">164,609,052,016</text>"), "{svg}");
        let svg = verdict_bars(&headline(&[("RU", 12), ("UA", 7)]));
        assert_texts_inside(&svg);
        assert!(
            svg.contains(">RU</text>") && svg.contains(">16</text>"),
            "{svg}"
        );
    }

    fn estimated(
        party: &str,
        category: Option<&str>,
        ratio: Option<f64>,
        ci_low: f64,
        ci_high: Option<f64>,
    ) -> TruceTestRow {
        TruceTestRow {
            party: Some(party.to_owned()),
            category: category.map(str::to_owned),
            ..row(TestOutcome::Estimated {
                ratio,
                ci_low,
                ci_high,
                p_value: 0.5,
                significant: false,
                phrase: String::new(),
            })
        }
    }

    #[test]
    fn forest_plot_keeps_every_label_inside() {
        let rows = [
            estimated("RU", None, Some(0.42), 0.21, Some(0.8)),
            // The easter-truce case: nothing before, an open interval.
            estimated("UA", Some("energy_infrastructure"), None, 0.0154, None),
            estimated(VERY_LONG, Some(VERY_LONG), Some(123.456), 0.000_012_3, None),
            estimated("B", None, Some(0.0), 0.0, Some(0.000_987_654)),
        ];
        let svg = forest_plot(&rows).unwrap_or_default();
        assert_texts_inside(&svg);
        for value in ["∞ or undefined (0.0154–∞)", "0.42 (0.21–0.8)"] {
            assert!(
                svg.contains(&format!(">{value}</text>")),
                "{value} in {svg}"
            );
        }
        assert!(svg.contains(">UA · energy infrastructure</text>"), "{svg}");
        let svg = forest_plot(&rows[1..2]).unwrap_or_default();
        assert_texts_inside(&svg);
        assert!(svg.contains(">∞ or undefined (0.0154–∞)</text>"), "{svg}");
    }

    #[test]
    fn daily_chart_keeps_every_label_inside() {
        let days: Vec<Date> = (0..40)
            .map(|i| {
                Date::constant(2025, 3, 1)
                    .checked_add(jiff::Span::new().days(i))
                    .unwrap_or_default()
            })
            .collect();
        let mut daily = vec![3; days.len()];
        daily[5] = 9_876_543_210;
        let trend = Trend {
            party: Some(VERY_LONG.to_owned()),
            // Late on the last day: the marker's word turns to the left of its line.
            bound_from: "2025-04-09T23:00:00Z".parse().ok(),
            daily,
            rolling_mean_7: vec![Some(1_234_567.5); days.len()],
            week_on_week: None,
            change_points: Vec::new(),
        };
        let title = format!("Prohibited acts per day, {VERY_LONG}, {VERY_LONG}");
        let svg = daily_chart(&trend, &days, &TimeZone::UTC, &title);
        assert_texts_inside(&svg);
        assert!(svg.contains(">start</text>"), "{svg}");
        assert!(svg.contains(">10000000000</text>"), "{svg}");
    }

    fn toll(name: &str, killed: u64, injured: u64, before: u64) -> TollRow {
        TollRow {
            key: name.to_owned(),
            name: name.to_owned(),
            before: crate::figures::Harm {
                killed: before,
                injured: before,
                incidents: 1,
            },
            during: crate::figures::Harm {
                killed,
                injured,
                incidents: 1,
            },
        }
    }

    #[test]
    fn harm_bars_keep_every_label_inside() {
        // The examples' case: the longest bar carries the longest label.
        let rows = [
            toll("Donetsk (UA-14)", 1, 4, 0),
            toll("Kharkiv (UA-63)", 0, 3, 0),
        ];
        let svg = harm_bars(&rows, "t").unwrap_or_default();
        assert_texts_inside(&svg);
        assert!(
            svg.contains(">1 killed, 4 injured (before: 0, 0)</text>"),
            "{svg}"
        );
        let rows = [
            toll(VERY_LONG, 1_234_567_890, 9_876_543_210, 7_777_777_777),
            toll("Kharkiv (UA-63)", 0, 3, 12_345_678_901),
            toll("Sumy (UA-59)", 0, 0, 0),
        ];
        let svg = harm_bars(&rows, "t").unwrap_or_default();
        assert_texts_inside(&svg);
        // Counts too long to fit in full leave out the before, which the thin bar shows.
        assert!(
            svg.contains(">1,234,567,890 killed, 9,876,543,210 injured</text>"),
            "{svg}"
        );
        assert!(
            svg.contains(">0 killed, 3 injured (before: 12,345,678,901, 12,345,678,901)</text>"),
            "{svg}"
        );
    }
}
