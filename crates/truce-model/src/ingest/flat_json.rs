//! A JSON Lines object read straight into its report fields, without a `serde_json::Value`.
//!
//! Read as a [`serde_json::Value`], a line of twenty fields costs a map, a `String` for every
//! key and most values, and their freeing: about two thirds of the time a million simulated
//! lines took. [`FlatLine`] keeps one slot per report field instead, holding strings borrowed
//! from the line where they have no escapes.
//!
//! It serves only the common case, a line that becomes a report with nothing to reject. Any
//! line it does not take as it stands (not an object, a key that is not a report field or that
//! holds an escape, a key given twice, a value of another JSON type than the field takes, a
//! problem found while building the report) is read again through the `Value` path
//! ([`super::jsonl`]), which names every problem as before. So the fast path changes no
//! message and no report: where both read a line, they read the same values with the same
//! rules, which a property test checks.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

use crate::ingest::fields::{Field, Problem, RecordFields, RowIssues, build_report};
use crate::ingest::options::IngestOptions;
use crate::ingest::sources::SourceCache;
use crate::report::Report;

/// A value the fast path takes: what the `Value` path accepts for some report field.
#[derive(Debug, Clone, PartialEq)]
enum Flat<'a> {
    Null,
    Text(Cow<'a, str>),
    Number(Number),
    Texts(Vec<Cow<'a, str>>),
}

/// One slot per report field ([`Field::index`]); `None` where the key is absent.
#[derive(Debug, Default)]
struct FlatLine<'a> {
    values: [Option<Flat<'a>>; Field::ALL.len()],
}

/// A report from `line` when it is an object the fast path takes and builds a report with
/// nothing to reject; `None` sends the line to the `Value` path.
pub(crate) fn accepted_report(
    file: &str,
    line: &str,
    row: u64,
    options: &IngestOptions,
    sources: &mut SourceCache,
) -> Option<Report> {
    let flat: FlatLine<'_> = serde_json::from_str(line).ok()?;
    let mut issues = RowIssues::new(file, row);
    let report = build_report(&flat, options, sources, &mut issues)?;
    issues.is_clean().then_some(report)
}

impl FlatLine<'_> {
    /// The value of `field`, a JSON null read as absent.
    fn value(&self, field: Field) -> Option<&Flat<'_>> {
        self.values[field.index()]
            .as_ref()
            .filter(|value| **value != Flat::Null)
    }
}

/// What a problem found here says: never shown, since the line is then read again through
/// the `Value` path, which says it properly.
fn refused() -> Problem {
    Problem::new(String::new(), "read again")
}

impl RecordFields for FlatLine<'_> {
    fn column(&self, field: Field) -> String {
        format!("$.{}", field.name())
    }

    fn is_present(&self, field: Field) -> bool {
        self.value(field).is_some()
    }

    fn raw(&self, field: Field) -> Option<String> {
        self.value(field).map(|value| match value {
            Flat::Text(text) => text.to_string(),
            Flat::Number(number) => number.to_string(),
            Flat::Null | Flat::Texts(_) => String::new(),
        })
    }

    fn text(&self, field: Field) -> Result<Option<Cow<'_, str>>, Problem> {
        match self.value(field) {
            None => Ok(None),
            Some(Flat::Text(text)) => Ok(Some(Cow::Borrowed(text.as_ref()))),
            // Numeric ids, as the `Value` path reads them.
            Some(Flat::Number(number)) if field == Field::Id => {
                Ok(Some(Cow::Owned(number.to_string())))
            }
            Some(_) => Err(refused()),
        }
    }

    fn number(&self, field: Field) -> Result<Option<f64>, Problem> {
        match self.value(field) {
            None => Ok(None),
            Some(Flat::Number(number)) => number.as_f64().map(Some).ok_or_else(refused),
            Some(_) => Err(refused()),
        }
    }

    fn count(&self, field: Field) -> Result<Option<u32>, Problem> {
        match self.value(field) {
            None => Ok(None),
            Some(Flat::Number(number)) => number
                .as_u64()
                .and_then(|count| u32::try_from(count).ok())
                .map(Some)
                .ok_or_else(refused),
            Some(_) => Err(refused()),
        }
    }

    fn list(&self, field: Field) -> Result<Vec<String>, Problem> {
        match self.value(field) {
            None => Ok(Vec::new()),
            Some(Flat::Texts(items)) => Ok(items.iter().map(|item| item.to_string()).collect()),
            Some(_) => Err(refused()),
        }
    }
}

