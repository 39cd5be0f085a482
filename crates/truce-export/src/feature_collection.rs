//! The GeoJSON export: a FeatureCollection (RFC 7946) of Point features whose properties are
//! the columns of the CSV export, typed (numbers, booleans, arrays, `null` when absent).

use std::io::Write;

use crate::rows::{RowContext, columns, walk};
use crate::{Assessed, ExportError, ExportOptions};

/// Writes the collection one feature per line, properties in column order. Features carry an
/// `id` (the incident's or report's) when one reading is exported; with several, one id has
/// a feature per reading and the features carry none.
pub(crate) fn write(
    assessed: &Assessed<'_, '_>,
    options: &ExportOptions<'_>,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    let context = RowContext::new(assessed, options);
    let columns = columns(options.rows_of, context.several_readings);
    out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")?;
    let mut n_features = 0usize;
    walk(assessed, options.rows_of, &mut |line| {
        let row = context.row(line);
        out.write_all(if n_features == 0 { b"\n" } else { b",\n" })?;
        out.write_all(b"{\"type\":\"Feature\",")?;
        if !context.several_readings {
            out.write_all(b"\"id\":")?;
            serde_json::to_writer(&mut *out, &row.id)?;
            out.write_all(b",")?;
        }
        out.write_all(b"\"geometry\":{\"type\":\"Point\",\"coordinates\":")?;
        serde_json::to_writer(&mut *out, &[row.lon, row.lat])?;
        out.write_all(b"},\"properties\":{")?;
        for (index, (column, cell)) in columns.iter().zip(&row.cells).enumerate() {
            if index > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, column.name)?;
            out.write_all(b":")?;
            serde_json::to_writer(&mut *out, &cell.json())?;
        }
        out.write_all(b"}}")?;
        n_features += 1;
        Ok(())
    })?;
    out.write_all(if n_features == 0 { b"]}\n" } else { b"\n]}\n" })?;
    Ok(())
}
