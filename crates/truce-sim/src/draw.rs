//! Random draws that give the same bits on every machine.
//!
//! Everything is built on `ChaCha8Rng::next_u64` with integer arithmetic, IEEE basic
//! operations (`+ - * /`, `sqrt`, which are correctly rounded everywhere) and the pure-Rust
//! `libm` crate for `log`/`exp`. Neither `rand_distr` (whose float maths follows whatever
//! `num-traits` features the build unifies, i.e. the system maths library) nor `usize`
//! ranges (whose width depends on the platform) are used.

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random streams of one simulation: one per component, so that changing one part of a
/// scenario (say the number of bursts) leaves the draws of the others unchanged.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    /// Front-line incidents and deep strikes.
    Incidents = 1,
    /// Dense-shelling bursts.
    Bursts = 2,
    /// Reports of true incidents.
    Reports = 3,
    /// Fabricated accusations.
    Fabricated = 4,
}

/// A seeded generator with the distributions the simulator needs.
#[derive(Debug, Clone)]
pub(crate) struct Draw {
    rng: ChaCha8Rng,
}

/// 2^-53.
const UNIT: f64 = 1.0 / 9_007_199_254_740_992.0;

impl Draw {
    /// The generator of one stream of a seed.
    pub(crate) fn new(seed: u64, stream: Stream) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream as u64);
        Draw { rng }
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * UNIT
    }

    /// Uniform in `(0, 1]`.
    fn unit_open_low(&mut self) -> f64 {
        ((self.rng.next_u64() >> 11) + 1) as f64 * UNIT
    }

    /// Uniform in `[low, high)`.
    pub(crate) fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Uniform integer in `[0, n)`; `n` must be positive.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n <= 1 {
            0
        } else {
            self.rng.random_range(0..n)
        }
    }

    /// True with probability `p` (clamped to `[0, 1]`).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index drawn with probability proportional to `weights` (non-negative, not all zero;
    /// with all zero the last index is returned).
    pub(crate) fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (index, weight) in weights.iter().enumerate() {
            if x < *weight {
                return index;
            }
            x -= weight;
        }
        // Rounding can leave `x` a hair above the last weight: take the last positive one.
        weights
            .iter()
            .rposition(|w| *w > 0.0)
            .unwrap_or(weights.len().saturating_sub(1))
    }

    /// A value from a table of `(value, weight)`.
    pub(crate) fn pick<T: Copy>(&mut self, table: &[(T, f64)]) -> T {
        let mut total = 0.0;
        for (_, weight) in table {
            total += weight;
        }
        let mut x = self.unit() * total;
        for (value, weight) in table {
            if x < *weight {
                return *value;
            }
            x -= weight;
        }
        let mut last = table[0].0;
        for (value, weight) in table {
            if *weight > 0.0 {
                last = *value;
            }
        }
        last
    }

    /// A standard normal variate (Marsaglia's polar method).
    pub(crate) fn normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.unit() - 1.0;
            let v = 2.0 * self.unit() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * libm::log(s) / s).sqrt();
            }
        }
    }

    /// A Poisson variate with mean `lambda` (Knuth's product of uniforms, in chunks of mean at
    /// most 200 so `exp(-chunk)` stays far from underflow; sums of independent Poisson
    /// variates are Poisson). Cost is linear in `lambda`, which is the number of events made.
    pub(crate) fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda.is_nan() || lambda <= 0.0 {
            return 0;
        }
        let mut remaining = lambda;
        let mut total = 0;
        while remaining > 0.0 {
            let chunk = remaining.min(200.0);
            remaining -= chunk;
            let limit = libm::exp(-chunk);
            let mut product = self.unit_open_low();
            while product > limit {
                total += 1;
                product *= self.unit_open_low();
            }
        }
        total
    }

    /// A geometric count with the given mean: `P(k) = (1 - q) q^k`, `q = mean / (1 + mean)`.
    pub(crate) fn geometric(&mut self, mean: f64) -> u32 {
        let q = mean / (1.0 + mean);
        let mut k = 0;
        while k < 1000 && self.chance(q) {
            k += 1;
        }
        k
    }

    /// 32 random bytes as lower-case hex.
    pub(crate) fn hex32(&mut self) -> String {
        let mut text = String::with_capacity(64);
        for _ in 0..4 {
            let word = self.rng.next_u64();
            for shift in (0..16).rev() {
                let nibble = ((word >> (shift * 4)) & 0xf) as usize;
                text.push(b"0123456789abcdef"[nibble] as char);
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..5)
            .map(|_| Draw::new(7, Stream::Reports).below(1 << 40))
            .collect();
        let mut one = Draw::new(7, Stream::Reports);
        let mut two = Draw::new(7, Stream::Reports);
        let mut other = Draw::new(7, Stream::Bursts);
        let xs: Vec<u64> = (0..50).map(|_| one.below(1_000_000)).collect();
        let ys: Vec<u64> = (0..50).map(|_| two.below(1_000_000)).collect();
        let zs: Vec<u64> = (0..50).map(|_| other.below(1_000_000)).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        assert!(a.iter().all(|x| *x == a[0]));
    }

    #[test]
    fn moments_are_close_to_the_targets() {
        let mut draw = Draw::new(1, Stream::Incidents);
        let n = 40_000;
        let normals: Vec<f64> = (0..n).map(|_| draw.normal()).collect();
        let mean = normals.iter().sum::<f64>() / n as f64;
        let var = normals.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02, "normal mean {mean}");
        assert!((var - 1.0).abs() < 0.03, "normal variance {var}");

        for lambda in [0.3, 4.0, 60.0, 450.0] {
            let m = 4_000;
            let counts: Vec<f64> = (0..m).map(|_| draw.poisson(lambda) as f64).collect();
            let mean = counts.iter().sum::<f64>() / m as f64;
            let var = counts.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / m as f64;
            let se = (lambda / m as f64).sqrt();
            assert!(
                (mean - lambda).abs() < 5.0 * se,
                "poisson({lambda}) mean {mean}"
            );
            assert!(
                (var / lambda - 1.0).abs() < 0.12,
                "poisson({lambda}) variance {var}"
            );
        }
        assert_eq!(draw.poisson(0.0), 0);
        assert_eq!(draw.poisson(f64::NAN), 0);

        let geometric: f64 = (0..n).map(|_| f64::from(draw.geometric(2.0))).sum::<f64>() / n as f64;
        assert!((geometric - 2.0).abs() < 0.08, "geometric mean {geometric}");
    }

    #[test]
    fn weighted_choice_follows_weights_and_skips_zeros() {
        let mut draw = Draw::new(3, Stream::Bursts);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[draw.weighted(&[1.0, 0.0, 3.0])] += 1;
        }
        assert_eq!(counts[1], 0);
        let share = f64::from(counts[2]) / 30_000.0;
        assert!((share - 0.75).abs() < 0.02, "{share}");
        assert_eq!(draw.pick(&[('a', 0.0), ('b', 2.0)]), 'b');
        assert_eq!(draw.hex32().len(), 64);
    }
}
