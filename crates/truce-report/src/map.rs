//! The map: the shipped geography, the agreement's zones and the incidents, drawn in an
//! equirectangular projection whose east–west scale is that of the map's middle latitude
//! (distances are true along that parallel and along meridians; over a few hundred
//! kilometres the distortion is small).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use truce_engine::adjudicate::Verdict;

use crate::figures::{MapLayer, MapPoint};
use crate::geography::{Geography, OutlineKind};
use crate::svg::{Anchor, Svg, coordinate, font_size, text_extent, text_width, verdict_class};

/// Width of the map in SVG units.
const WIDTH: f64 = 720.0;
/// Beyond this many incidents the map draws grid cells instead of dots.
pub(crate) const MAX_DOTS: usize = 3_000;
/// The side of a grid cell, SVG units.
const CELL: f64 = 8.0;
/// Vertices closer than this to the last one drawn are skipped (SVG units).
const MIN_STEP: f64 = 0.7;
/// Extent drawn when there is nothing to show: Ukraine and its border.
const DEFAULT_EXTENT: Extent = Extent {
    west: 22.0,
    east: 41.0,
    south: 44.0,
    north: 53.0,
};

/// A lon/lat box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Extent {
    west: f64,
    east: f64,
    south: f64,
    north: f64,
}

impl Extent {
    /// The box around `points`, or `None` when there are none that are finite.
    fn around(points: impl Iterator<Item = (f64, f64)>) -> Option<Extent> {
        let mut extent: Option<Extent> = None;
        for (lon, lat) in points {
            if !(lon.is_finite() && lat.is_finite()) {
                continue;
            }
            extent = Some(match extent {
                None => Extent {
                    west: lon,
                    east: lon,
                    south: lat,
                    north: lat,
                },
                Some(e) => Extent {
                    west: e.west.min(lon),
                    east: e.east.max(lon),
                    south: e.south.min(lat),
                    north: e.north.max(lat),
                },
            });
        }
        extent
    }

    /// Padded by 8% (and to at least 3° × 2°), within the globe's bounds.
    fn padded(self) -> Extent {
        let (mid_lon, mid_lat) = (
            (self.west + self.east) / 2.0,
            (self.south + self.north) / 2.0,
        );
        let half_lon = ((self.east - self.west) * 0.58).max(1.5);
        let half_lat = ((self.north - self.south) * 0.58).max(1.0);
        Extent {
            west: (mid_lon - half_lon).max(-180.0),
            east: (mid_lon + half_lon).min(180.0),
            south: (mid_lat - half_lat).max(-85.0),
            north: (mid_lat + half_lat).min(85.0),
        }
    }
}

/// Lon/lat to SVG units.
#[derive(Debug, Clone, Copy)]
struct Projection {
    extent: Extent,
    /// SVG units per degree of latitude.
    scale: f64,
    /// The cosine of the middle latitude.
    cos_mid: f64,
    height: f64,
}

impl Projection {
    fn new(extent: Extent) -> Projection {
        let mid = ((extent.south + extent.north) / 2.0).to_radians();
        let cos_mid = mid.cos().max(0.05);
        let lon_span = (extent.east - extent.west).max(1e-6) * cos_mid;
        let lat_span = (extent.north - extent.south).max(1e-6);
        let scale = WIDTH / lon_span;
        let height = (lat_span * scale).clamp(200.0, 900.0);
        let scale = scale.min(height / lat_span);
        Projection {
            extent,
            scale,
            cos_mid,
            height,
        }
    }

    fn x(&self, lon: f64) -> f64 {
        (lon - self.extent.west) * self.cos_mid * self.scale
    }

    fn y(&self, lat: f64) -> f64 {
        (self.extent.north - lat) * self.scale
    }
}

/// An SVG path of rings or lines, skipping vertices too close to draw apart and rings
/// wholly off the map.
fn path_of(rings: &[Vec<(f64, f64)>], projection: &Projection, close: bool) -> String {
    let mut d = String::new();
    for ring in rings {
        let projected: Vec<(f64, f64)> = ring
            .iter()
            .map(|&(lon, lat)| (projection.x(lon), projection.y(lat)))
            .collect();
        let off_map = projected.iter().all(|&(x, _)| x < 0.0)
            || projected.iter().all(|&(x, _)| x > WIDTH)
            || projected.iter().all(|&(_, y)| y < 0.0)
            || projected.iter().all(|&(_, y)| y > projection.height);
        if projected.len() < 2 || off_map {
            continue;
        }
        let mut last = projected[0];
        let _ = write!(d, "M{} {}", coordinate(last.0), coordinate(last.1));
        let final_point = projected[projected.len() - 1];
        for &(x, y) in &projected[1..] {
            let is_final = (x, y) == final_point;
            if (x - last.0).hypot(y - last.1) >= MIN_STEP || (is_final && !close) {
                let _ = write!(d, "L{} {}", coordinate(x), coordinate(y));
                last = (x, y);
            }
        }
        if close {
            d.push('Z');
        }
    }
    d
}

