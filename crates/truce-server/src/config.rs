//! The service's settings, read from a TOML file; the command line layers
//! flags and environment variables on top.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Everything `truce serve` needs to know. Every field has a default, so a
/// TOML file names only what it changes (unknown keys are refused).
///
/// ```toml
/// listen = "0.0.0.0:8443"
/// data_dir = "/var/lib/truce"
/// database = "postgres://truce@db.example/truce"
/// read_database = "postgres://truce@replica.example/truce"
/// admin_vkey = "mission.example/admin+1a2b3c4d+AT..."
///
/// [rate_limit]
/// per_second = 50.0
/// burst = 100
///
/// [[witnesses]]
/// url = "https://witness.ua.example"
/// vkey = "witness.ua.example+5a6b7c8d+BA..."
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// The address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The data directory: `log/`, `log.key`, `blobs/`, `journal.jsonl` and
    /// (unless `database` names another) the SQLite store `truce.sqlite3`
    /// live here.
    pub data_dir: PathBuf,
    /// Where the store lives: `None` or `sqlite:` for SQLite in the data
    /// directory, `postgres://…` for a PostgreSQL database. The log stays in
    /// the data directory unless `record` says otherwise.
    pub database: Option<DatabaseUrl>,
    /// Where the record (the log, the entry journal and the bodies the log
    /// commits to) is kept: in the data directory (the default), or in the
    /// PostgreSQL `database` beside the store, appended by one instance at a
    /// time under the sequencer lease (see `sequencer_lease_ms`).
    pub record: RecordPlace,
    /// With the record in the database: how long the sequencer lease lasts
    /// without a renewal, in milliseconds (renewed every third of it). An
    /// instance that finds the lease held waits for it; an instance that
    /// loses it stops accepting writes.
    pub sequencer_lease_ms: u64,
    /// With the record in the database: the base URL (`http://host:port`)
    /// at which this instance takes writes while it is the sequencer,
    /// advertised in the lease so that the other instances on the database
    /// forward writes to it. When unset, `truce serve` advertises
    /// `http://` and the address it listens on, unless that is a wildcard
    /// (`0.0.0.0`, `::`); with none, the others answer writes 503
    /// `not-sequencer` and clients retry.
    pub advertise_url: Option<String>,
    /// With the record in the database, while another instance is the
    /// sequencer: how often this one looks for new entries (and for a free
    /// lease), in milliseconds.
    pub follow_interval_ms: u64,
    /// A read replica of `database` (a hot standby, `postgres://…`) that the
    /// read-only endpoints which query the store read from; writes, the
    /// catch-up, nonces and everything else keep using `database`. Only
    /// valid with a PostgreSQL `database`. The replica may be behind: those
    /// answers carry the store size they reflect (`Truce-Store-Size`).
    pub read_database: Option<DatabaseUrl>,
    /// The admin's public key (a `truce-note` verifier key,
    /// `<name>+<key id>+<base64>`). Required on first start, when it becomes
    /// the log's first entry; on later starts, if given, it must be the key
    /// the log names.
    pub admin_vkey: Option<String>,
    /// The log's origin line (and the name of its signing key).
    pub log_origin: String,
    /// The largest accepted distance between a request's timestamp and the
    /// server's clock, in milliseconds.
    pub max_skew_ms: u64,
    /// Per-key request rate limits.
    pub rate_limit: RateLimitConfig,
    /// Request body size limits.
    pub body_limits: BodyLimits,
    /// The single writer's queue and batching.
    pub writer: WriterConfig,
    /// Requests handled at once; beyond this, requests are answered 503
    /// with `Retry-After` at once rather than queued.
    pub max_concurrent_requests: usize,
    /// The `Retry-After` given with 503 answers, in seconds.
    pub retry_after_s: u32,
    /// The grid cell, in degrees, that monitors' positions are coarsened to
    /// for readers who may not see them exactly.
    pub coarsen_cell_deg: f64,
    /// The witnesses that cosign the log's checkpoints (c2sp.org/tlog-witness).
    /// With any, a background task asks every one to cosign the latest
    /// checkpoint after the log grows and publishes `checkpoint.cosigned` in
    /// the log directory once all have.
    pub witnesses: Vec<WitnessConfig>,
    /// The shortest time between two rounds of cosigning, in milliseconds
    /// (the log's growth in between is cosigned in one round).
    pub cosign_interval_ms: u64,
}

