"""Prints the reference tables of truce-stats' tests, computed with scipy.

Run with python3 (scipy >= 1.11 for betaincc; mpmath for 40-digit log-gamma
and log-beta values, the check of scipy's gammaln near its zeros and of
betaln with very unequal arguments) and paste the
output of each section into the named test file. The values come from scipy
(and mpmath); nothing here uses the crate under test.
"""

import math
import sys

import scipy
from scipy import special, stats


def lit(value):
    """A Rust f64 literal that round-trips the Python float."""
    if math.isinf(value):
        return "f64::INFINITY"
    text = repr(float(value))
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}e{int(exponent)}"
    if "." not in text:
        text += ".0"
    return text


def ln_gamma_table():
    xs = [1e-300, 1e-10, 1e-3, 0.1, 0.3, 0.5, 0.9, 0.999, 1.0, 1.001, 1.25, 1.4999,
          1.5, 1.75, 1.9, 1.999999, 2.0, 2.000001, 2.2, 2.5, 3.0, 4.5, 7.3, 10.0,
          14.99, 15.0, 33.3, 100.5, 1e3, 12345.678, 1e5, 1e7, 1e10, 1e15]
    import mpmath

    mpmath.mp.dps = 40
    print("// (x, scipy.special.gammaln(x), mpmath.loggamma(x) at 40 digits)")
    print(f"const LN_GAMMA: [(f64, f64, f64); {len(xs)}] = [")
    for x in xs:
        exact = float(mpmath.loggamma(mpmath.mpf(x)))
        print(f"    ({lit(x)}, {lit(special.gammaln(x))}, {lit(exact)}),")
    print("];")


def ln_beta_table():
    import mpmath

    mpmath.mp.dps = 40
    shapes = [0.5, 1.0, 2.5, 9.5, 10.0, 37.5, 250.0, 1e4, 1e5, 1e9]
    pairs = [(a, b) for a in shapes for b in shapes if a <= b]
    print("// (a, b, scipy.special.betaln(a, b), mpmath.log(mpmath.beta(a, b)) at 40 digits)")
    print(f"const LN_BETA: [(f64, f64, f64, f64); {len(pairs)}] = [")
    for a, b in pairs:
        exact = float(mpmath.log(mpmath.beta(mpmath.mpf(a), mpmath.mpf(b))))
        print(f"    ({lit(a)}, {lit(b)}, {lit(special.betaln(a, b))}, {lit(exact)}),")
    print("];")


def incomplete_beta_table():
    shapes = [0.5, 1.0, 2.5, 10.0, 37.5, 250.0, 1e4, 1e5]
    xs = [1e-4, 0.05, 0.3, 0.5, 0.7, 0.95, 0.9999]
    rows = []
    for a in shapes:
        for b in shapes:
            for x in xs:
                lower = special.betainc(a, b, x)
                upper = special.betaincc(a, b, x)
                # Leave out values that underflow or sit below 1e-300.
                if lower >= 1e-300 and upper >= 1e-300:
                    rows.append((a, b, x, lower, upper))
    print("// (a, b, x, scipy.special.betainc(a, b, x), scipy.special.betaincc(a, b, x))")
    print(f"const INCOMPLETE_BETA: [(f64, f64, f64, f64, f64); {len(rows)}] = [")
    for row in rows:
        print("    (" + ", ".join(lit(v) for v in row) + "),")
    print("];")


def inverse_table():
    shapes = [0.5, 1.0, 3.0, 20.0, 150.0, 1e4, 1e5]
    ps = [1e-12, 0.025, 0.3, 0.5, 0.975, 1.0 - 1e-9]
    rows = []
    for a in shapes:
        for b in shapes:
            for p in ps:
                x = special.betaincinv(a, b, p)
                if 0.0 < x < 1.0:
                    rows.append((a, b, p, x))
    print("// (a, b, p, scipy.special.betaincinv(a, b, p))")
    print(f"const INVERSE_BETA: [(f64, f64, f64, f64); {len(rows)}] = [")
    for row in rows:
        print("    (" + ", ".join(lit(v) for v in row) + "),")
    print("];")