/// How serious a verdict is, for drawing order and cell colour (higher on top).
fn severity(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::NoViolation => 0,
        Verdict::Undetermined => 1,
        Verdict::Alleged => 2,
        Verdict::Disputed => 3,
        Verdict::Violation => 4,
    }
}

/// The map of one report: geography, zones, line of contact, cities and incidents.
pub(crate) fn render_map(layer: &MapLayer, geography: &Geography, title: &str) -> String {
    let extent = Extent::around(
        layer.points.iter().map(|p| (p.lon, p.lat)).chain(
            layer
                .zones
                .iter()
                .flat_map(|z| z.rings.iter().flatten().copied()),
        ),
    )
    .map_or(DEFAULT_EXTENT, Extent::padded);
    let projection = Projection::new(extent);
    let height = projection.height;
    let legend_height = 44.0;
    let mut svg = Svg::new(WIDTH, height + legend_height, "map", title);
    svg.raw(&format!(
        "<defs><clipPath id=\"map-frame\"><rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\"/>\
         </clipPath></defs><g clip-path=\"url(#map-frame)\">",
        coordinate(WIDTH),
        coordinate(height)
    ));
    svg.rect(0.0, 0.0, WIDTH, height, "sea");
    for (kind, class) in [
        (OutlineKind::Country, "land"),
        (OutlineKind::BorderRegion, "border-region"),
        (OutlineKind::UkraineRegion, "ua-region"),
    ] {
        let mut d = String::new();
        for outline in geography.outlines.iter().filter(|o| o.kind == kind) {
            d.push_str(&path_of(&outline.rings, &projection, true));
        }
        svg.path(&d, class);
    }
    for zone in &layer.zones {
        svg.path(&path_of(&zone.rings, &projection, true), "zone");
    }
    svg.path(
        &path_of(&geography.line_of_contact, &projection, false),
        "front-line",
    );
    draw_incidents(&mut svg, &layer.points, &projection);
    let scale = ScaleBar::new(&projection);
    let cities: Vec<(&str, f64, f64)> = geography
        .cities
        .iter()
        .map(|city| {
            (
                city.name.as_str(),
                projection.x(city.lon),
                projection.y(city.lat),
            )
        })
        .filter(|&(_, x, y)| (0.0..=WIDTH).contains(&x) && (0.0..=height).contains(&y))
        .collect();
    // Boxes a label must not cover: the scale bar, every place's mark, the labels placed.
    let mut taken: Vec<Area> = vec![scale.area()];
    for &(_, x, y) in &cities {
        svg.rect(x - 2.0, y - 2.0, 4.0, 4.0, "city");
        taken.push((x - 2.0, y - 2.0, x + 2.0, y + 2.0));
    }
    // Places near the frame, with fewer sides free, are named first.
    let mut by_room = cities.clone();
    by_room.sort_by_key(|&(name, x, y)| {
        label_places(x, y, name)
            .iter()
            .filter(|&&(_, _, _, area)| inside_frame(area, height))
            .count()
    });
    for &(name, x, y) in &by_room {
        if let Some((label_x, label_y, anchor, area)) = city_label_place(x, y, name, height, &taken)
        {
            svg.text(label_x, label_y, anchor, "city-label", name);
            taken.push(area);
        }
    }
    scale.draw(&mut svg);
    svg.raw("</g>");
    svg.rect(0.0, 0.0, WIDTH, height, "frame");
    let legend_y = height + 16.0;
    let mut x = 4.0;
    for verdict in [
        Verdict::Violation,
        Verdict::Disputed,
        Verdict::Alleged,
        Verdict::Undetermined,
        Verdict::NoViolation,
    ] {
        svg.circle(
            x + 4.0,
            legend_y - 4.0,
            4.0,
            &verdict_class(verdict.as_str()),
        );
        let label = verdict.as_str().replace('_', " ");
        svg.text(x + 12.0, legend_y, Anchor::Start, "tick", &label);
        x += 12.0 + text_width(&label, font_size("tick")) + 10.0;
    }
    svg.rect(x, legend_y - 9.0, 14.0, 10.0, "zone");
    svg.text(x + 18.0, legend_y, Anchor::Start, "tick", "zone");
    x += 18.0 + text_width("zone", font_size("tick")) + 10.0;
    svg.line(x, legend_y - 4.0, x + 18.0, legend_y - 4.0, "front-line");
    svg.text(
        x + 22.0,
        legend_y,
        Anchor::Start,
        "tick",
        "line of contact (approximate)",
    );
    svg.text(
        4.0,
        height + 36.0,
        Anchor::Start,
        "tick",
        "Boundaries: Natural Earth. Places: GeoNames (CC BY 4.0). Internationally recognised borders.",
    );
    svg.finish()
}

