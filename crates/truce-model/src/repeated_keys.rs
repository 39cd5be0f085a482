//! Keys a JSON document gives more than once in one object.
//!
//! A `serde_json` map keeps only the last value of a repeated key, so a document that says
//! two things about one field would be read as saying the last one. The readers find such
//! keys first and reject what holds them: which value was meant cannot be told.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A member of an object.
    Key(String),
    /// An element of an array.
    Index(usize),
}

/// A key given more than once in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepeatedKey {
    /// Where the object is: empty for the document itself.
    pub(crate) object: Vec<Step>,
    /// The key.
    pub(crate) key: String,
    /// How many times the object gives it (2 or more).
    pub(crate) times: usize,
    /// The 1-based line of the text where it is given the second time, when that can be told
    /// (not when the key is written with escapes).
    pub(crate) line: Option<u64>,
}

impl RepeatedKey {
    /// The key's path written as our rejections write paths: `features[3].properties.id`,
    /// starting from `prefix` (`$.` or empty).
    pub(crate) fn path(&self, prefix: &str) -> String {
        let mut path = prefix.to_string();
        for step in &self.object {
            match step {
                Step::Key(key) => {
                    if !path.is_empty() && !path.ends_with('.') {
                        path.push('.');
                    }
                    path.push_str(key);
                }
                Step::Index(index) => path.push_str(&format!("[{index}]")),
            }
        }
        if !path.is_empty() && !path.ends_with('.') {
            path.push('.');
        }
        path.push_str(&self.key);
        path
    }

    /// The message a rejection of it carries.
    pub(crate) fn reason(&self) -> String {
        format!(
            "key `{}` is given {} times in the object; which value is meant cannot be told",
            self.key, self.times
        )
    }
}

/// The repeated keys of every object in `text`, outermost first and in document order;
/// none when `text` is not valid JSON (the caller reports that).
pub(crate) fn repeated_keys(text: &str) -> Vec<RepeatedKey> {
    repeated_keys_within(text, usize::MAX)
}

/// The repeated keys of the object `text` itself, not of objects nested in it.
pub(crate) fn repeated_top_level_keys(text: &str) -> Vec<RepeatedKey> {
    repeated_keys_within(text, 1)
}

/// The repeated keys of the objects within `depth` levels of the value `text` (1: the value
/// itself).
fn repeated_keys_within(text: &str, depth: usize) -> Vec<RepeatedKey> {
    let mut found = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let seed = Walk {
        text,
        path: Vec::new(),
        found: &mut found,
        depth,
    };
    if seed.deserialize(&mut deserializer).is_err() {
        return Vec::new();
    }
    found
}

/// Walks a value, recording repeated keys of the objects within `depth` levels of it.
struct Walk<'f> {
    /// The whole text, to tell where a key lies in it.
    text: &'f str,
    path: Vec<Step>,
    found: &'f mut Vec<RepeatedKey>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.depth == 0 {
            deserializer.deserialize_ignored_any(IgnoredAny)?;
            return Ok(());
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        loop {
            let mut path = self.path.clone();
            path.push(Step::Index(index));
            let element = Walk {
                text: self.text,
                path,
                found: &mut *self.found,
                depth: self.depth - 1,
            };
            if seq.next_element_seed(element)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Keys in the order written, repeats included; the repeats are recorded before
        // anything found inside the values, so the outermost object comes first.
        let mut keys: Vec<KeyAt> = Vec::new();
        let mut nested = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed { text: self.text })? {
            let mut path = self.path.clone();
            path.push(Step::Key(key.key.clone()));
            map.next_value_seed(Walk {
                text: self.text,
                path,
                found: &mut nested,
                depth: self.depth - 1,
            })?;
            keys.push(key);
        }
        for (at, key) in keys.iter().enumerate() {
            if keys[..at].iter().any(|earlier| earlier.key == key.key) {
                continue;
            }
            let mut again = keys[at + 1..].iter().filter(|other| other.key == key.key);
            let Some(second) = again.next() else {
                continue;
            };
            let offset = second
                .offset
                .or_else(|| again.clone().find_map(|other| other.offset));
            self.found.push(RepeatedKey {
                object: self.path.clone(),
                key: key.key.clone(),
                times: 2 + again.count(),
                line: offset.map(|offset| line_at(self.text, offset)),
            });
        }
        self.found.append(&mut nested);
        Ok(())
    }
}

/// The 1-based line of `text` that holds byte `offset`.
fn line_at(text: &str, offset: usize) -> u64 {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    1 + before.iter().filter(|&&byte| byte == b'\n').count() as u64
}

/// A key as written, with the byte offset in the text where it starts when the parser lends
/// it from the text (a key without escapes).
struct KeyAt {
    key: String,
    offset: Option<usize>,
}

