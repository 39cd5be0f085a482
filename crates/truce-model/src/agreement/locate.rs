//! Finding the line of a key in a TOML text, so validation errors can name it.

use toml::de::{DeTable, DeValue};

/// Maps key paths (`zones[2].file`, `window.end`) to 1-based lines of a TOML text.
pub(crate) struct Locator<'a> {
    text: &'a str,
    root: Option<toml::Spanned<DeTable<'a>>>,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Locator {
            text,
            root: DeTable::parse(text).ok(),
        }
    }

    /// The 1-based line of a byte offset.
    pub(crate) fn line_at(&self, offset: usize) -> u64 {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64
            + 1
    }

    /// The line where `path` is written, or of its deepest ancestor that is written.
    pub(crate) fn line_of(&self, path: &str) -> Option<u64> {
        let root = self.root.as_ref()?;
        let mut offset = None;
        let mut table: Option<&DeTable<'a>> = Some(root.get_ref());
        let mut current: Option<&DeValue<'a>> = None;
        for segment in split_path(path) {
            match segment {
                Segment::Key(key) => {
                    let map = match (table, current) {
                        (Some(t), _) => t,
                        (None, Some(DeValue::Table(t))) => t,
                        _ => break,
                    };
                    let Some((k, v)) = map.iter().find(|(k, _)| k.get_ref().as_ref() == key) else {
                        break;
                    };
                    offset = Some(k.span().start);
                    table = None;
                    current = Some(v.get_ref());
                }
                Segment::Index(i) => {
                    let Some(DeValue::Array(array)) = current else {
                        break;
                    };
                    let Some(item) = array.get(i) else { break };
                    offset = Some(item.span().start);
                    current = Some(item.get_ref());
                }
            }
        }
        offset.map(|o| self.line_at(o))
    }
}

enum Segment<'p> {
    Key(&'p str),
    Index(usize),
}

fn split_path(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        for index in rest.split('[').filter(|s| !s.is_empty()) {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                out.push(Segment::Index(i));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lines_of_nested_keys() {
        let text = "id = \"a\"\n\n[window]\nstart = 1\nend = 2\n\n[[zones]]\nid = \"z1\"\n\n[[zones]]\nid = \"z2\"\nfile = \"x\"\n";
        let locator = Locator::new(text);
        assert_eq!(locator.line_of("id"), Some(1));
        assert_eq!(locator.line_of("window.end"), Some(5));
        assert_eq!(locator.line_of("zones[1].file"), Some(12));
        assert_eq!(locator.line_of("zones[1].missing"), Some(10));
        assert_eq!(locator.line_of("nothing"), None);
    }
}