impl<'de> Deserialize<'de> for FlatLine<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(LineVisitor)
    }
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = FlatLine<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a report object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut line = FlatLine::default();
        // A key with an escape cannot be borrowed: an error, and the `Value` path reads it.
        while let Some(key) = map.next_key::<&'de str>()? {
            let Some(field) = Field::from_name(key) else {
                return Err(de::Error::custom("not a report field"));
            };
            let slot = &mut line.values[field.index()];
            if slot.is_some() {
                return Err(de::Error::custom("a key given twice"));
            }
            *slot = Some(map.next_value::<Flat<'de>>()?);
        }
        Ok(line)
    }
}

impl<'de> Deserialize<'de> for Flat<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Flat<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("null, a string, a number or an array of strings")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Flat::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Flat::Null)
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Flat::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Flat::Text(Cow::Owned(text.to_string())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Flat::Text(Cow::Owned(text)))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Flat::Number(value.into()))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Flat::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        // As `serde_json::Value` reads it: a number it cannot hold is null.
        Ok(Number::from_f64(value).map_or(Flat::Null, Flat::Number))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Flat<'de>>()? {
            match item {
                Flat::Text(text) => items.push(text),
                _ => return Err(de::Error::custom("an array of other than strings")),
            }
        }
        Ok(Flat::Texts(items))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ingest::jsonl::{read_line, read_line_as_value};
    use crate::ingest::lines::Outcome;

    fn both(line: &str) -> (Outcome, Outcome) {
        let options = IngestOptions::default();
        let fast = read_line("r.jsonl", line, 7, &options, &mut SourceCache::default());
        let slow = read_line_as_value("r.jsonl", line, 7, &options, &mut SourceCache::default());
        (fast, slow)
    }

    fn fast_report(line: &str) -> Option<Report> {
        let options = IngestOptions::default();
        accepted_report("r.jsonl", line, 7, &options, &mut SourceCache::default())
    }

    /// Lines as our writer and the simulator write them, and with what people add by hand.
    const TAKEN: &[&str] = &[
        r#"{"id":"sim-1","source_id":"mission_patrol_4","source_kind":"monitor","time":"2025-02-09T00:01:41Z","lon":37.354165824294874,"lat":49.80299769523384,"uncertainty_m":250.0,"action":"drone_strike","target":"military"}"#,
        r#"{"id":"sim-2","source_id":"ru_mod","source_kind":"party","source_party":"RU","time":"2025-02-09T00:01:46Z","place":"Sloviansk","lon":37.71,"lat":48.82,"uncertainty_m":1000,"action":"mlrs","target":"transport","accused":"UA","evidence":["sha256:e7390a2a9d59681f2ad20a7e5e62297c22fabe54c2af3a7dff9a8b3270e1f68e"]}"#,
        r#" { "id" : 42 , "source_id":"a\u00e9b","source_kind":"media","time":"2025-03-18T10:00:00+02:00","time_end":null,"lon":3.5e1,"lat":-4.85E1,"action":"missile_strike","target":"energy.oil_refinery","actors":["RU","Wagner \"group\""],"civilian_killed":3,"text":"  two\nlines  ","site":null} "#,
        r#"{"id":"x","source_id":"s","source_kind":"osint","time":"2025-03-18","lon":0,"lat":0,"action":"artillery","target":"unknown","military_injured":0,"unspecified_killed":4294967295}"#,
    ];

    #[test]
    fn reports_as_written_take_the_fast_path_to_the_same_report() {
        for line in TAKEN {
            let report = fast_report(line).unwrap_or_else(|| panic!("not taken: {line}"));
            let (fast, slow) = both(line);
            assert_eq!(fast, Outcome::Accepted(report), "{line}");
            assert_eq!(fast, slow, "{line}");
        }
    }

    /// Each of these is a line the fast path leaves to the `Value` path.
    const LEFT: &[&str] = &[
        // Not an object, not JSON, trailing text.
        r#"["id"]"#,
        r#"{"id":"x","#,
        r#"{"id":"x"} x"#,
        // A key that is no report field, one with an escape, a key given twice.
        r#"{"id":"x","source_id":"s","source_kind":"osint","time":"2025-03-18","lon":0,"lat":0,"action":"artillery","target":"unknown","colour":"red"}"#,
        r#"{"\u0069d":"x","source_id":"s","source_kind":"osint","time":"2025-03-18","lon":0,"lat":0,"action":"artillery","target":"unknown"}"#,
        r#"{"id":"x","id":"y","source_id":"s","source_kind":"osint","time":"2025-03-18","lon":0,"lat":0,"action":"artillery","target":"unknown"}"#,
        // Values of another type than the field takes.
        r#"{"id":"x","source_id":"s","source_kind":"osint","time":"2025-03-18","lon":"0","lat":0,"action":"artillery","target":"unknown"}"#,
        r#"{"id":true,"source_id":"s","source_kind":"osint","time":"2025-03-18","lon":0,"lat":0,"action":"artillery","target":"unknown"}"#,
        r#"{"id":"x","source_id":"s","source_kind":"osint","time":"2025-03-18","lon":0,"lat":0,"action":"artillery","target":"unknown","actors":["a",1]}"#,
        r#"{"id":"x","source_id":"s","source_kind":"osint","time":"2025-03-18","lon":0,"lat":0,"action":"artillery","target":"unknown","civilian_killed":-1}"#,
        r#"{"id":"x","source_id":"s","source_kind":"osint","time":"2025-03-18","lon":0,"lat":0,"action":"artillery","target":"unknown","civilian_killed":1.5}"#,
        r#"{"id":"x","source_id":"s","source_kind":"osint","time":"2025-03-18","lon":0,"lat":0,"action":"artillery","target":"unknown","civilian_killed":4294967296}"#,
        r#"{"id":"x","source_id":"s","source_kind":"osint","time":"2025-03-18","lon":0,"lat":0,"action":"artillery","target":{"kind":"energy"}}"#,
        // Problems found while building the report.
        r#"{"id":"x","source_id":"s","source_kind":"osint","time":"2025-03-18","lon":0,"lat":100,"action":"artillery","target":"unknown"}"#,
        r#"{"id":"x","source_id":"s","source_kind":"osint","time":"2025-03-18","lon":0,"lat":0,"action":"artilery","target":"unknown"}"#,
        r#"{"id":" ","source_id":"s","source_kind":"osint","time":"2025-03-18","lon":0,"lat":0,"action":"artillery","target":"unknown"}"#,
        r#"{"id":"x","source_kind":"osint","time":"2025-03-18","lon":0,"lat":null,"action":"artillery","target":"unknown"}"#,
    ];

    #[test]
    fn a_key_given_twice_is_a_rejection_naming_it() {
        let line = r#"{"id":"x","lat":1,"source_id":"s","source_kind":"osint","time":"2025-03-18","lon":0,"lat":0,"action":"artillery","target":"unknown","id":"y","id":"z"}"#;
        let (fast, slow) = both(line);
        assert_eq!(fast, slow);
        let Outcome::Rejected(rejections) = fast else {
            panic!("taken: {fast:?}");
        };
        let found: Vec<(Option<&str>, &str)> = rejections
            .iter()
            .map(|r| (r.column.as_deref(), r.reason.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    Some("$.id"),
                    "key `id` is given 3 times in the object; which value is meant cannot be told"
                ),
                (
                    Some("$.lat"),
                    "key `lat` is given 2 times in the object; which value is meant cannot be told"
                ),
            ]
        );
    }

    #[test]
    fn other_lines_are_left_to_the_value_path_and_read_as_before() {
        let mut rejected = 0;
        for line in LEFT {
            assert_eq!(fast_report(line), None, "taken: {line}");
            let (fast, slow) = both(line);
            rejected += usize::from(matches!(slow, Outcome::Rejected(_)));
            assert_eq!(fast, slow, "{line}");
        }
        // The `Value` path takes a line with an escaped key.
        assert_eq!(rejected, LEFT.len() - 1);
    }

    /// A JSON value for one of the fields, right or wrong.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("{}".to_string()),
            Just(r#""""#.to_string()),
            Just(r#"" ""#.to_string()),
            Just(r#""2025-03-18T10:00:00Z""#.to_string()),
            Just(r#""2025-03-18""#.to_string()),
            Just(r#""monitor""#.to_string()),
            Just(r#""party""#.to_string()),
            Just(r#""artillery""#.to_string()),
            Just(r#""energy.power_transmission""#.to_string()),
            Just(r#""civilian_residential""#.to_string()),
            Just(r#""RU""#.to_string()),
            Just(r#""UA""#.to_string()),
            Just(r#""a\"b\\c\u00e9""#.to_string()),
            Just(r#"["RU","UA"]"#.to_string()),
            Just(r#"[]"#.to_string()),
            Just(r#"["a",null]"#.to_string()),
            Just(r#"[["a"]]"#.to_string()),
            any::<u32>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            (-200.0f64..200.0).prop_map(|x| x.to_string()),
            (-1.0e6f64..1.0e6).prop_map(|x| format!("{x:e}")),
            "[a-z_ ]{0,8}".prop_map(|s| format!("\"{s}\"")),
        ]
    }

    /// A key: mostly report fields, sometimes another name or an escaped one.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => proptest::sample::select(crate::ingest::fields::FIELD_NAMES.to_vec())
                .prop_map(str::to_string),
            1 => Just("colour".to_string()),
            1 => Just(r"\u0069d".to_string()),
        ]
    }

    /// The fields of a valid report, so that many generated lines are reports.
    fn base() -> Vec<(String, String)> {
        [
            ("id", r#""r-1""#),
            ("source_id", r#""ua_gs""#),
            ("source_kind", r#""party""#),
            ("source_party", r#""UA""#),
            ("time", r#""2025-03-18T10:00:00Z""#),
            ("lon", "37.5"),
            ("lat", "48.1"),
            ("action", r#""drone_strike""#),
            ("target", r#""energy.power_transmission""#),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    proptest! {
        /// Whatever a line holds, it becomes the same report or the same rejections as
        /// through the `Value` path alone.
        #[test]
        fn any_line_reads_as_through_the_value_path(
            drop in proptest::collection::vec(proptest::bool::weighted(0.05), 9),
            changes in proptest::collection::vec((0usize..9, value()), 0..3),
            extra in proptest::collection::vec((key(), value()), 0..3),
            spaces in any::<bool>(),
        ) {
            let mut fields = base();
            for (index, new) in changes {
                fields[index].1 = new;
            }
            let mut kept: Vec<(String, String)> = fields
                .into_iter()
                .zip(drop)
                .filter(|(_, dropped)| !dropped)
                .map(|(field, _)| field)
                .collect();
            kept.extend(extra);
            let sep = if spaces { " , " } else { "," };
            let body: Vec<String> = kept.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            let line = format!("{{{}}}", body.join(sep));
            let (fast, slow) = both(&line);
            prop_assert_eq!(fast, slow, "{}", line);
        }

        /// A valid report with any of its optional fields, written as our writer writes it,
        /// is taken by the fast path.
        #[test]
        fn written_reports_are_taken(
            killed in any::<u32>(),
            lon in -180.0f64..180.0,
            lat in -90.0f64..90.0,
            text in "[ -~]{0,20}",
        ) {
            let line = serde_json::json!({
                "id": "r-9", "source_id": "m", "source_kind": "monitor",
                "time": "2025-03-18T10:00:00Z", "lon": lon, "lat": lat,
                "uncertainty_m": 50.0, "action": "artillery", "target": "civilian_residential",
                "civilian_killed": killed, "text": text, "actors": ["RU"],
            })
            .to_string();
            let report = fast_report(&line);
            prop_assert!(report.is_some(), "{}", line);
            let (fast, slow) = both(&line);
            prop_assert_eq!(fast, slow);
        }
    }
}
