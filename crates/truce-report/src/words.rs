//! Words and numbers for readers, shared by the renderers.

use truce_model::TargetKind;

use crate::figures::TestOutcome;

/// What a target category is called in sentences: "energy infrastructure".
pub(crate) fn target_phrase(category: &str) -> String {
    match category.parse::<TargetKind>() {
        Ok(TargetKind::Energy) => "energy infrastructure".to_owned(),
        Ok(TargetKind::Maritime) => "ports, ships and navigation".to_owned(),
        Ok(TargetKind::CivilianResidential) => "homes and residential areas".to_owned(),
        Ok(TargetKind::CivilianInfrastructure) => "civilian infrastructure".to_owned(),
        Ok(TargetKind::Medical) => "medical facilities".to_owned(),
        Ok(TargetKind::Education) => "schools and places of education".to_owned(),
        Ok(TargetKind::Transport) => "transport".to_owned(),
        Ok(TargetKind::Military) => "military targets".to_owned(),
        Ok(TargetKind::Unknown) => "targets the reports do not name".to_owned(),
        Err(_) => category.replace('_', " "),
    }
}

/// The subject of a truce-test sentence: "prohibited acts attributed to RU against energy
/// infrastructure".
pub(crate) fn test_subject(party: Option<&str>, category: Option<&str>) -> String {
    let mut subject = "prohibited acts".to_owned();
    if let Some(party) = party {
        subject.push_str(" attributed to ");
        subject.push_str(party);
    }
    if let Some(category) = category {
        subject.push_str(" against ");
        subject.push_str(&target_phrase(category));
    }
    subject
}

/// A count with thin groups of thousands: `4,840`.
pub(crate) fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `x` rounded to `digits` significant digits (at least 1), as the nearest `f64` to that
/// decimal; 0 and non-finite values unchanged.
pub(crate) fn round_significant(x: f64, digits: usize) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let text = format!("{:.*e}", digits.max(1) - 1, x);
    text.parse().unwrap_or(x)
}

/// A ratio for tables: three significant digits, `none` for an undefined one.
pub(crate) fn ratio_text(ratio: Option<f64>) -> String {
    match ratio {
        Some(value) => format!("{}", round_significant(value, 3)),
        None => "∞ or undefined".to_owned(),
    }
}

/// The interval of an outcome for tables: `0.21–0.40`, `0–0.097`, `1.25–∞`.
pub(crate) fn interval_text(low: f64, high: Option<f64>) -> String {
    let high = match high {
        Some(value) => format!("{}", round_significant(value, 3)),
        None => "∞".to_owned(),
    };
    format!("{}–{high}", round_significant(low, 3))
}

/// A p-value for tables: `< 0.0001` below that, else four decimals at most.
pub(crate) fn p_value_text(p: f64) -> String {
    if p < 1e-4 {
        "< 0.0001".to_owned()
    } else {
        format!("{}", (p * 10_000.0).round() / 10_000.0)
    }
}

/// The cells of an outcome: ratio, interval, p-value, and the sentence.
pub(crate) fn outcome_cells(outcome: &TestOutcome) -> [String; 4] {
    match outcome {
        TestOutcome::Estimated {
            ratio,
            ci_low,
            ci_high,
            p_value,
            phrase,
            ..
        } => [
            ratio_text(*ratio),
            interval_text(*ci_low, *ci_high),
            p_value_text(*p_value),
            phrase.clone(),
        ],
        TestOutcome::NotEstimated { reason } => [
            "–".to_owned(),
            "–".to_owned(),
            "–".to_owned(),
            reason.clone(),
        ],
    }
}

/// The sentence of an outcome (the phrase, or why there is none).
pub(crate) fn outcome_sentence(outcome: &TestOutcome) -> &str {
    match outcome {
        TestOutcome::Estimated { phrase, .. } => phrase,
        TestOutcome::NotEstimated { reason } => reason,
    }
}

