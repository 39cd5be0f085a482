//! Seeded scenario simulator (docs below are completed after tuning).

mod ari;
mod draw;
mod error;
mod generate;
mod geography;
mod scenario;

pub use ari::adjusted_rand_index;
pub use error::SimError;
pub use generate::{
    IncidentKind, Simulation, TruthRecord, simulate, simulate_with, write_truth_csv,
};
pub use geography::{City, Geography, LineSide};
pub use scenario::{PartySpec, Scenario};