/// Reads a key into a [`KeyAt`].
struct KeySeed<'t> {
    text: &'t str,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = KeyAt;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<KeyAt, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = KeyAt;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<KeyAt, E> {
        // A borrowed key is a slice of the text: its address tells where it is.
        let offset = (key.as_ptr() as usize)
            .checked_sub(self.text.as_ptr() as usize)
            .filter(|&offset| offset <= self.text.len());
        Ok(KeyAt {
            key: key.to_string(),
            offset,
        })
    }

    fn visit_str<E>(self, key: &str) -> Result<KeyAt, E> {
        Ok(KeyAt {
            key: key.to_string(),
            offset: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Vec<(String, usize)> {
        repeated_keys(text)
            .into_iter()
            .map(|repeat| (repeat.path(""), repeat.times))
            .collect()
    }

    #[test]
    fn an_object_without_repeats_has_none() {
        assert!(paths(r#"{"a":1,"b":{"a":2},"c":[{"a":3},{"b":4}]}"#).is_empty());
        assert!(paths("[1,2,3]").is_empty());
        assert!(paths("7").is_empty());
    }

    #[test]
    fn repeats_are_found_at_every_depth_with_their_paths() {
        let text = r#"{"type":"x","features":[{"properties":{"id":"a","id":"b","id":"c"}},
            {"geometry":{"type":"Point","type":"Point"}}],"type":"y"}"#;
        assert_eq!(
            paths(text),
            vec![
                ("type".to_string(), 2),
                ("features[0].properties.id".to_string(), 3),
                ("features[1].geometry.type".to_string(), 2),
            ]
        );
    }

    #[test]
    fn the_top_level_check_looks_no_deeper() {
        let text = r#"{"id":"a","nested":{"k":1,"k":2},"id":"b"}"#;
        let found = repeated_top_level_keys(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path("$."), "$.id");
        assert_eq!(
            found[0].reason(),
            "key `id` is given 2 times in the object; which value is meant cannot be told"
        );
        assert_eq!(paths(text).len(), 2);
    }

    #[test]
    fn escaped_keys_are_compared_as_decoded() {
        // `\u0069d` is `id`: the same key written two ways.
        assert_eq!(
            paths(r#"{"id":"a","\u0069d":"b"}"#),
            vec![("id".to_string(), 2)]
        );
    }

    #[test]
    fn the_line_is_that_of_the_second_time_the_key_is_given() {
        let text = "{\"a\": 1,\n \"b\": {\"k\": 1,\n\n \"k\": 2},\n \"a\": 3, \"a\": 4}";
        let lines: Vec<(String, Option<u64>)> = repeated_keys(text)
            .into_iter()
            .map(|repeat| (repeat.path(""), repeat.line))
            .collect();
        assert_eq!(
            lines,
            vec![("a".to_string(), Some(5)), ("b.k".to_string(), Some(4))]
        );
        // Written with an escape the second time, the key is placed by its third giving.
        let escaped = "{\"id\": 1,\n\"\\u0069d\": 2,\n\n\"id\": 3}";
        let found = repeated_keys(escaped);
        assert_eq!((found[0].times, found[0].line), (3, Some(4)));
        let escaped_twice = "{\"id\": 1,\n\"\\u0069d\": 2}";
        assert_eq!(repeated_keys(escaped_twice)[0].line, None);
    }

    /// A JSON value whose objects may repeat keys: what a `serde_json::Value` cannot hold.
    #[derive(Debug, Clone)]
    enum Tree {
        Number(u8),
        List(Vec<Tree>),
        Object(Vec<(String, Tree)>),
    }

    fn tree() -> impl proptest::strategy::Strategy<Value = Tree> {
        use proptest::prelude::*;
        let leaf = any::<u8>().prop_map(Tree::Number);
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Tree::List),
                proptest::collection::vec(("[abc]", inner), 0..5).prop_map(Tree::Object),
            ]
        })
    }

    /// Writes `tree` as JSON, a line break after every `breaks`-th token, and lists the
    /// repeated keys it holds (each with its path, times and the line of its second giving)
    /// in the order [`repeated_keys`] gives them.
    fn write(
        tree: &Tree,
        path: &mut Vec<Step>,
        text: &mut String,
        breaks: usize,
    ) -> Vec<RepeatedKey> {
        let token = |text: &mut String, piece: &str| {
            text.push_str(piece);
            if text.len().is_multiple_of(breaks) {
                text.push('\n');
            }
        };
        let line = |text: &str| 1 + text.matches('\n').count() as u64;
        match tree {
            Tree::Number(n) => {
                token(text, &n.to_string());
                Vec::new()
            }
            Tree::List(items) => {
                token(text, "[");
                let mut found = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        token(text, ",");
                    }
                    path.push(Step::Index(index));
                    found.extend(write(item, path, text, breaks));
                    path.pop();
                }
                token(text, "]");
                found
            }
            Tree::Object(members) => {
                token(text, "{");
                let mut nested = Vec::new();
                let mut lines: Vec<(String, u64)> = Vec::new();
                for (index, (key, value)) in members.iter().enumerate() {
                    if index > 0 {
                        token(text, ",");
                    }
                    lines.push((key.clone(), line(text)));
                    token(text, &format!("\"{key}\""));
                    token(text, ":");
                    path.push(Step::Key(key.clone()));
                    nested.extend(write(value, path, text, breaks));
                    path.pop();
                }
                token(text, "}");
                let mut own = Vec::new();
                for (at, (key, _)) in lines.iter().enumerate() {
                    if lines[..at].iter().any(|(earlier, _)| earlier == key) {
                        continue;
                    }
                    let later: Vec<u64> = lines[at + 1..]
                        .iter()
                        .filter(|(other, _)| other == key)
                        .map(|&(_, line)| line)
                        .collect();
                    if let Some(&second) = later.first() {
                        own.push(RepeatedKey {
                            object: path.clone(),
                            key: key.clone(),
                            times: 1 + later.len(),
                            line: Some(second),
                        });
                    }
                }
                own.extend(nested);
                own
            }
        }
    }

    proptest::proptest! {
        /// Every repeated key of any document is found, with its object's path, how many
        /// times it is given and the line of its second giving; nothing else is.
        #[test]
        fn every_repeat_is_found_with_its_line(tree in tree(), breaks in 1usize..6) {
            let mut text = String::new();
            let expected = write(&tree, &mut Vec::new(), &mut text, breaks);
            proptest::prop_assert_eq!(repeated_keys(&text), expected, "{}", text);
        }
    }

    #[test]
    fn invalid_json_yields_nothing() {
        assert!(paths(r#"{"a":1,"a":"#).is_empty());
    }
}