def binomial_table():
    cases = [(0, 10, 0.3), (3, 10, 0.3), (9, 10, 0.3), (10, 10, 0.3), (1, 1, 0.5),
             (17, 120, 0.5), (60, 120, 0.5), (150, 1000, 0.2), (250, 1000, 0.2),
             (99_000, 200_000, 0.5), (71_000, 171_000, 0.5), (2, 40_000, 1e-4),
             (12, 13, 0.2), (500, 600, 0.9)]
    print("// (k, n, p, scipy.stats.binom.cdf(k, n, p), scipy.stats.binom.sf(k - 1, n, p))")
    print(f"const BINOMIAL: [(u64, u64, f64, f64, f64); {len(cases)}] = [")
    for k, n, p in cases:
        at_most = stats.binom.cdf(k, n, p)
        at_least = stats.binom.sf(k - 1, n, p)
        print(f"    ({k}, {n}, {lit(p)}, {lit(at_most)}, {lit(at_least)}),")
    print("];")


# (events before, days before, events during, days during)
RATE_CASES = [
    (100, 30.0, 29, 30.0),          # a clear fall, equal exposures
    (50, 30.0, 50, 30.0),           # equal rates
    (1, 7.0, 3, 7.0),               # very small counts
    (9, 1.0, 2, 1.0),               # a single day each
    (40, 30.0, 0, 30.0),            # nothing during
    (0, 30.0, 12, 30.0),            # nothing before
    (0, 7.0, 5, 30.0),              # nothing before, unequal exposures
    (8, 45.5, 0, 3.25),             # nothing during, fractional exposures
    (120, 60.0, 20, 14.0),          # unequal exposures
    (35, 90.0, 4, 7.0),             # unequal exposures, rise
    (100_000, 365.0, 71_000, 365.0),  # large counts, a fall
    (100_000, 200.0, 100_500, 200.0),  # large counts, no significant change
    (100_000, 365.0, 30_000, 92.0),   # large counts, unequal exposures
    (3, 200.0, 1, 0.5),             # a long reference against half a day
    (1_000_000_000, 100.0, 1_000_050_000, 100.0),  # 10^9 events, p-value near 0.26
    (1_000_000_000_000, 365.0, 500_000_000_000, 365.0),  # the largest supported counts
]


def rate_ratio_table():
    print("// (events before, days before, events during, days during,")
    print("//  ratio, ci low, ci high, p-value doubled smaller tail, scipy binomtest p-value)")
    print("// with n = before + during, p0 = days during / (days before + days during):")
    print("//  ci: binomtest(during, n, p0).proportion_ci(0.95, method='exact') mapped by")
    print("//      R = p / (1 - p) * days before / days during (1 maps to infinity);")
    print("//  p-value: min(1, 2 * min(binom.cdf(during, n, p0), binom.sf(during - 1, n, p0)));")
    print("//  last column: binomtest(during, n, p0).pvalue (two-sided, 'minlike'), for comparison.")
    print(f"const RATE_RATIOS: [RateCase; {len(RATE_CASES)}] = [")
    for x1, t1, x2, t2 in RATE_CASES:
        n = x1 + x2
        p0 = t2 / (t1 + t2)
        test = stats.binomtest(x2, n, p0)
        ci = test.proportion_ci(confidence_level=0.95, method="exact")

        def to_ratio(p):
            if p >= 1.0:
                return math.inf
            return p / (1.0 - p) * t1 / t2

        low, high = to_ratio(ci.low), to_ratio(ci.high)
        ratio = (x2 / t2) / (x1 / t1) if x1 > 0 else math.nan
        doubled = min(1.0, 2.0 * min(stats.binom.cdf(x2, n, p0), stats.binom.sf(x2 - 1, n, p0)))
        ratio_text = "None" if math.isnan(ratio) else f"Some({lit(ratio)})"
        print(f"    RateCase {{ before: ({x1}, {lit(t1)}), during: ({x2}, {lit(t2)}), "
              f"ratio: {ratio_text}, ci95: ({lit(low)}, {lit(high)}), "
              f"p_value: {lit(doubled)}, binomtest_p_value: {lit(test.pvalue)} }},")
    print("];")


if __name__ == "__main__":
    print(f"// scipy {scipy.__version__}", file=sys.stderr)
    section = sys.argv[1] if len(sys.argv) > 1 else "all"
    if section in ("special", "all"):
        ln_gamma_table()
        ln_beta_table()
        incomplete_beta_table()
        inverse_table()
        binomial_table()
    if section in ("rate", "all"):
        rate_ratio_table()
