//! Byte strings that a code image owns, or that it shares with a larger buffer kept alive with them (the
//! mapped artifact file it was loaded from), so that a large module's trap table and address map load
//! without being copied.

use serde::de::{Error, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::RefCell;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// A buffer byte strings can share.
pub type Owner = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Bytes owned, or a range of an [`Owner`]'s bytes.
#[derive(Clone)]
pub struct SharedBytes {
    owner: Owner,
    range: Range<usize>,
}

impl SharedBytes {
    /// Bytes of their own.
    pub fn new(bytes: Vec<u8>) -> SharedBytes {
        let range = 0..bytes.len();
        SharedBytes {
            owner: Arc::new(bytes),
            range,
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        (*self.owner)
            .as_ref()
            .get(self.range.clone())
            .unwrap_or_default()
    }

    /// Whether the bytes are a range of another buffer rather than their own.
    pub fn is_shared(&self) -> bool {
        (*self.owner).as_ref().len() != self.range.len()
    }
}

impl Default for SharedBytes {
    fn default() -> SharedBytes {
        SharedBytes::new(Vec::new())
    }
}

impl std::ops::Deref for SharedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedBytes({} bytes)", self.range.len())
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &SharedBytes) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SharedBytes {}

thread_local! {
    /// The buffer byte strings deserialized on this thread may share (see [`deserialize_sharing`]).
    static SHARED_OWNER: RefCell<Option<Owner>> = const { RefCell::new(None) };
}

/// Runs `deserialize`, a deserialization from (a part of) `owner`'s bytes: the [`SharedBytes`] it
/// reads from inside those bytes share them instead of copying them.
pub fn deserialize_sharing<R>(owner: Owner, deserialize: impl FnOnce() -> R) -> R {
    struct Reset(Option<Owner>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let previous = self.0.take();
            SHARED_OWNER.with(|o| *o.borrow_mut() = previous);
        }
    }
    let previous = SHARED_OWNER.with(|o| o.borrow_mut().replace(owner));
    let _reset = Reset(previous);
    deserialize()
}

impl Serialize for SharedBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.as_slice())
    }
}

struct SharedBytesVisitor;

impl<'de> Visitor<'de> for SharedBytesVisitor {
    type Value = SharedBytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_borrowed_bytes<E: Error>(self, v: &'de [u8]) -> Result<SharedBytes, E> {
        // Bytes inside the buffer being deserialized are shared with it.
        let shared = SHARED_OWNER.with(|o| {
            let owner = o.borrow().clone()?;
            let base = (*owner).as_ref().as_ptr() as usize;
            let len = (*owner).as_ref().len();
            let start = (v.as_ptr() as usize).checked_sub(base)?;
            (start.checked_add(v.len())? <= len).then(|| SharedBytes {
                owner: owner.clone(),
                range: start..start + v.len(),
            })
        });
        Ok(shared.unwrap_or_else(|| SharedBytes::new(v.to_vec())))
    }

    fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<SharedBytes, E> {
        Ok(SharedBytes::new(v.to_vec()))
    }

    fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<SharedBytes, E> {
        Ok(SharedBytes::new(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SharedBytes, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(SharedBytes::new(out))
    }
}

impl<'de> Deserialize<'de> for SharedBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SharedBytes, D::Error> {
        deserializer.deserialize_bytes(SharedBytesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_inside_the_owner_are_shared_others_copied() {
        let value = (
            SharedBytes::new(b"hello".to_vec()),
            SharedBytes::new(vec![7; 300]),
        );
        let encoded = postcard::to_stdvec(&value).unwrap();
        let owner: Owner = Arc::new(encoded.clone());
        let inside = owner.clone();
        let decoded: (SharedBytes, SharedBytes) =
            deserialize_sharing(owner, || postcard::from_bytes((*inside).as_ref()).unwrap());
        assert_eq!(decoded, value);
        assert!(decoded.0.is_shared() && decoded.1.is_shared());
        // Outside the owner's bytes (or with no owner), a copy.
        let copied: (SharedBytes, SharedBytes) = postcard::from_bytes(&encoded).unwrap();
        assert_eq!(copied, value);
        assert!(!copied.0.is_shared() && !copied.1.is_shared());
        let other: Owner = Arc::new(vec![0u8; 10]);
        let elsewhere: (SharedBytes, SharedBytes) =
            deserialize_sharing(other, || postcard::from_bytes(&encoded).unwrap());
        assert!(!elsewhere.0.is_shared());
    }
}
