//! Telling a file's format from its name and its first bytes.

use crate::ingest::InputFormat;

/// The format of a file, from its name and its first bytes (`head`: a few kilobytes are
/// enough). Tried in order:
///
/// 1. the extension: `.jsonl`/`.ndjson` → JSON Lines; `.geojson` → GeoJSON; `.json` →
///    GeoJSON when the head mentions `"FeatureCollection"`;
/// 2. a head that starts with `{`: GeoJSON when it mentions `"FeatureCollection"`, else
///    JSON Lines;
/// 3. the CSV header (first line, names compared without case): `event_id_cnty` and
///    `event_date` → ACLED; `where_prec` and `date_prec` → UCDP GED; `true_incident` and
///    `loc_unc_m` → the peer layout; `source_kind` → our CSV.
///
/// `None` when nothing fits: ask the user for the format.
pub fn detect_format(file_name: &str, head: &[u8]) -> Option<InputFormat> {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let mentions_collection = memchr::memmem::find(head, b"\"FeatureCollection\"").is_some();
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase());
    match extension.as_deref() {
        Some("jsonl" | "ndjson") => return Some(InputFormat::Jsonl),
        Some("geojson") => return Some(InputFormat::Geojson),
        Some("json") if mentions_collection => return Some(InputFormat::Geojson),
        Some("json") => return None,
        _ => {}
    }
    let first_byte = head.iter().find(|b| !b.is_ascii_whitespace());
    if first_byte == Some(&b'{') {
        return Some(if mentions_collection {
            InputFormat::Geojson
        } else {
            InputFormat::Jsonl
        });
    }
    let line_end = memchr::memchr(b'\n', head).unwrap_or(head.len());
    let header = String::from_utf8_lossy(&head[..line_end]).to_ascii_lowercase();
    let names: Vec<&str> = header
        .split(',')
        .map(|name| name.trim().trim_matches('"').trim())
        .collect();
    let has = |name: &str| names.contains(&name);
    if has("event_id_cnty") && has("event_date") {
        Some(InputFormat::Acled)
    } else if has("where_prec") && has("date_prec") {
        Some(InputFormat::Ucdp)
    } else if has("true_incident") && has("loc_unc_m") {
        Some(InputFormat::PeerCsv)
    } else if has("source_kind") {
        Some(InputFormat::Csv)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_extension_then_content() {
        assert_eq!(detect_format("a.JSONL", b""), Some(InputFormat::Jsonl));
        assert_eq!(detect_format("a.ndjson", b"{}"), Some(InputFormat::Jsonl));
        assert_eq!(detect_format("a.geojson", b""), Some(InputFormat::Geojson));
        assert_eq!(
            detect_format(
                "a.json",
                b"{\"type\": \"FeatureCollection\", \"features\": []}"
            ),
            Some(InputFormat::Geojson)
        );
        assert_eq!(detect_format("a.json", b"[1, 2]"), None);
        assert_eq!(
            detect_format("stdin", b"  {\"id\": \"r1\"}\n"),
            Some(InputFormat::Jsonl)
        );
        assert_eq!(
            detect_format("x.csv", b"\xef\xbb\xbfevent_id_cnty,event_date,year\nUKR1,"),
            Some(InputFormat::Acled)
        );
        assert_eq!(
            detect_format("ged.csv", b"\"id\",\"where_prec\",\"date_prec\"\r\n1"),
            Some(InputFormat::Ucdp)
        );
        assert_eq!(
            detect_format(
                "reports.csv",
                b"id,ts,lon,lat,loc_unc_m,source,accused,action,target,civ_cas,true_incident\n"
            ),
            Some(InputFormat::PeerCsv)
        );
        assert_eq!(
            detect_format(
                "r.csv",
                b"id,source_id,source_kind,time,lon,lat,action,target\n"
            ),
            Some(InputFormat::Csv)
        );
        assert_eq!(detect_format("r.csv", b"a,b,c\n"), None);
    }
}
