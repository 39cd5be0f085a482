//! Settings that change how values are read.

use jiff::tz::TimeZone;

/// Settings for reading and writing reports.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The time zone of values that are calendar dates without a time (`2025-03-20` in our
    /// formats, ACLED's `event_date`, UCDP's `date_start`/`date_end`): such a value means the
    /// whole civil day in this zone, from 00:00 to the last millisecond before the next
    /// midnight. Writers of date-only formats (ACLED, UCDP) take dates in this zone too.
    pub local_zone: TimeZone,
    /// Whether the accepted reports may come in id order (by id, then row) instead of input
    /// order, for a caller that puts them in id order anyway (as merging files does). Readers
    /// that can read the rows in that order straight away do (the peer layout); the others
    /// keep input order. `rows` stay parallel to the reports, and rejections stay in input
    /// order either way.
    pub id_order: bool,
}

impl IngestOptions {
    /// The zone used when none is given: `Europe/Kyiv`, where the canonical examples happen.
    pub const DEFAULT_ZONE: &'static str = "Europe/Kyiv";
}

impl Default for IngestOptions {
    fn default() -> Self {
        // The tz database is bundled into the binary (jiff feature `tzdb-bundle-always`), so
        // the lookup does not depend on the machine; UTC is only a last resort.
        let local_zone = TimeZone::get(Self::DEFAULT_ZONE).unwrap_or(TimeZone::UTC);
        IngestOptions {
            local_zone,
            id_order: false,
        }
    }
}
