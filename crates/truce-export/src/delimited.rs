//! The CSV export, and the HXL export: the same CSV with a row of hashtags under the header.

use std::io::Write;

use crate::rows::{RowContext, columns, walk};
use crate::{Assessed, ExportError, ExportOptions};

/// Writes the header, the HXL hashtag row when `hxl` is set, then one record per row.
pub(crate) fn write(
    assessed: &Assessed<'_, '_>,
    options: &ExportOptions<'_>,
    hxl: bool,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    let context = RowContext::new(assessed, options);
    let columns = columns(options.rows_of, context.several_readings);
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(columns.iter().map(|column| column.name))?;
    if hxl {
        writer.write_record(columns.iter().map(|column| column.hxl))?;
    }
    walk(assessed, options.rows_of, &mut |line| {
        let row = context.row(line);
        for cell in &row.cells {
            writer.write_field(cell.csv_text().as_bytes())?;
        }
        writer.write_record(None::<&[u8]>)?;
        Ok(())
    })?;
    writer.flush()?;
    Ok(())
}
