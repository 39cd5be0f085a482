//! The report as one self-contained HTML page: inline CSS and SVG, no scripts, no fonts or
//! images fetched, readable in print.

use std::fmt::Write as _;

use crate::document::{Align, Block, Inline, SECTIONS, build};
use crate::error::ReportError;
use crate::figures::ComplianceReport;
use crate::words::html_escape;

/// The page's style sheet: system fonts, print rules, and the colours of the charts.
const STYLE: &str = r#"
:root { --ink: #1b1b1b; --muted: #5a5a5a; --rule: #d0d0d0; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
  color: var(--ink); max-width: 1000px; margin: 0 auto; padding: 24px; }
h1 { font-size: 1.7em; margin: 0 0 .3em; }
h2 { border-bottom: 2px solid var(--ink); padding-bottom: 2px; margin-top: 2.2em; }
h3 { margin-top: 1.6em; }
nav ol { columns: 2; padding-left: 1.2em; }
/* A table wider than the screen scrolls by itself: the page never scrolls sideways. */
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .9em; display: block; overflow-x: auto; }
th, td { border-bottom: 1px solid var(--rule); padding: 3px 8px; text-align: left; vertical-align: top; }
th { border-bottom: 2px solid var(--muted); }
.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font-size: .88em; word-break: break-all; }
pre { background: #f6f6f4; padding: .6em .9em; overflow-x: auto; }
pre code { word-break: normal; }
.caveat { border-left: 4px solid #b2182b; background: #fbf3f2; padding: .5em .9em; }
figure { margin: 1em 0 1.6em; }
figcaption { color: var(--muted); font-size: .9em; }
ul.reasons { color: var(--muted); font-size: .92em; margin-bottom: .5em; }
svg { width: 100%; height: auto; display: block; }
svg text { font-family: inherit; }
svg .label { font-size: 12px; fill: #1b1b1b; }
svg .tick { font-size: 10px; fill: #5a5a5a; }
svg .value { font-size: 11px; fill: #1b1b1b; }
svg .marker { font-size: 10px; fill: #7a0019; }
.axis { stroke: #888; stroke-width: 1; }
.reference { stroke: #1b1b1b; stroke-dasharray: 3 3; }
.bar { fill: #9ab0c8; }
.mean { fill: none; stroke: #1f3b73; stroke-width: 2; }
.start { stroke: #7a0019; stroke-width: 1.5; stroke-dasharray: 5 3; }
.change { stroke: #d95f02; stroke-width: 1.2; stroke-dasharray: 2 2; }
.change-mark { fill: #d95f02; }
.whisker { stroke: #1b1b1b; stroke-width: 1.5; }
.whisker-end { fill: #1b1b1b; }
.estimate { fill: #1b1b1b; }
.estimate.ns { fill: #fff; stroke: #1b1b1b; stroke-width: 1.5; }
.v-violation { fill: #b2182b; }
.v-disputed { fill: #7b3294; }
.v-alleged { fill: #ef8a62; }
.v-undetermined { fill: #9e9e9e; }
.v-no_violation { fill: #92c5de; }
.dot { stroke: #fff; stroke-width: .6; }
.cell.d1 { opacity: .35; } .cell.d2 { opacity: .55; } .cell.d3 { opacity: .75; } .cell.d4 { opacity: .95; }
.harm-killed { fill: #7a0019; }
.harm-injured { fill: #e08a8a; }
.harm-before { fill: #9e9e9e; }
.sea { fill: #eef4f8; }
.land { fill: #f4f2ee; stroke: #b8b2a8; stroke-width: .6; }
.border-region { fill: #ece8e2; stroke: #a39d92; stroke-width: .5; }
.ua-region { fill: #fbfaf7; stroke: #9c9a93; stroke-width: .5; }
.zone { fill: #d73027; fill-opacity: .1; stroke: #d73027; stroke-width: 1; stroke-dasharray: 4 2; }
.front-line { fill: none; stroke: #3d3d3d; stroke-width: 2; stroke-dasharray: 6 3; }
.city { fill: #333; }
svg .city-label { font-size: 10px; fill: #333; }
.frame { fill: none; stroke: #888; }
.scale { stroke: #333; stroke-width: 2; }
.scale-box { fill: #fff; fill-opacity: .8; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  nav { display: none; }
  h2 { break-after: avoid; }
  figure, tr { break-inside: avoid; }
  /* Paper does not scroll: tables fit the page, column titles wrap and the last text
     column (file digests) breaks where it must. */
  table { display: table; }
  th.n { white-space: normal; }
  td:last-child:not(.n) { overflow-wrap: anywhere; }
  a { color: inherit; text-decoration: none; }
}
"#;

fn inline(out: &mut String, runs: &[Inline]) {
    for run in runs {
        match run {
            Inline::Text(text) => out.push_str(&html_escape(text)),
            Inline::Strong(text) => {
                let _ = write!(out, "<strong>{}</strong>", html_escape(text));
            }
            Inline::Code(text) => {
                let _ = write!(out, "<code>{}</code>", html_escape(text));
            }
        }
    }
}

/// The page.
pub(crate) fn render_html(report: &ComplianceReport) -> Result<String, ReportError> {
    let blocks = build(report, true)?;
    let title = blocks
        .iter()
        .find_map(|block| match block {
            Block::Heading { level: 1, text, .. } => Some(text.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "Compliance report".to_owned());
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        html_escape(&title)
    );
    let mut nav_written = false;
    for block in &blocks {
        match block {
            Block::Heading {
                level,
                anchor,
                text,
            } => {
                if *level == 2 && !nav_written {
                    out.push_str("<nav><strong>Contents</strong><ol>");
                    for (anchor, name) in SECTIONS {
                        let _ = write!(
                            out,
                            "<li><a href=\"#{anchor}\">{}</a></li>",
                            html_escape(name)
                        );
                    }
                    out.push_str("</ol></nav>\n");
                    nav_written = true;
                }
                match anchor {
                    Some(anchor) => {
                        let _ = writeln!(
                            out,
                            "<h{level} id=\"{anchor}\">{}</h{level}>",
                            html_escape(text)
                        );
                    }
                    None => {
                        let _ = writeln!(out, "<h{level}>{}</h{level}>", html_escape(text));
                    }
                }
            }
            Block::Paragraph(runs) => {
                out.push_str("<p>");
                inline(&mut out, runs);
                out.push_str("</p>\n");
            }
            Block::Caveat(text) => {
                let _ = writeln!(out, "<p class=\"caveat\">{}</p>", html_escape(text));
            }
            Block::List(items) => {
                out.push_str("<ul>\n");
                for item in items {
                    out.push_str("<li>");
                    inline(&mut out, &item.text);
                    if !item.details.is_empty() {
                        out.push_str("<ul class=\"reasons\">");
                        for detail in &item.details {
                            let _ = write!(out, "<li>{}</li>", html_escape(detail));
                        }
                        out.push_str("</ul>");
                    }
                    out.push_str("</li>\n");
                }
                out.push_str("</ul>\n");
            }
            Block::Table { head, rows } => {
                out.push_str("<table>\n<thead><tr>");
                for (title, align) in head {
                    let class = if *align == Align::Right {
                        " class=\"n\""
                    } else {
                        ""
                    };
                    let _ = write!(out, "<th{class}>{}</th>", html_escape(title));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for (i, cell) in row.iter().enumerate() {
                        let numeric = head.get(i).is_some_and(|(_, a)| *a == Align::Right);
                        let class = if numeric { " class=\"n\"" } else { "" };
                        let _ = write!(out, "<td{class}>{}</td>", html_escape(cell));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
            Block::Code(text) => {
                let _ = writeln!(out, "<pre><code>{}</code></pre>", html_escape(text));
            }
            Block::Figure { svg, caption } => {
                let _ = writeln!(
                    out,
                    "<figure>{svg}<figcaption>{}</figcaption></figure>",
                    html_escape(caption)
                );
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    Ok(out)
}
