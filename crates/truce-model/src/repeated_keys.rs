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
        let mut keys: Vec<String> = Vec::new();
        let mut nested = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let mut path = self.path.clone();
            path.push(Step::Key(key.clone()));
            map.next_value_seed(Walk {
                path,
                found: &mut nested,
                depth: self.depth - 1,
            })?;
            keys.push(key);
        }
        for (at, key) in keys.iter().enumerate() {
            if keys[..at].contains(key) {
                continue;
            }
            let times = keys[at..].iter().filter(|other| *other == key).count();
            if times > 1 {
                self.found.push(RepeatedKey {
                    object: self.path.clone(),
                    key: key.clone(),
                    times,
                });
            }
        }
        self.found.append(&mut nested);
        Ok(())
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
    fn invalid_json_yields_nothing() {
        assert!(paths(r#"{"a":1,"a":"#).is_empty());
    }
}