/// The error of a record kept in the database without a PostgreSQL
/// `database` (the configuration's check, repeated where the record is
/// opened).
pub(crate) fn record_needs_postgres() -> crate::ServerError {
    crate::ServerError::Config(ConfigError::Invalid {
        field: "record",
        value: "database".into(),
        reason: "needs a PostgreSQL `database` to keep the record in",
    })
}

/// The shortest follow interval accepted, in milliseconds.
const MIN_FOLLOW_MS: u64 = 10;
/// The longest follow interval accepted, in milliseconds.
const MAX_FOLLOW_MS: u64 = 60_000;

/// Why an advertised URL cannot be forwarded to: it must be `http://`
/// with a host, an optional port and nothing after them (the forwarded
/// request keeps its own path, which its signature covers).
fn check_advertise_url(url: &str) -> Result<(), &'static str> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err("must start with http:// (instances forward to each other in plain HTTP)");
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() {
        return Err("names no host");
    }
    if authority.contains(['/', '?', '#', '@', ' ']) {
        return Err("must be http://HOST[:PORT] with no path, query or user");
    }
    let Ok(parsed) = authority.parse::<axum::http::uri::Authority>() else {
        return Err("is not a valid host and port");
    };
    let has_port = authority.contains(':') && !authority.ends_with(']');
    if has_port && parsed.port_u16().is_none() {
        return Err("is not a valid host and port");
    }
    Ok(())
}

/// The shortest sequencer lease accepted, in milliseconds.
const MIN_LEASE_MS: u64 = 300;
/// The longest sequencer lease accepted, in milliseconds.
const MAX_LEASE_MS: u64 = 3_600_000;

/// One witness of the log: where it takes `add-checkpoint` requests and the
/// key its cosignatures verify under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// The witness's URL (requests go to `URL/add-checkpoint`).
    pub url: String,
    /// The witness's verifier key (`<name>+<key id>+<base64>`, a
    /// cosignature/v1 key).
    pub vkey: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            data_dir: PathBuf::from("truce-data"),
            database: None,
            read_database: None,
            record: RecordPlace::DataDir,
            sequencer_lease_ms: 10_000,
            advertise_url: None,
            follow_interval_ms: 250,
            admin_vkey: None,
            log_origin: "truce.local/log".to_owned(),
            max_skew_ms: truce_auth::DEFAULT_MAX_SKEW_MS,
            rate_limit: RateLimitConfig::default(),
            body_limits: BodyLimits::default(),
            writer: WriterConfig::default(),
            max_concurrent_requests: 1024,
            retry_after_s: 1,
            coarsen_cell_deg: truce_auth::DEFAULT_CELL_DEG,
            witnesses: Vec::new(),
            cosign_interval_ms: 3000,
        }
    }
}

/// Where the service keeps its record: the log, the entry journal and the
/// bodies the log commits to by hash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordPlace {
    /// `DIR/log/`, `DIR/journal.jsonl` and `DIR/blobs/`.
    #[default]
    DataDir,
    /// The PostgreSQL `database`: tables `log_tiles`, `log_checkpoints`,
    /// `log_journal` and `log_blobs`, written under the sequencer lease
    /// (`log_sequencer`). Several instances may then share one database.
    Database,
}

impl RecordPlace {
    /// The name used in the configuration file and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordPlace::DataDir => "data_dir",
            RecordPlace::Database => "database",
        }
    }
}

impl std::str::FromStr for RecordPlace {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "data_dir" | "data-dir" => Ok(RecordPlace::DataDir),
            "database" => Ok(RecordPlace::Database),
            other => Err(format!(
                "{other:?} is not a place for the record: data_dir or database"
            )),
        }
    }
}

