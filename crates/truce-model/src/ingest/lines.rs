//! Line-based inputs read on every core: the text cut into chunks at newlines, every line's
//! span found in parallel, and each line's outcome collected in input order.

use rayon::prelude::*;

use crate::ingest::{IngestError, Ingested, Rejection};
use crate::report::Report;

/// Chunks smaller than this are not worth a thread.
pub(crate) const MIN_CHUNK_BYTES: usize = 64 * 1024;

/// What became of one line.
// Boxing the report would cost an allocation per row; being the size of a report lets
// the outcomes' vector become the reports' vector in place.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    /// The line is a report.
    Accepted(Report),
    /// The line was rejected, for these reasons.
    Rejected(Vec<Rejection>),
    /// Nothing but whitespace (and, in CSV, commas).
    Blank,
}

/// Up to `max_chunks` ranges of `body`, each ending just after a newline (the last one may
/// end without), none smaller than `min_chunk_bytes` unless it is the only one.
pub(crate) fn split_at_newlines(
    body: &[u8],
    max_chunks: usize,
    min_chunk_bytes: usize,
) -> Vec<(usize, usize)> {
    let n_chunks = max_chunks.clamp(1, (body.len() / min_chunk_bytes.max(1)).max(1));
    let mut chunks = Vec::with_capacity(n_chunks);
    let mut start = 0usize;
    for chunk_index in 1..n_chunks {
        let guess = (body.len() / n_chunks * chunk_index).max(start);
        let Some(newline) = memchr::memchr(b'\n', &body[guess..]) else {
            break;
        };
        let end = guess + newline + 1;
        chunks.push((start, end));
        start = end;
    }
    chunks.push((start, body.len()));
    chunks
}

/// The byte range of every line of `body` without its `\n` or `\r\n`, found on all
/// threads (one chunk each).
pub(crate) fn line_spans(body: &str) -> Vec<(usize, usize)> {
    let chunks = split_at_newlines(
        body.as_bytes(),
        rayon::current_num_threads(),
        MIN_CHUNK_BYTES,
    );
    let bytes = body.as_bytes();
    let per_chunk: Vec<Vec<(usize, usize)>> = chunks
        .par_iter()
        .map(|&(chunk_start, chunk_end)| {
            let chunk = &bytes[chunk_start..chunk_end];
            let mut spans = Vec::with_capacity(chunk.len() / 64 + 1);
            let mut start = chunk_start;
            for newline in memchr::memchr_iter(b'\n', chunk) {
                let end = chunk_start + newline;
                spans.push((start, trim_cr(bytes, start, end)));
                start = end + 1;
            }
            if start < chunk_end {
                spans.push((start, trim_cr(bytes, start, chunk_end)));
            }
            spans
        })
        .collect();
    let mut spans = Vec::with_capacity(per_chunk.iter().map(Vec::len).sum());
    for chunk_spans in per_chunk {
        spans.extend_from_slice(&chunk_spans);
    }
    spans
}

/// `end`, moved before a `\r` that ends the line.
#[inline]
fn trim_cr(bytes: &[u8], start: usize, end: usize) -> usize {
    if end > start && bytes[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// The accepted reports in input order, their rows and the rejections (the reports reuse
/// the outcomes' allocation: an in-place collect), and the number of data rows (lines not
/// blank).
pub(crate) fn collect(outcomes: Vec<Outcome>, row_of: impl Fn(usize) -> u64) -> (Ingested, u64) {
    let mut rows = Vec::with_capacity(outcomes.len());
    let mut rejections = Vec::new();
    let mut data_rows = 0u64;
    let reports: Vec<Report> = outcomes
        .into_iter()
        .enumerate()
        .filter_map(|(index, outcome)| match outcome {
            Outcome::Accepted(report) => {
                data_rows += 1;
                rows.push(row_of(index));
                Some(report)
            }
            Outcome::Rejected(mut found) => {
                data_rows += 1;
                rejections.append(&mut found);
                None
            }
            Outcome::Blank => None,
        })
        .collect();
    let ingested = Ingested {
        reports,
        rows,
        rejections,
    };
    (ingested, data_rows)
}

/// [`IngestError::Empty`] when an input has no data rows.
pub(crate) fn refuse_empty(file: &str, data_rows: u64) -> Result<(), IngestError> {
    if data_rows == 0 {
        return Err(IngestError::Empty {
            file: file.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_body_and_end_at_newlines() {
        let body = "a,b\n".repeat(100_000);
        for threads in 1..6 {
            let chunks = split_at_newlines(body.as_bytes(), threads, MIN_CHUNK_BYTES);
            let pieces: Vec<&str> = chunks
                .iter()
                .map(|&(start, end)| &body[start..end])
                .collect();
            assert_eq!(pieces.concat(), body);
            assert!(chunks.len() <= threads);
            for piece in &pieces {
                assert!(piece.ends_with('\n'));
            }
        }
        assert_eq!(split_at_newlines(b"", 4, MIN_CHUNK_BYTES), vec![(0, 0)]);
        let body = "a\r\nb\n\nc";
        let lines: Vec<&str> = line_spans(body).iter().map(|&(s, e)| &body[s..e]).collect();
        assert_eq!(lines, vec!["a", "b", "", "c"]);
    }

    /// The spans of a body cut into several chunks are those of a plain split, whatever the
    /// thread count, with `\r\n` endings, empty lines and a last line without a newline.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn line_spans_are_those_of_a_plain_split_on_any_thread_count() {
        let mut body = String::new();
        for i in 0..40_000 {
            match i % 5 {
                0 => body.push_str("id,ts\r\n"),
                1 => body.push('\n'),
                _ => body.push_str(&format!("{i},{}\n", "x".repeat(i % 7))),
            }
        }
        for tail in ["", "last line", "last\r"] {
            let text = format!("{body}{tail}");
            let mut expected: Vec<&str> = text.split('\n').collect();
            if expected.last() == Some(&"") {
                expected.pop();
            }
            let expected: Vec<&str> = expected
                .into_iter()
                .map(|line| line.strip_suffix('\r').unwrap_or(line))
                .collect();
            for threads in 1..=4 {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let spans = pool.install(|| line_spans(&text));
                let lines: Vec<&str> = spans.iter().map(|&(s, e)| &text[s..e]).collect();
                assert_eq!(lines, expected, "{threads} threads, tail {tail:?}");
            }
        }
    }
}
