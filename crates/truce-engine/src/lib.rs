//! The pure core of truce. Nothing here reads a file, a clock or the network: every function
//! is a deterministic function of its arguments.

pub mod adjudicate;
pub mod assess;
pub mod corroborate;
pub mod geodesy;
pub mod incident;
pub mod intake;
pub mod live;
mod permute;
mod read_ahead;
pub mod reason;
pub mod review;
pub mod zone_index;
pub mod zone_screen;