/// A database URL, e.g. `postgres://truce:secret@db.example:5432/truce`.
///
/// Its `Debug` and `Display` forms hide the password (`truce:***@`, and the
/// value of a `password=` query parameter), so the URL can be logged and put
/// in error messages; [`DatabaseUrl::expose`] gives the URL itself, for
/// connecting only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its password, to connect with. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }

    /// Whether the URL names SQLite in the data directory (`sqlite:`).
    pub fn is_sqlite(&self) -> bool {
        self.0.eq_ignore_ascii_case("sqlite:")
    }

    /// `text` with every occurrence of this URL and of its password
    /// replaced, for messages built by code that may have quoted either.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.replace(&self.0, &self.redacted());
        for secret in self.secrets() {
            // A very short password would match ordinary words; the URL
            // itself has been replaced above in any case.
            if secret.len() >= 4 {
                text = text.replace(secret, "***");
            }
        }
        text
    }

    /// The password in the user information and in `password=` parameters.
    fn secrets(&self) -> Vec<&str> {
        let mut secrets = Vec::new();
        let (base, query) = split_query(&self.0);
        if let Some((_, authority, _)) = split_authority(base)
            && let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
            && !password.is_empty()
        {
            secrets.push(password);
        }
        if let Some(query) = query {
            secrets.extend(
                query
                    .split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .filter(|(name, value)| {
                        name.eq_ignore_ascii_case("password") && !value.is_empty()
                    })
                    .map(|(_, value)| value),
            );
        }
        secrets
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `url` split at its first `?` into the part before and the query.
fn split_query(url: &str) -> (&str, Option<&str>) {
    match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    }
}

/// `base` (a URL without its query) as the text up to `://`, the authority,
/// and the rest; `None` when it has no `://`.
fn split_authority(base: &str) -> Option<(&str, &str, &str)> {
    let at = base.find("://")? + 3;
    let (head, tail) = base.split_at(at);
    let end = tail.find(['/', '#']).unwrap_or(tail.len());
    let (authority, rest) = tail.split_at(end);
    Some((head, authority, rest))
}

/// `url` with the password of its user information and the values of its
/// `password=` query parameters replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let (base, query) = split_query(url);
    let mut out = match split_authority(base) {
        Some((head, authority, rest)) => {
            let authority = match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _)) => format!("{user}:***@{host}"),
                    None => authority.to_owned(),
                },
                None => authority.to_owned(),
            };
            format!("{head}{authority}{rest}")
        }
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// A token bucket per signing key: `per_second` tokens are added each
/// second up to `burst`; each signed request takes one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Sustained requests per second per key.
    pub per_second: f64,
    /// Requests a key may make at once after being idle.
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_second: 200.0,
            burst: 400,
        }
    }
}

/// The largest request bodies accepted, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BodyLimits {
    /// One report, review, contest, coverage record, retraction or source.
    pub single_bytes: usize,
    /// A batch of reports, or an agreement with its files.
    pub batch_bytes: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            single_bytes: 1 << 20,
            batch_bytes: 16 << 20,
        }
    }
}

/// How the single writer groups submissions into durable batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WriterConfig {
    /// Submissions waiting for the writer; when full, new ones are answered
    /// 503 with `Retry-After`.
    pub queue: usize,
    /// The most entries appended in one batch (a larger submission is
    /// appended alone).
    pub max_batch_entries: usize,
    /// How long the writer waits for more submissions after the first one of
    /// a batch, in milliseconds.
    pub max_batch_latency_ms: u64,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            queue: 4096,
            max_batch_entries: 1024,
            max_batch_latency_ms: 5,
        }
    }
}

