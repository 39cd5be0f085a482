//! The agreement file format (TOML) and its compilation into [`Agreement`]s.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use serde::Deserialize;

use super::geometry::{Shape, Wanted, buffer_line_m, parse_geojson};
use super::locate::Locator;
use super::{
    Agreement, AgreementError, AgreementErrors, Condition, CorroborationPolicy, Exception,
    Extension, FileSource, Footprint, Lapse, Party, Reciprocity, Rule, Selector, Site, Window,
    Zone, ZoneArea,
};
use crate::vocab::{ActionType, Target};

/// A time as written: a TOML string or a TOML date-time literal.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum TimeText {
    Text(String),
    Toml(toml::value::Datetime),
}

impl TimeText {
    fn text(&self) -> String {
        match self {
            TimeText::Text(s) => s.clone(),
            TimeText::Toml(d) => d.to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgreementFile {
    #[serde(default)]
    format: Option<String>,
    id: String,
    version: u32,
    title: String,
    #[serde(default)]
    description: String,
    parties: Vec<PartyFile>,
    window: WindowFile,
    #[serde(default)]
    conditions: Vec<ConditionFile>,
    #[serde(default)]
    reciprocity: Option<String>,
    #[serde(default)]
    zones: Vec<ZoneFile>,
    rules: Vec<RuleFile>,
    #[serde(default)]
    exceptions: Vec<ExceptionFile>,
    #[serde(default)]
    sites: Vec<SiteFile>,
    #[serde(default)]
    excluded_actors: Vec<String>,
    #[serde(default)]
    corroboration: Option<CorroborationFile>,
    #[serde(default)]
    interpretations: BTreeMap<String, toml::Table>,
    /// Only in merged interpretations: what the reading changes.
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartyFile {
    id: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    start: Option<TimeText>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowFile {
    start: TimeText,
    #[serde(default)]
    end: Option<TimeText>,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    extensions: Vec<ExtensionFile>,
    #[serde(default)]
    lapse: Option<LapseFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtensionFile {
    end: TimeText,
    #[serde(default)]
    note: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LapseFile {
    at: TimeText,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionFile {
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    met: Option<TimeText>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneFile {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    feature: Option<String>,
    #[serde(default)]
    geometry: Option<toml::Value>,
    #[serde(default)]
    buffer: Option<BufferFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BufferFile {
    /// One reference line for every party.
    #[serde(default)]
    line: Option<String>,
    /// A reference line per party (Minsk II).
    #[serde(default)]
    lines: BTreeMap<String, String>,
    distance_km: DistanceFile,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum DistanceFile {
    Uniform(f64),
    ByAction(BTreeMap<String, f64>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    #[serde(default)]
    text: String,
    actions: Vec<String>,
    targets: Vec<String>,
    #[serde(default)]
    zones: Option<Vec<String>>,
    #[serde(default)]
    parties: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionFile {
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    actions: Option<Vec<String>>,
    #[serde(default)]
    targets: Option<Vec<String>>,
    #[serde(default)]
    zones: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteFile {
    id: String,
    name: String,
    category: String,
    location: [f64; 2],
    #[serde(default)]
    radius_m: Option<f64>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    feature: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorroborationFile {
    #[serde(default)]
    min_independent_sources: Option<u32>,
    #[serde(default)]
    monitor_alone_establishes: Option<bool>,
    #[serde(default)]
    max_distance_m: Option<f64>,
    #[serde(default)]
    max_time_gap_s: Option<i64>,
    #[serde(default)]
    max_extent_m: Option<f64>,
    #[serde(default)]
    max_duration_s: Option<i64>,
}

/// The supported value of the optional `format` key.
pub const FORMAT: &str = "truce-agreement/1";

/// Reads an agreement file: `file` is its name (for messages), `text` its contents, `files`
/// resolves the zone and site files it references. Returns the common reading first, then
/// one agreement per `[interpretations.PARTY]` table, in party order.
pub fn load(
    file: &str,
    text: &str,
    files: &dyn FileSource,
) -> Result<Vec<Agreement>, AgreementErrors> {
    let locator = Locator::new(text);
    let parsed: AgreementFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| locator.line_at(s.start));
        AgreementErrors(vec![AgreementError {
            file: file.to_string(),
            line,
            key: key_of_toml_error(&locator, e.span()),
            message: e.message().to_string(),
        }])
    })?;
    let raw: toml::Table = toml::from_str(text).map_err(|e| {
        AgreementErrors(vec![AgreementError {
            file: file.to_string(),
            line: None,
            key: "$".into(),
            message: e.message().to_string(),
        }])
    })?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let base = Compiler {
        file,
        locator: &locator,
        files,
        prefix: String::new(),
    };
    let common_errors = match base.compile(&parsed, "common", "") {
        Ok(a) => {
            out.push(a);
            Vec::new()
        }
        Err(e) => e,
    };
    errors.extend(common_errors.iter().cloned());
    for (party, overlay) in &parsed.interpretations {
        let key = format!("interpretations.{party}");
        if !parsed.parties.iter().any(|p| &p.id == party) {
            errors.push(base.error(&key, format!("`{party}` is not a party of the agreement")));
            continue;
        }
        let mut merged = raw.clone();
        merged.remove("interpretations");
        merge(&mut merged, overlay);
        let reading = match toml::Value::Table(merged).try_into::<AgreementFile>() {
            Ok(r) => r,
            Err(e) => {
                errors.push(base.error(&key, e.message().to_string()));
                continue;
            }
        };
        let note = reading.note.clone().unwrap_or_default();
        let compiler = Compiler {
            prefix: format!("{key}."),
            ..base
        };
        match compiler.compile(&reading, party, &note) {
            Ok(a) => out.push(a),
            // A reading is the common text with the party's overlay: a problem of the common
            // text (a zone file's, say) comes back from every reading. It is told once, where
            // the common reading found it.
            Err(e) => errors.extend(e.into_iter().filter(|error| {
                !common_errors.iter().any(|common| {
                    common.file == error.file
                        && common.key == error.key
                        && common.message == error.message
                })
            })),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(AgreementErrors(errors))
    }
}

fn key_of_toml_error(locator: &Locator<'_>, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(s) => format!("line {}", locator.line_at(s.start)),
        None => "$".to_string(),
    }
}

/// Overlays `overlay` on `base`: tables merge key by key, everything else is replaced.
fn merge(base: &mut toml::Table, overlay: &toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

struct Compiler<'a> {
    file: &'a str,
    locator: &'a Locator<'a>,
    files: &'a dyn FileSource,
    /// Key prefix of the interpretation being compiled (`interpretations.RU.`), tried first
    /// when locating a key.
    prefix: String,
}

impl Clone for Compiler<'_> {
    fn clone(&self) -> Self {
        Compiler {
            file: self.file,
            locator: self.locator,
            files: self.files,
            prefix: self.prefix.clone(),
        }
    }
}

impl<'a> Compiler<'a> {
    fn error(&self, key: &str, message: impl Into<String>) -> AgreementError {
        let line = if self.prefix.is_empty() {
            None
        } else {
            self.locator.line_of(&format!("{}{key}", self.prefix))
        }
        .or_else(|| self.locator.line_of(key));
        AgreementError {
            file: self.file.to_string(),
            line,
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn compile(
        &self,
        f: &AgreementFile,
        interpretation: &str,
        note: &str,
    ) -> Result<Agreement, Vec<AgreementError>> {
        let mut errors = Vec::new();
        if let Some(format) = &f.format
            && format != FORMAT
        {
            errors.push(self.error(
                "format",
                format!("unsupported format `{format}`; this version reads `{FORMAT}`"),
            ));
        }
        if f.id.trim().is_empty() {
            errors.push(self.error("id", "must not be empty"));
        }
        if f.version == 0 {
            errors.push(self.error("version", "versions start at 1"));
        }
        let zone_name = match &f.window.time_zone {
            Some(name) => match TimeZone::get(name) {
                Ok(tz) => Some((name.clone(), tz)),
                Err(_) => {
                    errors.push(self.error(
                        "window.time_zone",
                        format!(
                            "unknown time zone `{name}` (use an IANA name such as Europe/Kyiv)"
                        ),
                    ));
                    None
                }
            },
            None => None,
        };
        let tz = zone_name.as_ref().map(|(_, tz)| tz);
        let mut time = |key: &str, value: &TimeText| -> Option<Timestamp> {
            match parse_time(&value.text(), tz) {
                Ok(t) => Some(t),
                Err(message) => {
                    errors.push(self.error(key, message));
                    None
                }
            }
        };

        // Parties.
        let mut parties = Vec::new();
        for (i, p) in f.parties.iter().enumerate() {
            let start = p
                .start
                .as_ref()
                .and_then(|s| time(&format!("parties[{i}].start"), s));
            parties.push(Party {
                id: p.id.clone().into(),
                name: p.name.clone().into(),
                aliases: p.aliases.clone(),
                start,
            });
        }
        let window_start = time("window.start", &f.window.start);
        let window_end = f.window.end.as_ref().and_then(|e| time("window.end", e));
        let mut extensions = Vec::new();
        for (i, e) in f.window.extensions.iter().enumerate() {
            if let Some(end) = time(&format!("window.extensions[{i}].end"), &e.end) {
                extensions.push(Extension {
                    end,
                    note: e.note.clone(),
                });
            }
        }
        let lapse = f.window.lapse.as_ref().and_then(|l| {
            time("window.lapse.at", &l.at).map(|at| Lapse {
                at,
                reason: l.reason.clone(),
            })
        });
        let mut conditions = Vec::new();
        for (i, c) in f.conditions.iter().enumerate() {
            let met = c
                .met
                .as_ref()
                .and_then(|m| time(&format!("conditions[{i}].met"), m));
            conditions.push(Condition {
                id: c.id.clone().into(),
                text: c.text.clone().into(),
                met,
            });
        }

        if parties.is_empty() {
            errors.push(self.error("parties", "an agreement needs at least one party"));
        }
        let mut seen = BTreeSet::new();
        let mut alias_owner: BTreeMap<String, String> = BTreeMap::new();
        for (i, p) in f.parties.iter().enumerate() {
            if p.id.trim().is_empty() {
                errors.push(self.error(&format!("parties[{i}].id"), "must not be empty"));
            }
            if !seen.insert(p.id.clone()) {
                errors.push(self.error(
                    &format!("parties[{i}].id"),
                    format!("duplicate party id `{}`", p.id),
                ));
            }
            for alias in std::iter::once(&p.id).chain(&p.aliases) {
                let key = alias.to_ascii_lowercase();
                if let Some(owner) = alias_owner.get(&key)
                    && owner != &p.id
                {
                    errors.push(self.error(
                        &format!("parties[{i}].aliases"),
                        format!("`{alias}` already names party `{owner}`"),
                    ));
                }
                alias_owner.insert(key, p.id.clone());
            }
        }
        let party_ids: Vec<String> = f.parties.iter().map(|p| p.id.clone()).collect();

        if let (Some(start), Some(end)) = (window_start, window_end)
            && end <= start
        {
            errors.push(self.error(
                "window.end",
                format!("the window ends ({end}) before it starts ({start})"),
            ));
        }
        for (i, e) in extensions.iter().enumerate() {
            match window_end {
                None => errors.push(self.error(
                    &format!("window.extensions[{i}]"),
                    "an open-ended window cannot be extended",
                )),
                Some(end) if e.end <= end => errors.push(self.error(
                    &format!("window.extensions[{i}].end"),
                    format!("an extension must end after the window's end ({end})"),
                )),
                Some(_) => {}
            }
        }
        if let (Some(l), Some(start)) = (&lapse, window_start)
            && l.at <= start
        {
            errors.push(self.error(
                "window.lapse.at",
                format!(
                    "the agreement cannot lapse ({}) before it starts ({start})",
                    l.at
                ),
            ));
        }
        let mut condition_ids = BTreeSet::new();
        for (i, c) in conditions.iter().enumerate() {
            if !condition_ids.insert(c.id.clone()) {
                errors.push(self.error(
                    &format!("conditions[{i}].id"),
                    format!("duplicate condition id `{}`", c.id),
                ));
            }
        }

        let reciprocity = match f.reciprocity.as_deref() {
            None | Some("none") => Reciprocity::None,
            Some("release") => Reciprocity::Release,
            Some(other) => {
                errors.push(self.error(
                    "reciprocity",
                    format!("unknown reciprocity `{other}` (known: none, release)"),
                ));
                Reciprocity::None
            }
        };

        // Zones.
        let mut zones = Vec::new();
        let mut zone_ids = BTreeSet::new();
        for (i, z) in f.zones.iter().enumerate() {
            let key = format!("zones[{i}]");
            if !zone_ids.insert(z.id.clone()) {
                errors.push(self.error(
                    &format!("{key}.id"),
                    format!("duplicate zone id `{}`", z.id),
                ));
            }
            match self.zone(&key, z, &party_ids) {
                Ok(zone) => zones.push(zone),
                Err(e) => errors.extend(e),
            }
        }
        let zone_list: Vec<String> = f.zones.iter().map(|z| z.id.clone()).collect();

        // Rules and exceptions.
        let mut rules = Vec::new();
        let mut clause_ids = BTreeSet::new();
        if f.rules.is_empty() {
            errors.push(self.error("rules", "an agreement needs at least one rule"));
        }
        for (i, r) in f.rules.iter().enumerate() {
            let key = format!("rules[{i}]");
            if !clause_ids.insert(r.id.clone()) {
                errors.push(self.error(
                    &format!("{key}.id"),
                    format!("duplicate rule or exception id `{}`", r.id),
                ));
            }
            let actions =
                self.terms::<ActionType>(&format!("{key}.actions"), Some(&r.actions), &mut errors);
            let targets =
                self.terms::<Target>(&format!("{key}.targets"), Some(&r.targets), &mut errors);
            let zones = self.ids(
                &format!("{key}.zones"),
                r.zones.as_ref(),
                &zone_list,
                "zone",
                &mut errors,
            );
            let parties = self.ids(
                &format!("{key}.parties"),
                r.parties.as_ref(),
                &party_ids,
                "party",
                &mut errors,
            );
            rules.push(Rule {
                id: r.id.clone().into(),
                text: r.text.clone().into(),
                actions,
                targets,
                zones,
                parties,
            });
        }
        let mut exceptions = Vec::new();
        for (i, e) in f.exceptions.iter().enumerate() {
            let key = format!("exceptions[{i}]");
            if !clause_ids.insert(e.id.clone()) {
                errors.push(self.error(
                    &format!("{key}.id"),
                    format!("duplicate rule or exception id `{}`", e.id),
                ));
            }
            let actions = self.terms::<ActionType>(
                &format!("{key}.actions"),
                e.actions.as_ref(),
                &mut errors,
            );
            let targets =
                self.terms::<Target>(&format!("{key}.targets"), e.targets.as_ref(), &mut errors);
            let zones = self.ids(
                &format!("{key}.zones"),
                e.zones.as_ref(),
                &zone_list,
                "zone",
                &mut errors,
            );
            exceptions.push(Exception {
                id: e.id.clone().into(),
                text: e.text.clone().into(),
                actions,
                targets,
                zones,
            });
        }

        // Sites.
        let mut sites = Vec::new();
        let mut site_ids = BTreeSet::new();
        for (i, s) in f.sites.iter().enumerate() {
            let key = format!("sites[{i}]");
            if !site_ids.insert(s.id.clone()) {
                errors.push(self.error(
                    &format!("{key}.id"),
                    format!("duplicate site id `{}`", s.id),
                ));
            }
            let target = match s.category.parse::<Target>() {
                Ok(t) => Some(t),
                Err(e) => {
                    errors.push(self.error(&format!("{key}.category"), e.to_string()));
                    None
                }
            };
            let [lon, lat] = s.location;
            if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                errors.push(self.error(
                    &format!("{key}.location"),
                    format!("[{lon}, {lat}] is out of range; write [longitude, latitude]"),
                ));
            }
            let footprint = match (&s.file, s.radius_m) {
                (Some(path), None) => match self.read_shape(
                    &format!("{key}.file"),
                    path,
                    s.feature.as_deref(),
                    Wanted::Area,
                ) {
                    Ok(Shape::Area(area)) => Some(Footprint::Area(area)),
                    Ok(Shape::Line(_)) => None,
                    Err(e) => {
                        errors.extend(e);
                        None
                    }
                },
                (None, Some(r)) if r.is_finite() && r > 0.0 => {
                    Some(Footprint::Circle { radius_m: r })
                }
                (None, Some(r)) => {
                    errors.push(self.error(
                        &format!("{key}.radius_m"),
                        format!("must be a positive number of metres, is {r}"),
                    ));
                    None
                }
                (None, None) => Some(Footprint::Circle { radius_m: 1_000.0 }),
                (Some(_), Some(_)) => {
                    errors.push(self.error(&key, "give either `radius_m` or `file`, not both"));
                    None
                }
            };
            if let (Some(target), Some(footprint)) = (target, footprint) {
                sites.push(Site {
                    id: s.id.clone().into(),
                    name: s.name.clone().into(),
                    target,
                    lon,
                    lat,
                    footprint,
                });
            }
        }

        let mut corroboration = CorroborationPolicy::default();
        if let Some(c) = &f.corroboration {
            if let Some(v) = c.min_independent_sources {
                if v == 0 {
                    errors.push(self.error(
                        "corroboration.min_independent_sources",
                        "must be at least 1",
                    ));
                }
                corroboration.min_independent_sources = v;
            }
            if let Some(v) = c.monitor_alone_establishes {
                corroboration.monitor_alone_establishes = v;
            }
            for (name, value, slot) in [
                (
                    "max_distance_m",
                    c.max_distance_m,
                    &mut corroboration.max_distance_m,
                ),
                (
                    "max_extent_m",
                    c.max_extent_m,
                    &mut corroboration.max_extent_m,
                ),
            ] {
                if let Some(v) = value {
                    if !(v.is_finite() && v > 0.0) {
                        errors.push(self.error(
                            &format!("corroboration.{name}"),
                            format!("must be a positive number, is {v}"),
                        ));
                    }
                    *slot = v;
                }
            }
            for (name, value, slot) in [
                (
                    "max_time_gap_s",
                    c.max_time_gap_s,
                    &mut corroboration.max_time_gap_s,
                ),
                (
                    "max_duration_s",
                    c.max_duration_s,
                    &mut corroboration.max_duration_s,
                ),
            ] {
                if let Some(v) = value {
                    if v <= 0 {
                        errors.push(self.error(
                            &format!("corroboration.{name}"),
                            format!("must be positive, is {v}"),
                        ));
                    }
                    *slot = v;
                }
            }
        }

        let (Some(start), true) = (window_start, errors.is_empty()) else {
            return Err(errors);
        };
        Ok(Agreement {
            id: f.id.clone(),
            version: f.version,
            title: f.title.clone(),
            interpretation: interpretation.to_string(),
            interpretation_note: note.to_string(),
            description: f.description.clone(),
            parties,
            window: Window {
                start,
                end: window_end,
                time_zone: zone_name
                    .map(|(n, _)| n)
                    .unwrap_or_else(|| "UTC".to_string()),
                extensions,
                lapse,
            },
            conditions,
            reciprocity,
            zones,
            rules,
            exceptions,
            sites,
            excluded_actors: f.excluded_actors.clone(),
            corroboration,
        })
    }

    fn read_shape(
        &self,
        key: &str,
        path: &str,
        feature: Option<&str>,
        wanted: Wanted,
    ) -> Result<Shape, Vec<AgreementError>> {
        let bytes = self
            .files
            .read(path)
            .map_err(|e| vec![self.error(key, format!("cannot read `{path}`: {e}"))])?;
        parse_geojson(path, &bytes, feature, wanted)
    }

    fn zone(
        &self,
        key: &str,
        z: &ZoneFile,
        parties: &[String],
    ) -> Result<Zone, Vec<AgreementError>> {
        let name = z.name.clone().unwrap_or_else(|| z.id.clone());
        let given = [z.file.is_some(), z.geometry.is_some(), z.buffer.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(vec![self.error(
                key,
                "a zone needs exactly one of `file`, `geometry` or `buffer`",
            )]);
        }
        if let Some(path) = &z.file {
            let Shape::Area(area) = self.read_shape(
                &format!("{key}.file"),
                path,
                z.feature.as_deref(),
                Wanted::Area,
            )?
            else {
                return Err(vec![
                    self.error(&format!("{key}.file"), "expected polygons"),
                ]);
            };
            let origin = match &z.feature {
                Some(f) => format!("{path}#{f}"),
                None => path.clone(),
            };
            return Ok(Zone {
                id: z.id.clone().into(),
                name: name.into(),
                areas: vec![ZoneArea {
                    party: None,
                    actions: None,
                    area,
                    origin,
                }],
            });
        }
        if let Some(geometry) = &z.geometry {
            let json = serde_json::to_vec(geometry)
                .map_err(|e| vec![self.error(&format!("{key}.geometry"), e.to_string())])?;
            let label = format!("{}({key}.geometry)", self.file);
            let area = super::parse_zone_geojson(&label, &json, None)?;
            return Ok(Zone {
                id: z.id.clone().into(),
                name: name.into(),
                areas: vec![ZoneArea {
                    party: None,
                    actions: None,
                    area,
                    origin: "inline geometry".into(),
                }],
            });
        }
        let Some(buffer) = &z.buffer else {
            return Err(vec![
                self.error(key, "a zone needs `file`, `geometry` or `buffer`"),
            ]);
        };
        let bkey = format!("{key}.buffer");
        let mut errors = Vec::new();
        // Lines per party (None: every party).
        let mut lines: Vec<(Option<String>, String)> = Vec::new();
        match (&buffer.line, buffer.lines.is_empty()) {
            (Some(line), true) => lines.push((None, line.clone())),
            (None, false) => {
                for (party, line) in &buffer.lines {
                    if !parties.contains(party) {
                        errors.push(self.error(
                            &format!("{bkey}.lines.{party}"),
                            format!("`{party}` is not a party of the agreement"),
                        ));
                    }
                    lines.push((Some(party.clone()), line.clone()));
                }
            }
            _ => errors.push(self.error(
                &bkey,
                "give either `line` (one line for all parties) or `lines` (one per party)",
            )),
        }
        // Distances per action class (None: every action).
        let mut distances: Vec<(Option<Vec<ActionType>>, f64)> = Vec::new();
        match &buffer.distance_km {
            DistanceFile::Uniform(km) => distances.push((None, *km)),
            DistanceFile::ByAction(map) => {
                let mut listed = Vec::new();
                for (name, km) in map {
                    if name == "default" {
                        continue;
                    }
                    match name.parse::<ActionType>() {
                        Ok(a) => {
                            listed.push(a);
                            distances.push((Some(vec![a]), *km));
                        }
                        Err(e) => errors
                            .push(self.error(&format!("{bkey}.distance_km.{name}"), e.to_string())),
                    }
                }
                if let Some(km) = map.get("default") {
                    let rest: Vec<ActionType> = ActionType::ALL
                        .iter()
                        .copied()
                        .filter(|a| !listed.contains(a))
                        .collect();
                    distances.push((Some(rest), *km));
                }
            }
        }
        for (_, km) in &distances {
            if !(km.is_finite() && *km > 0.0) {
                errors.push(self.error(
                    &format!("{bkey}.distance_km"),
                    format!("distances must be positive kilometres, found {km}"),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut areas = Vec::new();
        for (party, path) in &lines {
            let Shape::Line(line) =
                self.read_shape(&format!("{bkey}.line"), path, None, Wanted::Line)?
            else {
                return Err(vec![self.error(&bkey, "expected lines")]);
            };
            for (actions, km) in &distances {
                areas.push(ZoneArea {
                    party: party.clone(),
                    actions: actions.clone(),
                    area: buffer_line_m(&line, km * 1_000.0),
                    origin: format!("within {km} km of {path}"),
                });
            }
        }
        Ok(Zone {
            id: z.id.clone().into(),
            name: name.into(),
            areas,
        })
    }

    /// A list of vocabulary terms (`["*"]` or absent: all), each unknown term an error.
    fn terms<T: std::str::FromStr>(
        &self,
        key: &str,
        values: Option<&Vec<String>>,
        errors: &mut Vec<AgreementError>,
    ) -> Selector<T>
    where
        T::Err: std::fmt::Display,
    {
        match values {
            None => Selector::All,
            Some(v) if v.iter().any(|s| s == "*") => Selector::All,
            Some(v) => {
                let mut out = Vec::new();
                for (i, s) in v.iter().enumerate() {
                    match s.parse::<T>() {
                        Ok(term) => out.push(term),
                        Err(e) => errors.push(self.error(&format!("{key}[{i}]"), e.to_string())),
                    }
                }
                Selector::Only(out)
            }
        }
    }

    fn ids(
        &self,
        key: &str,
        values: Option<&Vec<String>>,
        known: &[String],
        what: &str,
        errors: &mut Vec<AgreementError>,
    ) -> Selector<String> {
        match values {
            None => Selector::All,
            Some(v) if v.iter().any(|s| s == "*") => Selector::All,
            Some(v) => {
                for (i, s) in v.iter().enumerate() {
                    if !known.contains(s) {
                        let hint = known
                            .iter()
                            .find(|k| strsim::levenshtein(k, s) <= 2)
                            .map(|k| format!(": did you mean `{k}`?"))
                            .unwrap_or_else(|| format!(" (known: {})", known.join(", ")));
                        errors.push(self.error(
                            &format!("{key}[{i}]"),
                            format!("unknown {what} `{s}`{hint}"),
                        ));
                    }
                }
                Selector::Only(v.clone())
            }
        }
    }
}

/// Parses a time: RFC 3339 with an offset, an RFC 9557 string with a `[zone]`, or a civil
/// date-time / date in the agreement's time zone.
fn parse_time(text: &str, zone: Option<&TimeZone>) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    if let Ok(z) = text.parse::<jiff::ZonedDateTime>() {
        return Ok(z.timestamp());
    }
    let civil = text.parse::<DateTime>().ok().or_else(|| {
        text.parse::<Date>()
            .ok()
            .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
    });
    match (civil, zone) {
        (Some(dt), Some(tz)) => tz
            .to_ambiguous_timestamp(dt)
            .compatible()
            .map_err(|e| format!("`{text}` does not exist in the window's time zone: {e}")),
        (Some(_), None) => Err(format!(
            "`{text}` has no UTC offset; add one (e.g. `{text}+03:00`) or set window.time_zone"
        )),
        (None, _) => Err(format!(
            "`{text}` is not a time (write e.g. 2025-03-18T00:00:00+03:00)"
        )),
    }
}
