#!/usr/bin/env python3
"""Write a truce agreement equivalent to the peer benchmark's job.

Usage: python3 bench/peer_agreement.py CONFIG_JSON DATA_DIR [--out FILE]

Reads the peer benchmark's config.json (ceasefire window, prohibited target categories and
action types, clustering distance D and time gap T) and DATA_DIR/zones.geojson (written by the
peer generator), and writes DATA_DIR/agreement.toml (or --out) so that `truce assess` does at
least the peers' work on DATA_DIR/reports.csv:

  * window = ceasefire start .. end_exclusive (UTC);
  * one zone per feature of zones.geojson. A feature that carries `id` or `properties.id`
    is referenced as `file = "zones.geojson"`, `feature = "<id>"`; the generator names its
    zones in `properties.zone_id`, which truce's `feature` key does not read, so such
    features are written as inline geometry (the coordinates copied digit for digit);
  * rule R1: any action against the prohibited targets, in every zone;
  * rule R2: the prohibited actions against any target, in every zone;
  * [corroboration] max_distance_m = D, max_time_gap_s = T.

With --variant, a probe of where truce's time goes (bench/run.sh --probe):
  full            the above (default)
  front-only      both rules restricted to the last zone (the generator's front buffer)
  no-zones        both rules without zones (they apply everywhere; zones still defined)
  outside-window  the window moved to 2023-01 (before the data): every incident is judged
                  `outside_window` before any rule or zone is looked at

Standard library only. The output is deterministic (same inputs -> same bytes).
"""
import argparse
import json
import os
import sys

# The peer vocabulary -> truce's (docs/vocabulary.md; crates/truce-model/src/ingest/peer.rs
# reads the peer CSV with the same mapping).
TARGET_MAP = {
    "residential": "civilian_residential",
    "civilian_infrastructure": "civilian_infrastructure",
    "energy": "energy",
    "medical": "medical",
    "education": "education",
    "military_position": "military",
    "agricultural": "civilian_infrastructure",
    "transport": "transport",
    "unknown": "unknown",
}
ACTION_MAP = {
    "artillery": "artillery",
    "shelling": "artillery",
    "mortar": "mortar",
    "mlrs": "mlrs",
    "airstrike": "air_strike",
    "missile": "missile_strike",
    "drone": "drone_strike",
    "small_arms": "small_arms",
    "ground_assault": "ground_assault",
    "mine": "mine_ied",
}
# The accused parties of the generator ("unknown" is no party).
PARTIES = [("RU", "Russian Federation"), ("UA", "Ukraine")]


class Raw(str):
    """A number kept as the text it had in the JSON file (valid TOML as it stands)."""


def toml_string(text):
    """A TOML basic string."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F:
            out.append("\\u%04X" % code)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_value(value):
    """A TOML value for a JSON value of a geometry (arrays, numbers, strings)."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ",".join(toml_value(v) for v in value) + "]"
    raise ValueError("cannot write %r as a TOML geometry value" % (value,))


def string_array(items):
    return "[" + ", ".join(toml_string(s) for s in items) + "]"


def map_terms(kind, names, table):
    """Map peer names to truce's, keeping the first occurrence of each; fail on unknown names."""
    out = []
    for name in names:
        if name not in table:
            raise SystemExit("config.json: unknown %s %r (known: %s)" % (kind, name, ", ".join(sorted(table))))
        mapped = table[name]
        if mapped not in out:
            out.append(mapped)
    return out


def utc_instant(text, key):
    """Check an ISO 8601 UTC instant of config.json and return it as written (RFC 3339)."""
    if not (isinstance(text, str) and text.endswith("Z") and "T" in text):
        raise SystemExit("config.json: %s must be an RFC 3339 UTC instant like 2024-03-01T00:00:00Z, found %r" % (key, text))
    return text


def zone_name(feature, index):
    """The zone id of a feature: `id`, `properties.id`, `properties.zone_id`, else zone<N>."""
    props = feature.get("properties") or {}
    for value in (feature.get("id"), props.get("id"), props.get("zone_id")):
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) != "":
            return str(value), value in (feature.get("id"), props.get("id"))
    return "zone%d" % (index + 1), False


