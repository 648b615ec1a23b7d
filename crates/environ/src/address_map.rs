//! The address map of a code image, stored compactly: where each run of machine code comes from in the
//! wasm module.
//!
//! A large module has millions of entries (CRuby's 31 MB of code: 3 million), and the map is read only
//! to report traps and backtraces. As plain `(u32, u32)` pairs it made up a third of an artifact and a
//! third of the time to load one; delta-encoded it takes about a quarter of the space and loads as one
//! byte string.

use crate::shared_bytes::SharedBytes;
use serde::{Deserialize, Serialize};

/// The wasm offset of machine code that comes from no operator (prologues, trampolines, padding).
pub const NO_WASM_OFFSET: u32 = u32::MAX;

/// Entries between two checkpoints: a lookup decodes at most this many.
const CHECKPOINT_INTERVAL: u32 = 64;

/// Entries `(code offset, wasm offset or NO_WASM_OFFSET)`, sorted by code offset; each entry holds up
/// to the next one.
///
/// Encoding: each entry is the LEB128 increase of the code offset over the previous entry's, then the
/// zigzag LEB128 change of its wasm offset plus one (so that [`NO_WASM_OFFSET`] is 0). The first entry
/// of every [`CHECKPOINT_INTERVAL`] is also kept whole, with where its successor starts in the bytes,
/// so that a lookup starts from the nearest checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressMap {
    /// The entries, encoded (shared with a mapped artifact when loaded from one).
    bytes: SharedBytes,
    /// `(code offset, wasm offset plus one, position in `bytes` after the entry)` of entries 0, 64,
    /// 128, ...
    checkpoints: Vec<(u32, u32, u32)>,
    /// Number of entries.
    len: u32,
}

/// Builds an [`AddressMap`] entry by entry.
#[derive(Debug, Default)]
pub struct AddressMapBuilder {
    bytes: Vec<u8>,
    checkpoints: Vec<(u32, u32, u32)>,
    len: u32,
    /// The last entry's `(code offset, wasm offset plus one)`, where the next one is encoded from.
    last: (u32, u32),
}

impl AddressMapBuilder {
    /// Appends an entry: machine code from offset `at` on comes from wasm offset `wasm` (or from no
    /// operator: [`NO_WASM_OFFSET`]). Entries must come in code-offset order.
    ///
    /// # Panics
    /// When `at` is below the previous entry's offset, or the map has `u32::MAX` entries or 4 GiB of
    /// encoded bytes.
    pub fn push(&mut self, at: u32, wasm: u32) {
        let wasm = wasm.wrapping_add(1);
        let (last_at, last_wasm) = if self.len == 0 { (0, 0) } else { self.last };
        assert!(at >= last_at, "address map entries out of order");
        write_leb128(&mut self.bytes, u64::from(at - last_at));
        let change = i64::from(wasm) - i64::from(last_wasm);
        write_leb128(&mut self.bytes, ((change << 1) ^ (change >> 63)) as u64);
        if self.len.is_multiple_of(CHECKPOINT_INTERVAL) {
            let end = u32::try_from(self.bytes.len()).expect("address maps stay below 4 GiB");
            self.checkpoints.push((at, wasm, end));
        }
        self.len = self.len.checked_add(1).expect("address map too long");
        self.last = (at, wasm);
    }

    /// The map.
    pub fn finish(self) -> AddressMap {
        AddressMap {
            bytes: SharedBytes::new(self.bytes),
            checkpoints: self.checkpoints,
            len: self.len,
        }
    }
}

impl AddressMap {
    /// An empty map.
    pub fn new() -> AddressMap {
        AddressMap::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let mut decoder = Decoder {
            bytes: &self.bytes,
            at: 0,
            wasm: 0,
            pos: 0,
        };
        (0..self.len).map_while(move |_| decoder.next_entry())
    }

