//! Distances on the WGS84 ellipsoid, for lon/lat degrees as GeoJSON writes them.
//!
//! Every distance the engine compares with an uncertainty radius is geodesic: the length of the
//! shortest path on the WGS84 ellipsoid, computed with Karney's algorithm (through
//! [`geo::Geodesic`]). Zone *edges*, on the other hand, are straight lines in lon/lat, as
//! RFC 7946 reads them; [`distance_to_segment_m`] measures from a point to such an edge.
//!
//! Besides the two distances, the module holds the bounds the zone index relies on to avoid
//! computing geodesics: the radii of curvature, [`disk_bounding_box`] (a lon/lat box that surely
//! contains a geodesic disk), [`lower_bound_distance_to_box_m`] (a distance no path from a point to
//! a lon/lat box can beat) and [`LocalFrame::approx_distance_m`], a cheap estimate with a stated
//! error bound.
//!
//! Longitudes are not wrapped at the antimeridian except where a bound says so: the engine's zones
//! and events are assumed not to straddle ±180° (RFC 7946 asks for such geometry to be split).

use geo::{Distance, Geodesic, Point};

/// Equatorial radius of the WGS84 ellipsoid, in metres.
pub const WGS84_A: f64 = 6_378_137.0;
/// Flattening of the WGS84 ellipsoid.
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;
/// First eccentricity squared of the WGS84 ellipsoid.
pub const WGS84_E2: f64 = WGS84_F * (2.0 - WGS84_F);
/// The smallest meridional radius of curvature of WGS84 (reached at the equator), in metres.
///
/// Any path that changes latitude by `dlat` radians is at least `MIN_MERIDIONAL_RADIUS_M * dlat`
/// long: the bounds below rest on this.
pub const MIN_MERIDIONAL_RADIUS_M: f64 = WGS84_A * (1.0 - WGS84_E2);

/// Largest distance, in metres, for which [`LocalFrame::approx_distance_m`] is trusted.
pub const APPROX_MAX_DISTANCE_M: f64 = 20_000.0;
/// Largest absolute latitude, in degrees, of the frame's origin for which
/// [`LocalFrame::approx_distance_m`] is trusted.
pub const APPROX_MAX_ABS_LAT: f64 = 80.0;
/// Relative part of the error bound of [`LocalFrame::approx_distance_m`] within its domain.
///
/// The measured error is below a tenth of this bound (see the tests); the index treats any
/// estimate within `APPROX_REL_ERROR * d + APPROX_ABS_ERROR_M` of a radius as undecided and
/// computes the geodesic.
pub const APPROX_REL_ERROR: f64 = 1e-3;
/// Absolute part of the error bound of [`LocalFrame::approx_distance_m`], in metres.
pub const APPROX_ABS_ERROR_M: f64 = 1e-3;

const DEG: f64 = std::f64::consts::PI / 180.0;

/// Geodesic distance in metres on WGS84 between two `(lon, lat)` points in degrees (Karney 2013).
///
/// ```
/// use truce_engine::geodesy::geodesic_distance_m;
/// let kyiv = (30.52380, 50.45466);
/// let kharkiv = (36.25475, 49.98177);
/// assert!((geodesic_distance_m(kyiv, kharkiv) - 412_300.0).abs() < 100.0);
/// ```
pub fn geodesic_distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    Geodesic.distance(Point::new(a.0, a.1), Point::new(b.0, b.1))
}

/// The WGS84 radii of curvature at a latitude in degrees: `(meridional M, prime vertical N)`, in
/// metres.
pub fn radii_of_curvature_m(lat: f64) -> (f64, f64) {
    let sin_lat = (lat * DEG).sin();
    let w2 = 1.0 - WGS84_E2 * sin_lat * sin_lat;
    let w = w2.sqrt();
    let prime_vertical = WGS84_A / w;
    let meridional = WGS84_A * (1.0 - WGS84_E2) / (w2 * w);
    (meridional, prime_vertical)
}

/// Metres per degree at a latitude in degrees: `(east per degree of longitude, north per degree of
/// latitude)`, from the WGS84 radii of curvature (exact for infinitesimal steps).
pub fn metres_per_degree(lat: f64) -> (f64, f64) {
    let (meridional, prime_vertical) = radii_of_curvature_m(lat);
    (prime_vertical * (lat * DEG).cos() * DEG, meridional * DEG)
}

