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

/// Serializes trap sites `(code offset, trap code)` as two byte strings, the offsets (4 bytes each,
/// little-endian) and the codes (one byte each), so that a large module's hundreds of thousands of
/// sites decode in a tight loop rather than one serde value at a time.
pub mod trap_sites {
    use super::*;
    use crate::TrapCode;
    use serde::de::Error;

    /// Writes `sites` as two byte strings.
    pub fn serialize<S: Serializer>(
        sites: &[(u32, TrapCode)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let offsets: Vec<u8> = sites.iter().flat_map(|(o, _)| o.to_le_bytes()).collect();
        let codes: Vec<u8> = sites.iter().map(|(_, c)| c.to_u8()).collect();
        (
            serde_bytes_ref::Bytes(&offsets),
            serde_bytes_ref::Bytes(&codes),
        )
            .serialize(serializer)
    }

    /// Reads sites written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(u32, TrapCode)>, D::Error> {
        let (offsets, codes) = <(Wrapped, Wrapped)>::deserialize(deserializer)?;
        if offsets.0.len() != codes.0.len() * 4 {
            return Err(D::Error::custom("trap offsets and codes differ in number"));
        }
        offsets
            .0
            .chunks_exact(4)
            .zip(codes.0.iter())
            .map(|(offset, &code)| {
                let offset = u32::from_le_bytes(offset.try_into().expect("four bytes"));
                let code = TrapCode::from_u8(code)
                    .ok_or_else(|| D::Error::custom(format!("unknown trap code {code}")))?;
                Ok((offset, code))
            })
            .collect()
    }

    /// A byte string read with [`super::bytes`].
    struct Wrapped(Box<[u8]>);

    impl<'de> Deserialize<'de> for Wrapped {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Wrapped, D::Error> {
            super::bytes::deserialize(deserializer).map(Wrapped)
        }
    }

    mod serde_bytes_ref {
        use serde::{Serialize, Serializer};

        /// A byte slice serialized as one byte string.
        pub struct Bytes<'a>(pub &'a [u8]);

        impl Serialize for Bytes<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bytes(self.0)
            }
        }
    }
}
