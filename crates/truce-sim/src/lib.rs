//! Seeded scenario simulator: streams of reports about a simulated conflict, with the
//! ground truth behind every report, for tests, examples and benchmarks.
//!
//! ```
//! use truce_sim::{Scenario, adjusted_rand_index, simulate};
//!
//! let simulation = simulate(&Scenario::dense_shelling(7))?;
//! let truth = simulation.incident_labels();
//! // A clustering that found every incident scores 1.
//! assert_eq!(adjusted_rand_index(&truth, &truth), 1.0);
//! # Ok::<(), truce_sim::SimError>(())
//! ```
//!
//! # Determinism
//! The same [`Scenario`] (seed included) gives byte-identical reports and truth on every
//! machine. All randomness comes from ChaCha8 (`rand_chacha`), seeded with
//! `seed_from_u64(seed)`, one ChaCha stream per component (background incidents, bursts,
//! reports, fabricated accusations), so changing, say, the number of bursts leaves the
//! background incidents as they were. Floats are only combined with `+ - * /` and `sqrt`
//! (correctly rounded on every platform) and the pure-Rust `libm` crate (`log`, `exp`,
//! `sin`, `cos`); the system maths library, `rand_distr` (whose float maths follows the
//! build's `num-traits` features) and platform-sized integers are not used. Nothing iterates
//! a hash map. Output is sorted by report id. A test pins a digest of one scenario's output.
//!
//! # The model
//! Time runs from `start` for `days` × 24 h. All distances are metres on the WGS84
//! ellipsoid, moved in the local tangent plane of a point (good to about 1e-4 over the
//! 30 km the simulator moves points).
//!
//! ## True incidents
//! - **Counts.** The period is cut into UTC hours, split at `truce_start`. In each piece, each
//!   party causes Poisson(rate × hour weight × piece length in days) incidents, where rate is
//!   its `rate_before` or `rate_after` per day and the hour weight is `night_weight` (1.4 in
//!   the presets) from 17:00 to 03:00 UTC and `(24 − 10 × night_weight) / 14` otherwise (mean
//!   1 over a day). Daily counts are therefore Poisson with the party's daily rate. Times are
//!   uniform within the piece, to the millisecond.
//! - **Deep strikes.** With probability `deep_strike_share` (7 %) an incident is a missile
//!   (35 %) or drone (65 %) strike on a city of the perpetrator's `deep_strike_targets`
//!   (uniform): energy facilities land uniformly 3–15 km from the city centre, other targets
//!   within 8 km. Targets: energy 40 % (power transmission 16, generation 10, oil refinery 8,
//!   oil and gas pipelines/storage 6), residential 25, civilian infrastructure 10,
//!   military 15, transport 10.
//! - **Front-line fire** (the rest): a point uniform along the line of contact
//!   (`data/geo/line-of-contact-2025.geojson`), moved perpendicular to the line, onto the side
//!   the *other* party holds, by a distance uniform in a range set by the action:
//!   artillery 45 % (2–25 km), mortar 15 % (0.5–6), MLRS 10 % (3–25), drone 18 % (1–20),
//!   air strike/glide bomb 6 % (5–30), small arms 3 % and ground assault 3 % (0.2–3).
//!   Targets: military 55 %, residential 22, civilian infrastructure 8, transport 6,
//!   power transmission 4, power generation 1, medical 2, education 2. Sides: looking along
//!   the line in the order of its coordinates, Ukraine holds the left and Russia the right
//!   ([`LineSide`]); the line is accurate to 10–20 km, so which side a point is on near the
//!   line is illustrative only.
//! - **Casualties.** Only civilian ones: an incident on a non-military target hurts someone
//!   with probability 20 % (front), 40 % (deep strike), 15 % (burst), 30 % (fabricated);
//!   then killed ~ geometric with mean 0.6 and injured ~ 1 + geometric with mean 1.5.
//! - **Place.** The nearest city of `cities.csv` within 20 km (front), the city (deep
//!   strike), the town (burst).
//!
//! ## Dense-shelling bursts
//! `dense_bursts` bursts of exactly `burst_size` (200) true incidents each. Burst `i` hits
//! town `burst_towns[i mod len]` (Toretsk, Chasiv Yar, Pokrovsk, ...) on a day drawn
//! uniformly from the period; its incidents have times uniform over that UTC day (about one
//! every 7 minutes), positions uniform in a disk of `burst_radius_m` (5 km) around the town
//! centre, a main perpetrator (drawn per burst) for 85 % of them and the other party for the
//! rest. Actions: artillery 60 %, mortar 15, MLRS 10, drone 10, air strike 5; targets:
//! residential 45 %, military 30, civilian infrastructure 15, transport 4, medical 3,
//! education 3.
//!
//! **Spacing.** Incidents are placed in time order; each tries up to 400 uniform positions
//! and takes the first that is at least `burst_min_separation_m` (1.2 km) from every
//! incident of the same burst less than `burst_separation_window_min` (45 min) earlier, or
//! else the position farthest from them (in practice the separation always holds at the
//! preset density). So two incidents of a burst are either ≥ 1.2 km or ≥ 45 min apart; the
//! mean distance to the nearest incident within 45 minutes is about 1.8 km, and to the
//! nearest at any time about 330 m. Naive chaining (say 5 km and 60 minutes)
//! merges a burst into one incident; linking reports whose uncertainty disks overlap and
//! whose times are within 15 minutes keeps them apart (the tests check an adjusted Rand
//! index ≥ 0.95 for that rule on both presets, and < 0.5 for the naive one).
//!
//! ## Reports of true incidents
//! - **How many.** 1–4 per incident with probabilities 35/30/20/15 % (front), 10/30/30/30 %
//!   (deep strike), 1–3 with 40/35/25 % (burst), from *distinct* sources.
//! - **Who.** Sources are drawn without replacement with weights by role:
//!
//!   | source | front | deep strike | burst |
//!   | --- | --- | --- | --- |
//!   | the victim party's main source (`ua_gs`, `ru_mod`) | 3.0 | 3.0 | 3.0 |
//!   | the victim party's other sources, each | 1.0 | 1.5 | 1.0 |
//!   | the perpetrator's own sources | c × the above | c × | c × |
//!   | monitoring patrols (`mission_patrol_N`), together | 3.0 | 0.3 | 4.0 |
//!   | media (`media_1..3`), each | 0.4 | 1.0 | 0.4 |
//!   | OSINT (`osint_1..2`), each | 0.5 | 0.8 | 0.5 |
//!   | the public (one of `public_001..040`) | 0.8 | 1.2 | 0.8 |
//!
//!   with c = `contradicting_attribution_share` (10 %). [`Scenario::sources`] lists them all.
//! - **Where.** An uncertainty radius drawn per report from the source kind's table —
//!   monitor {100, 250, 500, 1000} m with 30/35/25/10 %, party {250, 500, 1000, 2000} with
//!   20/30/30/20, media {500, 1000, 2000} with 20/40/40, OSINT {100, 250, 500} with 40/40/20,
//!   public like party; every burst report {100, 250, 500} with 35/50/15 — and the reported
//!   point is the true one plus a bivariate normal error with sigma = radius / 2 in each
//!   axis, redrawn until it is within 0.98 × radius: the true event always lies in the
//!   stated disk.
//! - **When.** An instant (probability: monitor 90 %, party 75, media 70, OSINT 85,
//!   public 60; burst reports 90) with a normal error, sigma monitor 2 min, party 5,
//!   media 8, OSINT 3, public 10, burst 2.5, cut at 3 sigma (so at most 30 min), written to
//!   the second; otherwise an interval of whole minutes, 15/30/60/120 min long with
//!   25/30/25/20 % (burst: 10/20/30 min with 40/40/20), holding the true instant at a
//!   uniform position. Times are clamped into the period.
//! - **What.** The true action, or with probability 10–20 % (10 % in bursts) another action
//!   [`truce_model::ActionType::compatible`] with it; the true target, or `unknown` with
//!   probability monitor 10 %, party 5, media 15, OSINT 20, public 30; an energy target
//!   loses its sub-kind with probability 30 %.
//! - **Who did it.** A party source always accuses the other party: the truth when it speaks
//!   for the victim, a counter-accusation when it speaks for the perpetrator. Monitors name
//!   the perpetrator in 35 % of reports, always correctly. Media (60 %), OSINT (50 %) and the
//!   public (50 %) name a perpetrator, the wrong one with probability c.
//! - **Casualties.** The true ones with probability monitor 85 %, party 100, media 80,
//!   OSINT 40, public 50, else none; the victim party adds 1 + geometric(mean 1) injured
//!   with probability 25 % when there are casualties.
//! - **Other fields.** The place name with probability 75 %; one evidence hash
//!   (`sha256:` + 64 random hex digits; no file behind it) with probability monitor 50 %,
//!   party 10, media 20, OSINT 80, public 30; no text, actors or site.
//!
//! ## Fabricated accusations
//! `round(false_accusation_share × genuine party reports)` reports of events that never
//! happened, at times uniform over the whole period (so under a truce they are a larger
//! share of the accusations, as in April 2025). Each is one report by a party (drawn 50/50)
//! from its main source (70 %) or another of its sources, accusing the other party: 90 % at
//! front-line points 1–20 km inside its own side, 10 % at one of its cities the other party
//! targets; artillery 50 %, mortar 15, MLRS 15, drone 20 (missile 35 / drone 65 at cities);
//! targets residential 40 %, civilian infrastructure 15, power transmission 10, power
//! generation 5, medical 5, education 5, military 10, unknown 10. Report habits are the
//! party's. The truth records the alleged event with `fabricated = true` and no perpetrator.
//!
//! ## Ids and order
//! True incidents are numbered in time order: `sim-0000001`, ...; their reports
//! `sim-0000001-1` ... `-4`. Fabricated ones are `sim-f0000001-1`, ... Reports and
//! [`TruthRecord`]s are sorted by report id and aligned index by index.
//!
//! ## Presets and scale
//! [`Scenario::default_scenario`] (60 days around a hypothetical 30-day ceasefire, about
//! 4,700 reports), [`Scenario::dense_shelling`] (6 days around a short truce with three
//! bursts, about 1,600 reports) and [`Scenario::scaled`] (the default with rates multiplied
//! to reach a report count; 100,000 reports take about 4 s in a debug build). Scenarios are
//! plain data: [`Scenario::from_json`] reads one.
//!
//! # What it does not model
//! Observation coverage and access denials, waves of strikes, the movement of the line,
//! military casualties, retractions and corrections, free text.

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