/// A local tangent plane at a point: east and north metres from the WGS84 radii of curvature at the
/// point's latitude.
///
/// The plane is an affine image of lon/lat around the point, so a straight edge in lon/lat stays
/// straight in it, and the closest point found in the plane is a point of the edge itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalFrame {
    lon: f64,
    lat: f64,
    east_per_deg: f64,
    north_per_deg: f64,
    /// Prime vertical radius times one degree in radians.
    prime_vertical_per_deg: f64,
    cos_lat: f64,
    sin_lat: f64,
}

impl LocalFrame {
    /// The frame at `(lon, lat)` degrees.
    pub fn new(origin: (f64, f64)) -> LocalFrame {
        let (meridional, prime_vertical) = radii_of_curvature_m(origin.1);
        let (sin_lat, cos_lat) = (origin.1 * DEG).sin_cos();
        LocalFrame {
            lon: origin.0,
            lat: origin.1,
            east_per_deg: prime_vertical * cos_lat * DEG,
            north_per_deg: meridional * DEG,
            prime_vertical_per_deg: prime_vertical * DEG,
            cos_lat,
            sin_lat,
        }
    }

    /// The origin `(lon, lat)` of the frame.
    pub fn origin(&self) -> (f64, f64) {
        (self.lon, self.lat)
    }