/// Dots, or grid cells when there are more than [`MAX_DOTS`] incidents.
fn draw_incidents(svg: &mut Svg, points: &[MapPoint], projection: &Projection) {
    if points.len() <= MAX_DOTS {
        let mut ordered: Vec<&MapPoint> = points.iter().collect();
        ordered.sort_by_key(|p| severity(p.verdict));
        for point in ordered {
            let class = format!("dot {}", verdict_class(point.verdict.as_str()));
            svg.circle(
                projection.x(point.lon),
                projection.y(point.lat),
                3.0,
                &class,
            );
        }
        return;
    }
    // Cell → (incidents, the most serious verdict among them).
    let mut cells: BTreeMap<(i64, i64), (u64, Verdict)> = BTreeMap::new();
    for point in points {
        let (x, y) = (projection.x(point.lon), projection.y(point.lat));
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        let key = ((x / CELL).floor() as i64, (y / CELL).floor() as i64);
        let cell = cells.entry(key).or_insert((0, point.verdict));
        cell.0 += 1;
        if severity(point.verdict) > severity(cell.1) {
            cell.1 = point.verdict;
        }
    }
    for ((column, row), (count, verdict)) in cells {
        let density = match count {
            1 => "d1",
            2..=5 => "d2",
            6..=20 => "d3",
            _ => "d4",
        };
        svg.rect(
            column as f64 * CELL,
            row as f64 * CELL,
            CELL,
            CELL,
            &format!("cell {density} {}", verdict_class(verdict.as_str())),
        );
    }
}

/// A box on the map: left, top, right, bottom (SVG units).
type Area = (f64, f64, f64, f64);

/// How far a place's name keeps from the frame, SVG units.
const LABEL_INSET: f64 = 1.0;

/// Whether two boxes share more than an edge.
fn overlap(a: Area, b: Area) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Where the label of a place drawn at `(x, y)` may go, best first: above right of its
/// mark, below right, above left, below left; each with its anchor and the box it covers.
fn label_places(x: f64, y: f64, name: &str) -> [(f64, f64, Anchor, Area); 4] {
    let size = font_size("city-label");
    [
        (x + 5.0, y - 3.0, Anchor::Start),
        (x + 5.0, y + 12.0, Anchor::Start),
        (x - 5.0, y - 3.0, Anchor::End),
        (x - 5.0, y + 12.0, Anchor::End),
    ]
    .map(|(label_x, label_y, anchor)| {
        let area = text_extent(label_x, label_y, anchor, size, name);
        (label_x, label_y, anchor, area)
    })
}

/// Whether a box lies inside the map's frame (`height` units high).
fn inside_frame(area: Area, height: f64) -> bool {
    area.0 >= LABEL_INSET
        && area.1 >= LABEL_INSET
        && area.2 <= WIDTH - LABEL_INSET
        && area.3 <= height - LABEL_INSET
}

/// Where the label of a place drawn at `(x, y)` goes: the first of [`label_places`] inside
/// the map's frame (`height` units high) that covers no box already `taken`. `None` when no
/// side is free: the place is then shown unnamed.
fn city_label_place(
    x: f64,
    y: f64,
    name: &str,
    height: f64,
    taken: &[Area],
) -> Option<(f64, f64, Anchor, Area)> {
    label_places(x, y, name)
        .into_iter()
        .find(|&(_, _, _, area)| {
            inside_frame(area, height) && !taken.iter().any(|&other| overlap(area, other))
        })
}

/// A bar of a round number of kilometres in the lower left corner.
#[derive(Debug, Clone, Copy)]
struct ScaleBar {
    /// What it measures.
    km: f64,
    /// Its length, SVG units.
    length: f64,
    /// The bar's baseline.
    y: f64,
}

