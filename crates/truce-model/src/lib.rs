//! Domain types of truce and their parsing: the vocabulary, agreements and reports.
//!
//! This crate reads bytes it is given and never touches the file system itself: a caller
//! that wants an agreement from disk hands it a [`agreement::FileSource`] that loads
//! referenced zone files.

pub mod agreement;
pub mod ingest;
pub mod report;
pub mod vocab;

pub use report::{Casualties, Location, Report, Source, TimeSpan};
pub use vocab::{ActionType, EnergyKind, SourceKind, Target, TargetKind};
