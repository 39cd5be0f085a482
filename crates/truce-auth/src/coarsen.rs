//! What the public sees of a monitor's position: the centre of a grid cell.

/// The default cell size: 0.1° (about 11 km north–south; east–west it
/// shrinks with the cosine of the latitude, about 7 km at 48° N).
pub const DEFAULT_CELL_DEG: f64 = 0.1;

/// The smallest cell size accepted, in degrees (about 11 cm); smaller cells
/// coarsen nothing and run into floating-point limits.
pub const MIN_CELL_DEG: f64 = 1e-6;

/// Why a position cannot be coarsened.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CoarsenError {
    /// The longitude is not a number in [−180, 180].
    #[error("longitude {lon} is not a number of degrees in [-180, 180]")]
    Longitude {
        /// The rejected longitude.
        lon: f64,
    },
    /// The latitude is not a number in [−90, 90].
    #[error("latitude {lat} is not a number of degrees in [-90, 90]")]
    Latitude {
        /// The rejected latitude.
        lat: f64,
    },
    /// The cell size is not a number in [`MIN_CELL_DEG`], 180].
    #[error("cell size {cell_deg} is not a number of degrees in [{MIN_CELL_DEG}, 180]")]
    Cell {
        /// The rejected cell size.
        cell_deg: f64,
    },
}

/// Snaps a position (lon/lat degrees, as in GeoJSON) to the centre of its
/// cell on a grid of `cell_deg` × `cell_deg` degrees anchored at (−180, −90).
///
/// This is what the public role sees of a monitor's position: every position
/// in a cell is shown as the same point, at most half a cell away in each
/// coordinate. Where `cell_deg` does not divide the range, the last cell
/// before 180° (or 90°) is shorter and its centre is the middle of what is
/// left, so the output always stays within the valid range. A position on a
/// cell edge belongs to the cell above it, except at 180° and 90°.
///
/// # Errors
///
/// [`CoarsenError`] for a coordinate outside its range or not a number, or a
/// cell size outside [[`MIN_CELL_DEG`], 180]: a position that cannot be
/// coarsened must not be shown at all.
pub fn coarsen_position(lon: f64, lat: f64, cell_deg: f64) -> Result<(f64, f64), CoarsenError> {
    if !(MIN_CELL_DEG..=180.0).contains(&cell_deg) {
        return Err(CoarsenError::Cell { cell_deg });
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(CoarsenError::Longitude { lon });
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err(CoarsenError::Latitude { lat });
    }
    Ok((
        cell_centre(lon, -180.0, 180.0, cell_deg),
        cell_centre(lat, -90.0, 90.0, cell_deg),
    ))
}

/// The centre of the cell of `value` on a grid over [`low`, `high`].
fn cell_centre(value: f64, low: f64, high: f64, cell: f64) -> f64 {
    let cells = ((high - low) / cell).ceil();
    let index = ((value - low) / cell).floor().clamp(0.0, cells - 1.0);
    let start = low + index * cell;
    let end = (start + cell).min(high);
    (start + end) / 2.0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    /// Slack for floating-point rounding of cell edges.
    const EPSILON: f64 = 1e-9;

    #[test]
    fn snaps_to_the_centre_of_a_tenth_of_a_degree() {
        let (lon, lat) = coarsen_position(36.2304, 49.9935, DEFAULT_CELL_DEG).unwrap();
        assert!((lon - 36.25).abs() < EPSILON, "{lon}");
        assert!((lat - 49.95).abs() < EPSILON, "{lat}");
        let (lon, lat) = coarsen_position(-0.01, -0.01, DEFAULT_CELL_DEG).unwrap();
        assert!((lon + 0.05).abs() < EPSILON, "{lon}");
        assert!((lat + 0.05).abs() < EPSILON, "{lat}");
    }

    #[test]
    fn the_edges_of_the_world_stay_inside_it() {
        let (lon, lat) = coarsen_position(180.0, 90.0, DEFAULT_CELL_DEG).unwrap();
        assert!((lon - 179.95).abs() < EPSILON, "{lon}");
        assert!((lat - 89.95).abs() < EPSILON, "{lat}");
        // 0.7 does not divide 180: the last latitude cell is [89.9, 90].
        let (_, lat) = coarsen_position(0.0, 89.97, 0.7).unwrap();
        assert!((lat - 89.95).abs() < 1e-6, "{lat}");
        let (lon, lat) = coarsen_position(-180.0, -90.0, 180.0).unwrap();
        assert_eq!((lon, lat), (-90.0, 0.0));
    }

    #[test]
    fn invalid_input_is_refused() {
        assert_eq!(
            coarsen_position(180.5, 0.0, 0.1),
            Err(CoarsenError::Longitude { lon: 180.5 })
        );
        assert_eq!(
            coarsen_position(0.0, -90.5, 0.1),
            Err(CoarsenError::Latitude { lat: -90.5 })
        );
        assert!(matches!(
            coarsen_position(f64::NAN, 0.0, 0.1),
            Err(CoarsenError::Longitude { .. })
        ));
        assert!(matches!(
            coarsen_position(0.0, f64::INFINITY, 0.1),
            Err(CoarsenError::Latitude { .. })
        ));
        for cell_deg in [0.0, -0.1, 1e-7, 180.1, f64::NAN, f64::INFINITY] {
            assert!(
                matches!(
                    coarsen_position(0.0, 0.0, cell_deg),
                    Err(CoarsenError::Cell { .. })
                ),
                "{cell_deg}"
            );
        }
    }

    proptest! {
        #[test]
        fn output_is_a_fixed_centre_within_half_a_cell(
            lon in -180.0f64..=180.0,
            lat in -90.0f64..=90.0,
            cell in prop_oneof![Just(DEFAULT_CELL_DEG), 0.001f64..10.0],
        ) {
            let (out_lon, out_lat) = coarsen_position(lon, lat, cell).unwrap();
            prop_assert!((out_lon - lon).abs() <= cell / 2.0 + EPSILON);
            prop_assert!((out_lat - lat).abs() <= cell / 2.0 + EPSILON);
            prop_assert!((-180.0..=180.0).contains(&out_lon));
            prop_assert!((-90.0..=90.0).contains(&out_lat));
            // Every position of the cell maps to the same point, the centre itself included.
            prop_assert_eq!(coarsen_position(out_lon, out_lat, cell).unwrap(), (out_lon, out_lat));
        }

        #[test]
        fn a_position_off_the_centre_is_never_shown_as_itself(
            column in 0u32..3_600,
            row in 0u32..1_800,
            lon_offset in -0.49f64..0.49,
            lat_offset in -0.49f64..0.49,
        ) {
            prop_assume!(lon_offset.abs() > 1e-6 || lat_offset.abs() > 1e-6);
            let cell = DEFAULT_CELL_DEG;
            let centre_lon = -180.0 + (f64::from(column) + 0.5) * cell;
            let centre_lat = -90.0 + (f64::from(row) + 0.5) * cell;
            let lon = centre_lon + lon_offset * cell;
            let lat = centre_lat + lat_offset * cell;
            let shown = coarsen_position(lon, lat, cell).unwrap();
            prop_assert_ne!(shown, (lon, lat));
            prop_assert!((shown.0 - centre_lon).abs() < EPSILON, "{} vs {}", shown.0, centre_lon);
            prop_assert!((shown.1 - centre_lat).abs() < EPSILON, "{} vs {}", shown.1, centre_lat);
        }
    }
}