    /// The wasm offset of the operator the machine code at `offset` was compiled from, if any.
    pub fn wasm_offset(&self, offset: u32) -> Option<u32> {
        let i = self.checkpoints.partition_point(|&(at, _, _)| at <= offset);
        let &(at, wasm, pos) = self.checkpoints.get(i.checked_sub(1)?)?;
        let mut decoder = Decoder {
            bytes: &self.bytes,
            at,
            wasm,
            pos: pos as usize,
        };
        let mut found = wasm;
        // The entries after the checkpoint, up to the next checkpoint's.
        for _ in 1..CHECKPOINT_INTERVAL {
            match decoder.next_entry() {
                Some((at, wasm)) if at <= offset => found = wasm.wrapping_add(1),
                _ => break,
            }
        }
        let wasm = found.wrapping_sub(1);
        (wasm != NO_WASM_OFFSET).then_some(wasm)
    }
}

impl FromIterator<(u32, u32)> for AddressMap {
    fn from_iter<T: IntoIterator<Item = (u32, u32)>>(entries: T) -> AddressMap {
        let mut map = AddressMapBuilder::default();
        for (at, wasm) in entries {
            map.push(at, wasm);
        }
        map.finish()
    }
}

/// Reads entries from a position of the encoded bytes.
struct Decoder<'a> {
    bytes: &'a [u8],
    /// Code offset of the entry before `pos`.
    at: u32,
    /// Wasm offset plus one of the entry before `pos`.
    wasm: u32,
    pos: usize,
}

impl Decoder<'_> {
    /// The next entry as `(code offset, wasm offset)`; `None` at the end or on bytes that do not
    /// decode (a map from a damaged artifact then answers less, never wrongly sized).
    fn next_entry(&mut self) -> Option<(u32, u32)> {
        let step = u32::try_from(self.read_leb128()?).ok()?;
        let zigzag = self.read_leb128()?;
        let change = (zigzag >> 1) as i64 ^ -((zigzag & 1) as i64);
        self.at = self.at.checked_add(step)?;
        self.wasm = u32::try_from(i64::from(self.wasm).checked_add(change)?).ok()?;
        Some((self.at, self.wasm.wrapping_sub(1)))
    }

    fn read_leb128(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.pos)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
}

fn write_leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer of a plain sorted list of entries, the reference for the encoded map.
    fn reference(entries: &[(u32, u32)], offset: u32) -> Option<u32> {
        let i = entries.partition_point(|&(at, _)| at <= offset);
        let (_, wasm) = *entries.get(i.checked_sub(1)?)?;
        (wasm != NO_WASM_OFFSET).then_some(wasm)
    }

    #[test]
    fn lookups_match_a_plain_list() {
        // Offsets that rise and fall, runs without an operator, repeated code offsets, and more
        // entries than a few checkpoints hold.
        let mut entries = Vec::new();
        let mut at = 3u32;
        let mut state = 7u64;
        for i in 0..1000u32 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let wasm = match state >> 60 {
                0 => NO_WASM_OFFSET,
                1 => u32::MAX - 1,
                _ => ((state >> 33) as u32) % 5_000_000,
            };
            entries.push((at, wasm));
            at += (state >> 40) as u32 % 40 + u32::from(i % 7 != 0);
        }
        let map: AddressMap = entries.iter().copied().collect();
        assert_eq!(map.len(), entries.len());
        assert_eq!(map.iter().collect::<Vec<_>>(), entries);
        for offset in 0..at + 10 {
            assert_eq!(
                map.wasm_offset(offset),
                reference(&entries, offset),
                "{offset}"
            );
        }
        assert!(
            map.bytes.len() < entries.len() * 6,
            "{} bytes",
            map.bytes.len()
        );
    }

    #[test]
    fn an_empty_map_knows_nothing() {
        let map = AddressMap::new();
        assert!(map.is_empty());
        assert_eq!(map.wasm_offset(0), None);
        assert_eq!(map.iter().count(), 0);
    }

    #[test]
    fn damaged_bytes_answer_nothing_rather_than_panic() {
        let mut map: AddressMap = [(0, 5), (10, 6), (20, 7)].into_iter().collect();
        map.bytes = SharedBytes::new(vec![0xff; 3]);
        assert_eq!(map.iter().count(), 0);
        assert_eq!(map.wasm_offset(15), Some(5));
        map.checkpoints.clear();
        assert_eq!(map.wasm_offset(15), None);
    }
}