/// A configuration that cannot be used, naming the field and the value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The TOML text does not parse or has unknown keys.
    #[error("configuration is not valid TOML for the server: {source}")]
    Toml {
        /// The parser's error (with line and key).
        #[source]
        source: toml::de::Error,
    },
    /// A field has a value the server cannot run with.
    #[error("configuration field {field} = {value}: {reason}")]
    Invalid {
        /// The field, e.g. `rate_limit.per_second`.
        field: &'static str,
        /// The value as given.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl ServerConfig {
    /// Reads a configuration from TOML text and checks it.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Toml`] for text that does not parse or names unknown
    /// keys, [`ConfigError::Invalid`] as [`ServerConfig::validate`].
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|source| ConfigError::Toml { source })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the values that have limits.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, value: String, reason| {
            Err(ConfigError::Invalid {
                field,
                value,
                reason,
            })
        };
        if !(self.rate_limit.per_second.is_finite() && self.rate_limit.per_second > 0.0) {
            return invalid(
                "rate_limit.per_second",
                self.rate_limit.per_second.to_string(),
                "must be a positive number",
            );
        }
        if self.rate_limit.burst == 0 {
            return invalid("rate_limit.burst", "0".into(), "must be at least 1");
        }
        if self.body_limits.single_bytes == 0 {
            return invalid("body_limits.single_bytes", "0".into(), "must be at least 1");
        }
        if self.body_limits.batch_bytes < self.body_limits.single_bytes {
            return invalid(
                "body_limits.batch_bytes",
                self.body_limits.batch_bytes.to_string(),
                "must be at least body_limits.single_bytes",
            );
        }
        if self.writer.queue == 0 {
            return invalid("writer.queue", "0".into(), "must be at least 1");
        }
        if self.writer.max_batch_entries == 0 {
            return invalid("writer.max_batch_entries", "0".into(), "must be at least 1");
        }
        if self.max_concurrent_requests == 0 {
            return invalid("max_concurrent_requests", "0".into(), "must be at least 1");
        }
        if !(truce_auth::MIN_CELL_DEG..=180.0).contains(&self.coarsen_cell_deg) {
            return invalid(
                "coarsen_cell_deg",
                self.coarsen_cell_deg.to_string(),
                "must be a number of degrees from 0.000001 to 180",
            );
        }
        if self.log_origin.is_empty() || self.log_origin.contains(char::is_whitespace) {
            return invalid(
                "log_origin",
                format!("{:?}", self.log_origin),
                "must be non-empty without spaces",
            );
        }
        if let Some(read) = &self.read_database {
            let lower = read.expose().to_ascii_lowercase();
            if !(lower.starts_with("postgres://") || lower.starts_with("postgresql://")) {
                return invalid(
                    "read_database",
                    read.redacted(),
                    "must be a PostgreSQL URL (postgres://…): a replica of `database`",
                );
            }
            if self.database.as_ref().is_none_or(DatabaseUrl::is_sqlite) {
                return invalid(
                    "read_database",
                    read.redacted(),
                    "needs a PostgreSQL `database` to be a replica of; the SQLite store has none",
                );
            }
        }
        if self.cosign_interval_ms == 0 {
            return invalid("cosign_interval_ms", "0".into(), "must be at least 1");
        }
        if !(MIN_LEASE_MS..=MAX_LEASE_MS).contains(&self.sequencer_lease_ms) {
            return invalid(
                "sequencer_lease_ms",
                self.sequencer_lease_ms.to_string(),
                "must be from 300 ms to one hour",
            );
        }
        if !(MIN_FOLLOW_MS..=MAX_FOLLOW_MS).contains(&self.follow_interval_ms) {
            return invalid(
                "follow_interval_ms",
                self.follow_interval_ms.to_string(),
                "must be from 10 ms to one minute",
            );
        }
        if let Some(url) = &self.advertise_url {
            if let Err(reason) = check_advertise_url(url) {
                return invalid("advertise_url", format!("{url:?}"), reason);
            }
            if self.record != RecordPlace::Database {
                return invalid(
                    "advertise_url",
                    format!("{url:?}"),
                    "is only used with record = \"database\", where instances forward writes to the sequencer",
                );
            }
        }
        if self.record == RecordPlace::Database {
            if self.database.as_ref().is_none_or(DatabaseUrl::is_sqlite) {
                return invalid(
                    "record",
                    "database".into(),
                    "needs a PostgreSQL `database` to keep the record in",
                );
            }
            if !self.witnesses.is_empty() {
                return invalid(
                    "record",
                    "database".into(),
                    "cannot be combined with witnesses yet: cosigning reads and writes the log directory",
                );
            }
        }
        for (at, witness) in self.witnesses.iter().enumerate() {
            if !(witness.url.starts_with("http://") || witness.url.starts_with("https://")) {
                return invalid(
                    "witnesses.url",
                    format!("{:?}", witness.url),
                    "must be an http:// or https:// URL",
                );
            }
            let base = witness.url.trim_end_matches('/');
            if self.witnesses[..at]
                .iter()
                .any(|other| other.url.trim_end_matches('/') == base)
            {
                return invalid(
                    "witnesses.url",
                    format!("{:?}", witness.url),
                    "names a witness given before",
                );
            }
            match truce_note::Verifier::from_vkey(witness.vkey.trim()) {
                Ok(key) if key.signature_type() == truce_note::SignatureType::CosignatureV1 => {}
                _ => {
                    return invalid(
                        "witnesses.vkey",
                        format!("{:?}", witness.vkey),
                        "must be a witness's cosignature/v1 verifier key",
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_empty_file_is_the_defaults() {
        assert_eq!(
            ServerConfig::from_toml("").unwrap(),
            ServerConfig::default()
        );
    }

    #[test]
    fn fields_override_defaults_and_round_trip() {
        let config = ServerConfig::from_toml(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"/srv/truce\"\n[rate_limit]\nper_second = 5.0\nburst = 7\n[writer]\nmax_batch_latency_ms = 2\n",
        )
        .unwrap();
        assert_eq!(config.listen.port(), 0);
        assert_eq!(config.rate_limit.burst, 7);
        assert_eq!(config.writer.max_batch_latency_ms, 2);
        assert_eq!(config.writer.queue, WriterConfig::default().queue);
        let text = toml::to_string(&config).unwrap();
        assert_eq!(ServerConfig::from_toml(&text).unwrap(), config);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let error = ServerConfig::from_toml("listen_addr = \"x\"").unwrap_err();
        assert!(error.to_string().contains("listen_addr"), "{error}");
        let error = ServerConfig::from_toml("[rate_limit]\nper_second = 0.0").unwrap_err();
        assert_eq!(
            error.to_string(),
            "configuration field rate_limit.per_second = 0: must be a positive number"
        );
        let error = ServerConfig::from_toml("[body_limits]\nsingle_bytes = 10\nbatch_bytes = 5")
            .unwrap_err();
        assert!(
            error.to_string().contains("body_limits.batch_bytes = 5"),
            "{error}"
        );
    }

    #[test]
    fn the_database_url_is_read_and_its_password_never_shown() {
        let config =
            ServerConfig::from_toml("database = \"postgres://truce:s3cret-pw@db:5432/truce\"")
                .unwrap();
        let url = config.database.clone().unwrap();
        assert_eq!(url.expose(), "postgres://truce:s3cret-pw@db:5432/truce");
        assert_eq!(url.to_string(), "postgres://truce:***@db:5432/truce");
        assert!(!format!("{config:?}").contains("s3cret"));
        assert_eq!(
            url.scrub("cannot reach postgres://truce:s3cret-pw@db:5432/truce (s3cret-pw)"),
            "cannot reach postgres://truce:***@db:5432/truce (***)"
        );
        assert_eq!(
            redact_url("postgresql://u@h/db?sslmode=require&password=p%40ss"),
            "postgresql://u@h/db?sslmode=require&password=***"
        );
        assert_eq!(redact_url("postgres://u:p@h"), "postgres://u:***@h");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact_url("sqlite:"), "sqlite:");
        assert!(DatabaseUrl::new("SQLite:").is_sqlite());
        assert_eq!(ServerConfig::default().database, None);
    }

    #[test]
    fn a_read_database_needs_a_postgres_database_and_is_never_shown() {
        let config = ServerConfig::from_toml(
            "database = \"postgres://truce:pw-one@db/truce\"\n\
             read_database = \"postgres://reader:pw-two@replica/truce\"\n",
        )
        .unwrap();
        let read = config.read_database.clone().unwrap();
        assert_eq!(read.expose(), "postgres://reader:pw-two@replica/truce");
        assert!(!format!("{config:?}").contains("pw-two"));
        for text in [
            "read_database = \"postgres://reader:pw-two@replica/truce\"\n",
            "database = \"sqlite:\"\nread_database = \"postgres://reader:pw-two@replica/truce\"\n",
        ] {
            let error = ServerConfig::from_toml(text).unwrap_err().to_string();
            assert_eq!(
                error,
                "configuration field read_database = postgres://reader:***@replica/truce: \
                 needs a PostgreSQL `database` to be a replica of; the SQLite store has none"
            );
        }
        let error = ServerConfig::from_toml(
            "database = \"postgres://db/truce\"\nread_database = \"sqlite:\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("must be a PostgreSQL URL"), "{error}");
        assert_eq!(ServerConfig::default().read_database, None);
    }

    #[test]
    fn witnesses_are_read_as_tables_and_checked() {
        let cosigner = truce_note::Cosigner::from_seed(
            truce_note::KeyName::new("witness.ua.example").unwrap(),
            &[3; 32],
        );
        let vkey = cosigner.verifier().to_vkey();
        let config = ServerConfig::from_toml(&format!(
            "[[witnesses]]\nurl = \"http://127.0.0.1:7380\"\nvkey = \"{vkey}\"\n"
        ))
        .unwrap();
        assert_eq!(
            config.witnesses,
            [WitnessConfig {
                url: "http://127.0.0.1:7380".into(),
                vkey: vkey.clone(),
            }]
        );
        let text = toml::to_string(&config).unwrap();
        assert_eq!(ServerConfig::from_toml(&text).unwrap(), config);
        let error = ServerConfig::from_toml(&format!(
            "[[witnesses]]\nurl = \"ftp://w\"\nvkey = \"{vkey}\"\n"
        ))
        .unwrap_err();
        assert!(error.to_string().contains("witnesses.url"), "{error}");
        let log_key = truce_note::NoteSigner::from_seed(
            truce_note::KeyName::new("log.example").unwrap(),
            &[4; 32],
        );
        let error = ServerConfig::from_toml(&format!(
            "[[witnesses]]\nurl = \"http://w\"\nvkey = \"{}\"\n",
            log_key.verifier().to_vkey()
        ))
        .unwrap_err();
        assert!(error.to_string().contains("witnesses.vkey"), "{error}");
        let error = ServerConfig::from_toml(&format!(
            "[[witnesses]]\nurl = \"http://w\"\nvkey = \"{vkey}\"\n[[witnesses]]\nurl = \"http://w/\"\nvkey = \"{vkey}\"\n"
        ))
        .unwrap_err();
        assert!(error.to_string().contains("given before"), "{error}");
    }

    #[test]
    fn the_advertised_address_is_a_plain_http_base_url_for_a_database_record() {
        let base = "database = \"postgres://db/truce\"\nrecord = \"database\"\n";
        for good in [
            "http://10.0.0.5:8080",
            "http://truce-a.mission.internal:8080/",
            "http://[::1]:8080",
        ] {
            let config =
                ServerConfig::from_toml(&format!("{base}advertise_url = \"{good}\"\n")).unwrap();
            assert_eq!(config.advertise_url.as_deref(), Some(good));
        }
        for (bad, reason) in [
            ("https://a:1", "http://"),
            ("http://", "no host"),
            ("http://a:1/truce", "no path"),
            ("http://user@a:1", "no path"),
            ("http://a:port", "valid host"),
        ] {
            let error = ServerConfig::from_toml(&format!("{base}advertise_url = \"{bad}\"\n"))
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("advertise_url") && error.contains(reason),
                "{bad}: {error}"
            );
        }
        let error = ServerConfig::from_toml("advertise_url = \"http://a:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("only used with record"), "{error}");
        let error = ServerConfig::from_toml(&format!("{base}follow_interval_ms = 5\n"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("follow_interval_ms"), "{error}");
        assert_eq!(ServerConfig::default().follow_interval_ms, 250);
    }

    #[test]
    fn the_record_goes_to_the_database_only_with_postgres_and_no_witnesses() {
        assert_eq!(ServerConfig::default().record, RecordPlace::DataDir);
        let config = ServerConfig::from_toml(
            "database = \"postgres://db/truce\"\nrecord = \"database\"\nsequencer_lease_ms = 2000\n",
        )
        .unwrap();
        assert_eq!(config.record, RecordPlace::Database);
        assert_eq!(config.sequencer_lease_ms, 2000);
        for text in [
            "record = \"database\"\n",
            "database = \"sqlite:\"\nrecord = \"database\"\n",
            "database = \"postgres://db/truce\"\nrecord = \"database\"\n\
             [[witnesses]]\nurl = \"http://w.example\"\nvkey = \"x\"\n",
            "database = \"postgres://db/truce\"\nrecord = \"database\"\nsequencer_lease_ms = 10\n",
        ] {
            let error = ServerConfig::from_toml(text).unwrap_err().to_string();
            assert!(
                error.contains("record") || error.contains("sequencer_lease_ms"),
                "{text}: {error}"
            );
        }
        assert!(ServerConfig::from_toml("record = \"elsewhere\"\n").is_err());
        assert_eq!("data-dir".parse(), Ok(RecordPlace::DataDir));
        assert_eq!("database".parse(), Ok(RecordPlace::Database));
        assert!("disk".parse::<RecordPlace>().is_err());
    }
}