def zone_blocks(zones_path):
    """The [[zones]] tables, one per feature, and the zone ids in file order."""
    with open(zones_path, encoding="utf-8") as f:
        collection = json.load(f, parse_float=Raw, parse_int=Raw)
    if collection.get("type") != "FeatureCollection":
        raise SystemExit("%s: expected a GeoJSON FeatureCollection" % zones_path)
    blocks, ids = [], []
    for i, feature in enumerate(collection.get("features") or []):
        zid, by_reference = zone_name(feature, i)
        if zid in ids:
            raise SystemExit("%s: features[%d]: zone id %r appears twice" % (zones_path, i, zid))
        ids.append(zid)
        props = feature.get("properties") or {}
        kind = props.get("kind")
        lines = ["[[zones]]", "id = %s" % toml_string(zid)]
        if isinstance(kind, str):
            lines.append("name = %s" % toml_string("%s (%s)" % (zid, kind)))
        if by_reference:
            lines.append('file = "zones.geojson"')
            lines.append("feature = %s" % toml_string(zid))
        else:
            geometry = feature.get("geometry") or {}
            gtype = geometry.get("type")
            if gtype not in ("Polygon", "MultiPolygon"):
                raise SystemExit("%s: features[%d]: geometry type %r is not a Polygon or MultiPolygon" % (zones_path, i, gtype))
            lines.append("[zones.geometry]")
            lines.append("type = %s" % toml_string(gtype))
            lines.append("coordinates = %s" % toml_value(geometry["coordinates"]))
        blocks.append("\n".join(lines))
    if not ids:
        raise SystemExit("%s: no features" % zones_path)
    return blocks, ids


VARIANTS = ("full", "front-only", "no-zones", "outside-window")


def build(config, blocks, ids, variant="full"):
    cease = config["ceasefire"]
    cluster = config["cluster"]
    start = utc_instant(cease["start"], "ceasefire.start")
    end = utc_instant(cease["end_exclusive"], "ceasefire.end_exclusive")
    if variant == "outside-window":
        start, end = "2023-01-01T00:00:00Z", "2023-02-01T00:00:00Z"
    zone_line = {
        "full": "zones = %s" % string_array(ids),
        "outside-window": "zones = %s" % string_array(ids),
        "front-only": "zones = %s" % string_array(ids[-1:]),
        "no-zones": None,
    }[variant]
    targets = map_terms("target", cease["prohibited_targets"], TARGET_MAP)
    actions = map_terms("action", cease["prohibited_actions"], ACTION_MAP)
    distance = float(cluster["distance_m"])
    gap = int(cluster["time_s"])
    if distance <= 0 or gap <= 0:
        raise SystemExit("config.json: cluster.distance_m and cluster.time_s must be positive")

    parts = [
        "# Written by bench/peer_agreement.py from the peer benchmark's config.json and zones.geojson.",
        "# The peer job (shared/bench/peer/README.md) as a truce agreement: every zone, the ceasefire",
        "# window, the prohibited targets (R1) and actions (R2), the peers' D and T.",
        'format = "truce-agreement/1"',
        'id = "peer-benchmark"',
        "version = 1",
        'title = "Peer benchmark job (synthetic ceasefire)"',
        "",
    ]
    for pid, name in PARTIES:
        parts += ["[[parties]]", "id = %s" % toml_string(pid), "name = %s" % toml_string(name), ""]
    parts += [
        "[window]",
        'time_zone = "UTC"',
        "start = %s" % toml_string(start),
        "end = %s" % toml_string(end),
        "",
        "[[rules]]",
        'id = "R1"',
        'text = "No attack of any kind on the prohibited target categories"',
        'actions = ["*"]',
        "targets = %s" % string_array(targets),
        zone_line,
        "",
        "[[rules]]",
        'id = "R2"',
        'text = "No use of the prohibited weapons against any target"',
        "actions = %s" % string_array(actions),
        'targets = ["*"]',
        zone_line,
        "",
        "[corroboration]",
        "max_distance_m = %s" % repr(distance),
        "max_time_gap_s = %d" % gap,
        "",
    ]
    # Zones last: the inline geometry tables are long.
    for block in blocks:
        parts += [block, ""]
    if variant != "full":
        parts.insert(3, "# Probe variant: %s (bench/peer_agreement.py --variant)." % variant)
    return "\n".join(p for p in parts if p is not None)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", help="the peer benchmark's config.json")
    ap.add_argument("data", help="a directory written by the peer gen.py (holds zones.geojson)")
    ap.add_argument("--out", help="where to write (default DATA/agreement.toml)")
    ap.add_argument("--variant", choices=VARIANTS, default="full", help="a probe variant (see above)")
    a = ap.parse_args(argv)
    with open(a.config, encoding="utf-8") as f:
        config = json.load(f)
    blocks, ids = zone_blocks(os.path.join(a.data, "zones.geojson"))
    text = build(config, blocks, ids, a.variant)
    out = a.out or os.path.join(a.data, "agreement.toml")
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, out)
    print("%s: %d zones, variant %s" % (out, len(ids), a.variant))


if __name__ == "__main__":
    main(sys.argv[1:])
