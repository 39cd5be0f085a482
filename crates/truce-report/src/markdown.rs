//! The report as Markdown: every table and sentence of the HTML page, without the drawings.

use std::fmt::Write as _;

use crate::document::{Align, Block, Inline, build};
use crate::figures::ComplianceReport;
use crate::words::markdown_cell;

fn inline(out: &mut String, runs: &[Inline]) {
    for run in runs {
        match run {
            Inline::Text(text) => out.push_str(text),
            Inline::Strong(text) => {
                let _ = write!(out, "**{}**", text.trim_end());
                if text.ends_with(' ') {
                    out.push(' ');
                }
            }
            Inline::Code(text) => {
                let _ = write!(out, "`{text}`");
            }
        }
    }
}

/// The Markdown text.
pub(crate) fn render_markdown(report: &ComplianceReport) -> String {
    // Without drawings nothing reads the geography, so building cannot fail; an error would
    // still be reported in the text rather than lost.
    let blocks = match build(report, false) {
        Ok(blocks) => blocks,
        Err(error) => return format!("# Compliance report\n\nerror: {error}\n"),
    };
    let mut out = String::new();
    for block in &blocks {
        match block {
            Block::Heading { level, text, .. } => {
                let _ = writeln!(out, "{} {text}\n", "#".repeat(usize::from(*level)));
            }
            Block::Paragraph(runs) => {
                inline(&mut out, runs);
                out.push_str("\n\n");
            }
            Block::Caveat(text) => {
                let _ = writeln!(out, "> **Caveat.** {text}\n");
            }
            Block::List(items) => {
                for item in items {
                    out.push_str("- ");
                    inline(&mut out, &item.text);
                    out.push('\n');
                    for detail in &item.details {
                        let _ = writeln!(out, "  - {detail}");
                    }
                }
                out.push('\n');
            }
            Block::Table { head, rows } => {
                out.push('|');
                for (title, _) in head {
                    let _ = write!(out, " {} |", markdown_cell(title));
                }
                out.push_str("\n|");
                for (_, align) in head {
                    out.push_str(if *align == Align::Right {
                        "---:|"
                    } else {
                        "---|"
                    });
                }
                out.push('\n');
                for row in rows {
                    out.push('|');
                    for cell in row {
                        let _ = write!(out, " {} |", markdown_cell(cell));
                    }
                    out.push('\n');
                }
                out.push('\n');
            }
            Block::Code(text) => {
                let _ = writeln!(out, "```text\n{}\n```\n", text.trim_end());
            }
            Block::Figure { caption, .. } => {
                let _ = writeln!(out, "*{caption}* (drawn in the HTML rendering)\n");
            }
        }
    }
    out
}
