//! Helpers shared by the ingest tests (and, through `#[path]`, the benchmark).

pub mod peer_gen;
