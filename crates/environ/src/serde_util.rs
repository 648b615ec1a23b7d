//! Serde helpers that keep serialized modules deterministic and quick to decode (used by the
//! ahead-of-time artifacts of the `wasmz` crate).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// Serializes a `HashMap` with its keys sorted, so equal maps always give equal bytes; deserializes it
/// as usual.
pub mod sorted_map {
    use super::*;

    /// Writes `map` as a map sorted by key.
    pub fn serialize<K, V, S>(map: &HashMap<K, V>, serializer: S) -> Result<S::Ok, S::Error>
    where
        K: Ord + Serialize,
        V: Serialize,
        S: Serializer,
    {
        map.iter().collect::<BTreeMap<_, _>>().serialize(serializer)
    }

    /// Reads a map written by [`serialize`].
    pub fn deserialize<'de, K, V, D>(deserializer: D) -> Result<HashMap<K, V>, D::Error>
    where
        K: Eq + Hash + Deserialize<'de>,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        HashMap::deserialize(deserializer)
    }
}

/// Serializes a byte slice as one byte string rather than a sequence of numbers, so it decodes with one
/// copy.
pub mod bytes {
    use super::*;
    use serde::de::{Error, SeqAccess, Visitor};
    use std::fmt;

    /// Writes `bytes` as a byte string.
    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Box<[u8]>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte string")
        }

        fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Box<[u8]>, E> {
            Ok(v.into())
        }

        fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Box<[u8]>, E> {
            Ok(v.into_boxed_slice())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Box<[u8]>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out.into_boxed_slice())
        }
    }

    /// Reads a byte string written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Box<[u8]>, D::Error> {
        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}
