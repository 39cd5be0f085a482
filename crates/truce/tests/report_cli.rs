//! End-to-end tests of `truce report`: the real binary on the shipped examples.
#![allow(clippy::unwrap_used)] // test helpers may panic: that is a test failure

mod common;
use common::{example, ok, truce};

/// Checks that every tag of an HTML page is closed in order (void and self-closing
/// elements aside); returns the first problem.
fn balanced(html: &str) -> Result<(), String> {
    const VOID: [&str; 4] = ["meta", "br", "hr", "img"];
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        let end = rest.find('>').ok_or("a tag is never closed with `>`")?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if let Some(closing) = tag.strip_prefix('/') {
            match open.pop() {
                Some(top) if top == closing.trim() => {}
                other => return Err(format!("`</{closing}>` closes {other:?}")),
            }
        } else if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
            open.push(name);
        }
    }
    if open.is_empty() {
        Ok(())
    } else {
        Err(format!("never closed: {open:?}"))
    }
}

/// Every value of `attribute="..."` in the page.
fn attribute_values<'h>(html: &'h str, attribute: &str) -> Vec<&'h str> {
    let needle = format!(" {attribute}=\"");
    html.match_indices(&needle)
        .filter_map(|(at, _)| {
            let value = &html[at + needle.len()..];
            value.find('"').map(|end| &value[..end])
        })
        .collect()
}

#[test]
fn front_line_html_is_self_contained_and_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let (a, r) = example("front-line-30-day-2025");
    ok(&[
        "report",
        &a,
        &r,
        "--baseline-days",
        "30",
        "--out",
        out.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Nothing is fetched: no scripts, no sources, no style imports, and links only within
    // the page.
    assert!(!html.contains("<script"));
    assert!(attribute_values(&html, "src").is_empty());
    assert!(!html.contains("@import"));
    let hrefs = attribute_values(&html, "href");
    assert!(!hrefs.is_empty());
    assert!(hrefs.iter().all(|h| h.starts_with('#')), "{hrefs:?}");
    for reference in html.match_indices("url(").map(|(at, _)| &html[at..at + 5]) {
        assert_eq!(reference, "url(#");
    }
    // Web addresses may only appear in plain text (citations), never in markup.
    for (at, _) in html.match_indices("http") {
        let before = &html[..at];
        let in_tag = before.rfind('<') > before.rfind('>');
        assert!(!in_tag, "a web address inside a tag at byte {at}");
    }
    // Well formed: every SVG closed, every tag balanced; the map and the charts are there.
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    assert_eq!(balanced(&html), Ok(()));
    assert!(html.contains("class=\"map\""));
    assert!(html.contains("Boundaries: Natural Earth. Places: GeoNames (CC BY 4.0)."));
    assert!(html.contains("<li>Prohibited acts fell by 80% (95% CI 78–82%).</li>"));
    assert!(!html.contains("NaN"));
}

#[test]
fn the_format_follows_the_extension_of_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("figures.json");
    let (a, r) = example("easter-truce-2025");
    ok(&["report", &a, &r, "-o", out.to_str().unwrap()]);
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(value["format"], "truce-report/1");
    // The same report-set digest as `truce assess` prints.
    let assessed: serde_json::Value =
        serde_json::from_str(&ok(&["assess", &a, &r, "--format", "json"])).unwrap();
    assert_eq!(
        value["inputs"]["reports_sha256"],
        assessed["inputs"]["reports_sha256"]
    );
    assert_eq!(
        value["inputs"]["agreements"][0]["sha256"],
        assessed["inputs"]["agreement_sha256"]
    );
}

#[test]
fn front_line_markdown() {
    let (a, r) = example("front-line-30-day-2025");
    insta::assert_snapshot!(ok(&["report", &a, &r, "--list-limit", "5"]));
}

#[test]
fn front_line_json() {
    let (a, r) = example("front-line-30-day-2025");
    insta::assert_snapshot!(ok(&[
        "report",
        &a,
        &r,
        "--format",
        "json",
        "--list-limit",
        "5"
    ]));
}

#[test]
fn energy_moratorium_markdown_every_reading() {
    let (a, r) = example("energy-moratorium-2025");
    insta::assert_snapshot!(ok(&["report", &a, &r, "--interpretation", "all"]));
}

#[test]
fn energy_moratorium_json_every_reading() {
    let (a, r) = example("energy-moratorium-2025");
    insta::assert_snapshot!(ok(&[
        "report",
        &a,
        &r,
        "--interpretation",
        "all",
        "--format",
        "json"
    ]));
}

#[test]
fn several_agreements_side_by_side() {
    let (front, reports) = example("front-line-30-day-2025");
    let (easter, _) = example("easter-truce-2025");
    let text = ok(&[
        "report",
        "--agreement",
        &front,
        "--agreement",
        &easter,
        &reports,
        "--format",
        "json",
        "--list-limit",
        "1",
    ]);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let readings = value["readings"].as_array().unwrap();
    assert_eq!(readings.len(), 2);
    assert_eq!(value["inputs"]["agreements"].as_array().unwrap().len(), 2);
    assert_eq!(
        value["comparison"]["readings"][1],
        "easter-truce-2025 v1 (common)"
    );
    // The days are those of the primary agreement (UTC), not the second's (Moscow).
    assert_eq!(value["period"]["time_zone"], "UTC");
}

#[test]
fn until_and_bad_arguments() {
    let (a, r) = example("front-line-30-day-2025");
    let text = ok(&[
        "report",
        &a,
        &r,
        "--until",
        "2025-03-20",
        "--format",
        "json",
        "--list-limit",
        "0",
    ]);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["period"]["end"], "2025-03-21T00:00:00Z");
    assert_eq!(
        value["readings"][0]["truce_test"]["rows"][0]["during"]["days"],
        10.0
    );

    let out = truce(&["report", &a, &r, "--until", "soon"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--until: `soon`"));
    let out = truce(&["report", &a]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least one report file"));
    let out = truce(&["report", &a, &r, "--interpretation", "XX"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`XX` is not one of common"));
}