    /// The point of the lon/lat segment `a`–`b` closest to the origin in the tangent plane.
    ///
    /// The result is `a` or `b` exactly when the closest point is an end, and otherwise
    /// `a + t (b - a)` in lon/lat for the plane's minimising `t`.
    pub fn closest_point_on_segment(&self, a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
        let ax = (a.0 - self.lon) * self.east_per_deg;
        let ay = (a.1 - self.lat) * self.north_per_deg;
        let dx = (b.0 - a.0) * self.east_per_deg;
        let dy = (b.1 - a.1) * self.north_per_deg;
        let len2 = dx * dx + dy * dy;
        if len2 <= 0.0 {
            return a;
        }
        let t = -(ax * dx + ay * dy) / len2;
        if t <= 0.0 {
            a
        } else if t >= 1.0 {
            b
        } else {
            (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
        }
    }

    /// A cheap estimate of the geodesic distance from the origin to `q`, in metres.
    ///
    /// Equirectangular at the mean latitude, with the radii of the origin. Within its domain —
    /// the estimate at most [`APPROX_MAX_DISTANCE_M`] and the origin at most [`APPROX_MAX_ABS_LAT`]
    /// from the equator, see [`LocalFrame::approx_is_trusted`] — it differs from
    /// [`geodesic_distance_m`] by less than `APPROX_REL_ERROR * estimate + APPROX_ABS_ERROR_M`.
    pub fn approx_distance_m(&self, q: (f64, f64)) -> f64 {
        let dlat = q.1 - self.lat;
        // cos(lat + h) for the half step h, by Taylor series while h is small (error below h^6 / 720,
        // under 1e-15 for |h| < 0.01 rad, about 64 km), else directly.
        let h = 0.5 * dlat * DEG;
        let cos_mean_lat = if h.abs() < 0.01 {
            let h2 = h * h;
            let cos_h = 1.0 - h2 * (0.5 - h2 / 24.0);
            let sin_h = h * (1.0 - h2 / 6.0);
            self.cos_lat * cos_h - self.sin_lat * sin_h
        } else {
            (self.lat * DEG + h).cos()
        };
        let east = (q.0 - self.lon) * self.prime_vertical_per_deg * cos_mean_lat;
        let north = dlat * self.north_per_deg;
        (east * east + north * north).sqrt()
    }

    /// Whether [`LocalFrame::approx_distance_m`] is within its stated error bound for an estimate
    /// of `estimate_m` metres from this frame's origin.
    pub fn approx_is_trusted(&self, estimate_m: f64) -> bool {
        estimate_m <= APPROX_MAX_DISTANCE_M && self.lat.abs() <= APPROX_MAX_ABS_LAT
    }

    /// [`distance_to_segment_m`] from this frame's origin.
    pub fn distance_to_segment_m(&self, a: (f64, f64), b: (f64, f64)) -> f64 {
        geodesic_distance_m(self.origin(), self.closest_point_on_segment(a, b))
    }
}

/// Geodesic distance in metres from `p` to the lon/lat segment `a`–`b` (all `(lon, lat)` degrees).
///
/// The closest point of the segment is found in the tangent plane at `p` (east/north metres from
/// the WGS84 radii of curvature at `p`'s latitude, see [`LocalFrame`]); the result is the geodesic
/// distance from `p` to that point of the segment.
///
/// Approximation: the plane's closest point is not exactly the point of the segment nearest on the
/// ellipsoid, so the result can only exceed the true minimum, never fall below it. The excess grows
/// with the segment's length and its distance from `p` (through the convergence of meridians): for
/// segments up to 200 km at the latitudes of Europe it stays well below 0.5 % and below a metre
/// for segments of a few kilometres; the tests check this against a dense geodesic sampling of the
/// segment.
pub fn distance_to_segment_m(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    LocalFrame::new(p).distance_to_segment_m(a, b)
}

/// A lon/lat box `(lon_min, lon_max, lat_min, lat_max)` that contains every point within geodesic
/// distance `radius_m` of `p` (not wrapped at the antimeridian).
///
/// Latitude: a path changing latitude by `dlat` radians is at least
/// [`MIN_MERIDIONAL_RADIUS_M`]` * dlat` long. Longitude: a path shorter than `radius_m` stays in
/// that latitude band, where a radian of longitude costs at least `WGS84_A * cos(lat)`. If the band
/// reaches a pole, every longitude is included (`-180..=180`).
pub fn disk_bounding_box(p: (f64, f64), radius_m: f64) -> (f64, f64, f64, f64) {
    // Widened by a relative 1e-9 so that rounding cannot make the box smaller than the bound.
    let dlat = radius_m / MIN_MERIDIONAL_RADIUS_M / DEG * (1.0 + 1e-9);
    let lat_min = (p.1 - dlat).max(-90.0);
    let lat_max = (p.1 + dlat).min(90.0);
    let band_abs_lat = p.1.abs() + dlat;
    if band_abs_lat >= 90.0 {
        return (-180.0, 180.0, lat_min, lat_max);
    }
    let lon_metres_per_deg = WGS84_A * (band_abs_lat * DEG).cos() * DEG;
    let dlon = radius_m / lon_metres_per_deg * (1.0 + 1e-9);
    if !dlon.is_finite() || dlon >= 180.0 {
        return (-180.0, 180.0, lat_min, lat_max);
    }
    (p.0 - dlon, p.0 + dlon, lat_min, lat_max)
}

/// The gaps `(dlon, dlat)` in degrees from `p` to a lon/lat box, `0` on an axis where `p` is within
/// the box's range; the longitude gap is the shorter way round the globe.
fn box_gaps_deg(
    p: (f64, f64),
    lon_min: f64,
    lon_max: f64,
    lat_min: f64,
    lat_max: f64,
) -> (f64, f64) {
    let dlat = (lat_min - p.1).max(p.1 - lat_max).max(0.0);
    let gap_at = |lon: f64| (lon_min - lon).max(lon - lon_max).max(0.0);
    let dlon = gap_at(p.0)
        .min(gap_at(p.0 + 360.0))
        .min(gap_at(p.0 - 360.0));
    (dlon, dlat)
}

/// Whether every point of the lon/lat box `(lon_min, lon_max, lat_min, lat_max)` is farther than
/// `radius_m` (geodesic) from `p`; a conservative test: `true` is always right, `false` may be
/// returned for a box just beyond the radius.
///
/// It is `radius_m < lower_bound_distance_to_box_m(..)` without the iteration.
pub fn box_is_farther_than(
    p: (f64, f64),
    (lon_min, lon_max, lat_min, lat_max): (f64, f64, f64, f64),
    radius_m: f64,
) -> bool {
    let (dlon, dlat) = box_gaps_deg(p, lon_min, lon_max, lat_min, lat_max);
    if radius_m < MIN_MERIDIONAL_RADIUS_M * dlat * DEG * (1.0 - 1e-12) {
        return true;
    }
    if dlon <= 0.0 {
        return false;
    }
    // A path no longer than radius_m stays within this many degrees of p's latitude, where a
    // degree of longitude costs at least WGS84_A * cos(band) * DEG.
    let band_abs_lat = p.1.abs() + radius_m / MIN_MERIDIONAL_RADIUS_M / DEG;
    if band_abs_lat >= 90.0 {
        return false;
    }
    radius_m < WGS84_A * (band_abs_lat * DEG).cos() * DEG * dlon * (1.0 - 1e-12)
}

/// A conservative lower bound of the geodesic distance in metres from `p` to any point of the lon/lat
/// box `(lon_min, lon_max, lat_min, lat_max)`; `0` if `p` is in the box.
///
/// The bound is the larger of the latitude gap times [`MIN_MERIDIONAL_RADIUS_M`] and the smallest
/// length `L` for which a path of length `L` could cover the longitude gap at a cost of
/// `WGS84_A * cos(lat)` per radian while staying within `L` of `p`'s latitude (found by
/// bisection, rounded down).
pub fn lower_bound_distance_to_box_m(p: (f64, f64), rect: (f64, f64, f64, f64)) -> f64 {
    let (lon_min, lon_max, lat_min, lat_max) = rect;
    let (dlon, dlat) = box_gaps_deg(p, lon_min, lon_max, lat_min, lat_max);
    let lat_bound = MIN_MERIDIONAL_RADIUS_M * dlat * DEG * (1.0 - 1e-12);
    if dlon <= 0.0 {
        return lat_bound;
    }
    // g(L) = WGS84_A * cos(|lat| + L / M_min) * dlon decreases in L; the bound is its fixed point.
    let g = |length: f64| {
        let band = p.1.abs() * DEG + length / MIN_MERIDIONAL_RADIUS_M;
        if band >= std::f64::consts::FRAC_PI_2 {
            0.0
        } else {
            WGS84_A * band.cos() * dlon * DEG
        }
    };
    let mut low = 0.0_f64;
    let mut high = WGS84_A * dlon * DEG;
    for _ in 0..64 {
        let mid = 0.5 * (low + high);
        if mid < g(mid) {
            low = mid;
        } else {
            high = mid;
        }
    }
    lat_bound.max(low * (1.0 - 1e-12))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metres_per_degree_matches_known_values() {
        // At the equator a degree of latitude is 110.574 km and of longitude 111.320 km.
        let (east, north) = metres_per_degree(0.0);
        assert!((east - 111_319.49).abs() < 0.1, "{east}");
        assert!((north - 110_574.28).abs() < 0.1, "{north}");
        // At 60 degrees a degree of longitude is about half as long.
        let (east, north) = metres_per_degree(60.0);
        assert!((east - 55_799.98).abs() < 1.0, "{east}");
        assert!((north - 111_412.24).abs() < 1.0, "{north}");
    }

    #[test]
    fn closest_point_is_an_end_exactly() {
        let frame = LocalFrame::new((30.0, 50.0));
        assert_eq!(
            frame.closest_point_on_segment((30.1, 50.0), (30.2, 50.1)),
            (30.1, 50.0)
        );
        assert_eq!(
            frame.closest_point_on_segment((30.2, 50.1), (30.1, 50.0)),
            (30.1, 50.0)
        );
        assert_eq!(
            frame.closest_point_on_segment((30.1, 50.0), (30.1, 50.0)),
            (30.1, 50.0)
        );
    }

    #[test]
    fn disk_box_reaching_a_pole_covers_every_longitude() {
        assert_eq!(disk_bounding_box((10.0, 89.99), 5_000.0).0, -180.0);
        let (lon_min, lon_max, lat_min, lat_max) = disk_bounding_box((10.0, 50.0), 5_000.0);
        assert!(lon_min < 10.0 && lon_max > 10.0 && lat_min < 50.0 && lat_max > 50.0);
    }

    #[test]
    fn box_lower_bound_is_zero_inside() {
        assert_eq!(
            lower_bound_distance_to_box_m((1.0, 1.0), (0.0, 2.0, 0.0, 2.0)),
            0.0
        );
        assert!(!box_is_farther_than((1.0, 1.0), (0.0, 2.0, 0.0, 2.0), 0.0));
    }
}