/// A share as a percentage with one decimal: `12.5%`, `–` when undefined.
pub(crate) fn percent_text(percent: Option<f64>) -> String {
    match percent {
        Some(value) => format!("{value:.1}%"),
        None => "–".to_owned(),
    }
}

/// Which aspect an undetermined finding's "missing" entry is about: `attribution`,
/// `time`, `target`, `place`, `exception`, or `other`. The engine writes each entry as the
/// aspect, a colon and the detail (`place: ...`), except exceptions (`whether exception E1
/// applies`).
pub(crate) fn missing_aspect(missing: &str) -> &'static str {
    let head = missing.split(':').next().unwrap_or_default().trim();
    match head {
        "attribution" => "attribution",
        "time" => "time",
        "target" => "target",
        "place" => "place",
        _ if missing.starts_with("whether exception") => "exception",
        _ => "other",
    }
}

/// What a missing aspect means, for readers.
pub(crate) fn missing_meaning(aspect: &str) -> &'static str {
    match aspect {
        "attribution" => "no report says which party did it",
        "time" => "the time straddles the edge of the agreement's window",
        "target" => "what was hit is not known (or may be a protected site)",
        "place" => "the location's uncertainty straddles a zone boundary",
        "exception" => "an exception may apply",
        _ => "other",
    }
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Text for one Markdown table cell: pipes escaped, line breaks as spaces.
pub(crate) fn markdown_cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_by_hand() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(4_840), "4,840");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn significant_rounding_by_hand() {
        assert_eq!(round_significant(0.123_456, 3), 0.123);
        assert_eq!(round_significant(123_456.0, 2), 120_000.0);
        assert_eq!(round_significant(-0.000_987_65, 2), -0.000_99);
        assert_eq!(round_significant(0.0, 3), 0.0);
        assert!(round_significant(f64::INFINITY, 3).is_infinite());
        assert_eq!(round_significant(1e-300, 4), 1e-300);
    }

    #[test]
    fn table_texts() {
        assert_eq!(ratio_text(Some(0.28571)), "0.286");
        assert_eq!(ratio_text(None), "∞ or undefined");
        assert_eq!(interval_text(0.2, Some(0.4)), "0.2–0.4");
        assert_eq!(interval_text(1.25, None), "1.25–∞");
        assert_eq!(p_value_text(0.000_01), "< 0.0001");
        assert_eq!(p_value_text(0.123_456), "0.1235");
        assert_eq!(p_value_text(1.0), "1");
        assert_eq!(percent_text(Some(12.34)), "12.3%");
        assert_eq!(percent_text(None), "–");
    }

    #[test]
    fn subjects() {
        assert_eq!(test_subject(None, None), "prohibited acts");
        assert_eq!(
            test_subject(Some("RU"), Some("energy")),
            "prohibited acts attributed to RU against energy infrastructure"
        );
        assert_eq!(target_phrase("not_a_category"), "not a category");
    }

    #[test]
    fn missing_aspects_of_the_engine_texts() {
        assert_eq!(
            missing_aspect("attribution: no report says which party did it"),
            "attribution"
        );
        assert_eq!(
            missing_aspect("place: (37.1000, 48.2000) ± 5000 m straddles zone `front`"),
            "place"
        );
        assert_eq!(
            missing_aspect("time: the act's time (x) straddles the edge of the window"),
            "time"
        );
        assert_eq!(
            missing_aspect("target: the reports do not say what was hit"),
            "target"
        );
        assert_eq!(missing_aspect("whether exception E1 applies"), "exception");
        assert_eq!(missing_aspect("something new"), "other");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            html_escape("<a href=\"x\">R&D's</a>"),
            "&lt;a href=&quot;x&quot;&gt;R&amp;D&#39;s&lt;/a&gt;"
        );
        assert_eq!(markdown_cell("a|b\nc"), "a\\|b c");
    }
}
