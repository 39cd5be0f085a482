//! Domain types of truce and their parsing: the vocabulary, agreements and reports.
//!
//! This crate reads bytes it is given and never touches the file system itself: a caller
//! that wants an agreement from disk hands it a [`agreement::FileSource`] that loads
//! referenced zone files.

pub mod agreement;
pub mod ingest;
mod repeated_keys;
pub mod report;
pub mod vocab;

pub use report::{Casualties, Details, Location, Report, ReportDetails, Source, TimeSpan};
/// Identifiers and names (report, source, party, actor, site ids): short ones are stored
/// inline and clones of long ones share one allocation, so copying them into incidents and
/// findings costs no allocation.
pub use smol_str::SmolStr;
pub use vocab::{ActionType, EnergyKind, SourceKind, Target, TargetKind};
