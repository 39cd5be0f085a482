//! A deterministic stand-in for the peer benchmark's `gen.py` (which needs numpy): rows in
//! the same layout and value ranges, ~98 bytes each, for tests and the benchmark.

use std::fmt::Write;

const SOURCES: [&str; 12] = [
    "osce_smm",
    "acled",
    "hrmmu",
    "ua_gs",
    "ru_mod",
    "ua_regional_admin",
    "local_media",
    "telegram_ua",
    "telegram_ru",
    "ngo_monitor_a",
    "ngo_monitor_b",
    "satellite_analyst",
];
const ACTIONS: [&str; 10] = [
    "artillery",
    "mortar",
    "mlrs",
    "shelling",
    "airstrike",
    "missile",
    "drone",
    "small_arms",
    "ground_assault",
    "mine",
];
const TARGETS: [&str; 9] = [
    "military_position",
    "residential",
    "civilian_infrastructure",
    "energy",
    "agricultural",
    "medical",
    "education",
    "transport",
    "unknown",
];
const PARTIES: [&str; 3] = ["RU", "UA", "unknown"];
const UNCERTAINTIES: [u32; 5] = [100, 250, 500, 1000, 2000];

/// xorshift64*: small, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `n` rows of the peer layout (header included).
#[allow(dead_code)]
pub fn peer_csv(n: usize, seed: u64) -> String {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut out = String::with_capacity(n * 100 + 100);
    out.push_str("id,ts,lon,lat,loc_unc_m,source,accused,action,target,civ_cas,true_incident\n");
    let start = jiff::Timestamp::from_second(1_704_067_200).expect("in range"); // 2024-01-01T00:00:00Z
    for id in 1..=n {
        let seconds = rng.below(365 * 86_400) as i64;
        let ts = start
            .checked_add(jiff::SignedDuration::from_secs(seconds))
            .expect("in range");
        let lon = 22_000_000 + rng.below(18_300_000);
        let lat = 44_300_000 + rng.below(8_100_000);
        let civ_cas = if rng.below(5) == 0 { rng.below(6) } else { 0 };
        writeln!(
            out,
            "{id},{ts},{}.{:06},{}.{:06},{},{},{},{},{},{civ_cas},{}",
            lon / 1_000_000,
            lon % 1_000_000,
            lat / 1_000_000,
            lat % 1_000_000,
            UNCERTAINTIES[rng.below(5) as usize],
            SOURCES[rng.below(12) as usize],
            PARTIES[rng.below(3) as usize],
            ACTIONS[rng.below(10) as usize],
            TARGETS[rng.below(9) as usize],
            id / 2 + 1,
        )
        .expect("writing to a String cannot fail");
    }
    out
}