impl ScaleBar {
    fn new(projection: &Projection) -> ScaleBar {
        // One degree of latitude is about 111.2 km; the scale is true along meridians.
        let units_per_km = projection.scale / 111.2;
        let target_km = 120.0 / units_per_km;
        let km = [10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
            .into_iter()
            .find(|&km| km >= target_km * 0.5)
            .unwrap_or(1000.0);
        ScaleBar {
            km,
            length: km * units_per_km,
            y: projection.height - 12.0,
        }
    }

    /// The white box behind it.
    fn area(&self) -> Area {
        (8.0, self.y - 12.0, 8.0 + self.length + 60.0, self.y + 6.0)
    }

    fn draw(&self, svg: &mut Svg) {
        let (left, top, right, bottom) = self.area();
        svg.rect(left, top, right - left, bottom - top, "scale-box");
        svg.line(12.0, self.y, 12.0 + self.length, self.y, "scale");
        svg.text(
            16.0 + self.length,
            self.y + 4.0,
            Anchor::Start,
            "tick",
            &format!("{} km", self.km),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extent_is_padded_and_bounded() {
        let extent = Extent::around([(30.0, 46.0), (32.0, 47.0)].into_iter()).map(Extent::padded);
        let Some(extent) = extent else {
            panic!("two points have an extent");
        };
        assert!((extent.west - 29.5).abs() < 1e-9 && (extent.east - 32.5).abs() < 1e-9);
        assert!((extent.south - 45.5).abs() < 1e-9 && (extent.north - 47.5).abs() < 1e-9);
        assert_eq!(Extent::around([(f64::NAN, 1.0)].into_iter()), None);
        let polar = Extent::around([(0.0, 89.0)].into_iter()).map(Extent::padded);
        assert_eq!(polar.map(|e| e.north), Some(85.0));
    }

    #[test]
    fn projection_keeps_proportions_at_the_middle_latitude() {
        let projection = Projection::new(Extent {
            west: 30.0,
            east: 40.0,
            south: 45.0,
            north: 51.0,
        });
        // A degree of longitude is cos(48°) of a degree of latitude on the map.
        let lon_degree = projection.x(31.0) - projection.x(30.0);
        let lat_degree = projection.y(49.0) - projection.y(50.0);
        assert!((lon_degree / lat_degree - 48_f64.to_radians().cos()).abs() < 1e-12);
        assert!((projection.x(40.0) - WIDTH).abs() < 1e-9);
        assert_eq!(projection.y(51.0), 0.0);
    }

    #[test]
    fn paths_skip_close_vertices_and_rings_off_the_map() {
        let projection = Projection::new(DEFAULT_EXTENT);
        let ring = vec![
            (30.0, 48.0),
            (30.0001, 48.0),
            (31.0, 48.0),
            (31.0, 49.0),
            (30.0, 48.0),
        ];
        let d = path_of(&[ring], &projection, true);
        assert_eq!(d.matches('L').count(), 3, "{d}");
        assert!(d.ends_with('Z'));
        let far = vec![(100.0, 10.0), (101.0, 10.0), (101.0, 11.0)];
        assert_eq!(path_of(&[far], &projection, true), "");
    }

    #[test]
    fn many_incidents_become_cells() {
        let projection = Projection::new(DEFAULT_EXTENT);
        let mut points = vec![
            MapPoint {
                lon: 37.0,
                lat: 48.0,
                verdict: Verdict::NoViolation,
            };
            MAX_DOTS
        ];
        points.push(MapPoint {
            lon: 37.0,
            lat: 48.0,
            verdict: Verdict::Violation,
        });
        let mut svg = Svg::new(10.0, 10.0, "map", "t");
        draw_incidents(&mut svg, &points, &projection);
        let out = svg.finish();
        assert_eq!(out.matches("<rect").count(), 1, "{out}");
        assert!(out.contains("cell d4 v-violation"));
        assert!(!out.contains("<circle"));
    }

    /// The height of the map's frame, read from its clip path.
    fn frame_height(svg: &str) -> f64 {
        svg.split("<clipPath id=\"map-frame\"><rect ")
            .nth(1)
            .and_then(|rest| rest.split("height=\"").nth(1))
            .and_then(|rest| rest.split('"').next())
            .and_then(|height| height.parse().ok())
            .unwrap_or_else(|| panic!("no frame in {svg}"))
    }

    fn city(name: &str, lon: f64, lat: f64) -> crate::geography::City {
        crate::geography::City {
            name: name.to_owned(),
            lon,
            lat,
        }
    }

    #[test]
    fn place_names_stay_inside_the_frame_or_are_left_out() {
        use crate::svg::tests::{assert_texts_inside, drawn_texts, texts_outside};
        // Two incidents make the extent 29.5–32.5° E, 45.5–47.5° N.
        let layer = MapLayer {
            points: vec![
                MapPoint {
                    lon: 30.0,
                    lat: 46.0,
                    verdict: Verdict::Violation,
                },
                MapPoint {
                    lon: 32.0,
                    lat: 47.0,
                    verdict: Verdict::Alleged,
                },
            ],
            ..MapLayer::default()
        };
        let far_too_long = "Settlement ".repeat(20);
        let geography = Geography {
            regions: Vec::new(),
            outlines: Vec::new(),
            line_of_contact: Vec::new(),
            cities: vec![
                // On the top edge, as Sudzha is on the black-sea map.
                city("Top Edge Town", 31.0, 47.499),
                city("North-Eastern Corner Settlement", 32.49, 47.49),
                city("South-Eastern Corner Settlement", 32.49, 45.51),
                city("South-West", 29.52, 45.52),
                city("Far Beyond", 40.0, 47.0),
                city(&far_too_long, 31.0, 46.5),
                // A cluster: not every name can be written.
                city("Alpha", 30.5, 46.0),
                city("Bravo", 30.51, 46.01),
                city("Charlie", 30.49, 45.99),
                city("Delta", 30.5, 46.02),
                city("Echo", 30.52, 46.0),
                city("Foxtrot", 30.48, 46.01),
            ],
        };
        let svg = render_map(&layer, &geography, "hand-made map");
        assert_texts_inside(&svg);
        let height = frame_height(&svg);
        let labels: Vec<_> = drawn_texts(&svg)
            .into_iter()
            .filter(|text| text.class == "city-label")
            .collect();
        let outside = texts_outside(&labels, (0.0, 0.0, WIDTH, height));
        assert!(outside.is_empty(), "{outside:#?}");
        for (i, a) in labels.iter().enumerate() {
            for b in &labels[i + 1..] {
                assert!(
                    !overlap(a.area, b.area),
                    "{:?} covers {:?}",
                    a.content,
                    b.content
                );
            }
        }
        let names: Vec<&str> = labels.iter().map(|text| text.content.as_str()).collect();
        for name in [
            "Top Edge Town",
            "North-Eastern Corner Settlement",
            "South-Eastern Corner Settlement",
            "Alpha",
        ] {
            assert!(names.contains(&name), "{name} not in {names:?}");
        }
        assert!(!names.contains(&"Far Beyond"), "off the map");
        assert!(!names.iter().any(|name| name.starts_with("Settlement")));
        assert!(names.len() < 10, "the cluster is thinned: {names:?}");
        // The legend is written out in full.
        assert!(
            svg.contains(">line of contact (approximate)</text>"),
            "{svg}"
        );
        assert!(
            svg.contains("Internationally recognised borders.</text>"),
            "{svg}"
        );
        // Every place inside the map is marked, named or not.
        assert_eq!(svg.matches("class=\"city\"").count(), 11, "{svg}");
    }

    #[test]
    fn labels_move_to_the_free_side_of_their_place() {
        let taken = [(0.0, 0.0, 0.0, 0.0)];
        // Room above right.
        let Some((_, y, anchor, _)) = city_label_place(100.0, 100.0, "Name", 300.0, &taken) else {
            panic!("room for a name");
        };
        assert_eq!((y, anchor), (97.0, Anchor::Start));
        // At the top edge: below.
        let place = city_label_place(100.0, 1.0, "Name", 300.0, &taken);
        assert_eq!(
            place.map(|(_, y, anchor, _)| (y, anchor)),
            Some((13.0, Anchor::Start))
        );
        // At the right edge: to the left.
        let place = city_label_place(WIDTH - 2.0, 100.0, "Name", 300.0, &taken);
        assert_eq!(
            place.map(|(x, _, anchor, _)| (x, anchor)),
            Some((WIDTH - 7.0, Anchor::End))
        );
        // Hemmed in on every side: no name.
        let everything = [(0.0, 0.0, WIDTH, 300.0)];
        assert_eq!(
            city_label_place(100.0, 100.0, "Name", 300.0, &everything),
            None
        );
    }
}
