//! The trap sites of a code image: every instruction that may trap, with its trap code, sorted by code
//! offset. Stored as two byte strings (the offsets, four bytes each, little-endian; the codes, one byte
//! each), which a large module's artifact shares instead of decoding: CRuby has 560,000 sites.

use crate::TrapCode;
use crate::shared_bytes::SharedBytes;
use serde::{Deserialize, Serialize};

/// Trap sites `(code offset, trap code)`, sorted by offset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrapTable {
    offsets: SharedBytes,
    codes: SharedBytes,
}

impl TrapTable {
    /// Number of sites (0 for a table whose two parts disagree, which [`TrapTable::is_well_formed`]
    /// reports).
    pub fn len(&self) -> usize {
        if self.is_well_formed() {
            self.codes.len()
        } else {
            0
        }
    }

    /// Whether the table has no sites.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether there is one offset for every code.
    pub fn is_well_formed(&self) -> bool {
        self.offsets.len() == self.codes.len().saturating_mul(4)
    }

    fn offset(&self, i: usize) -> u32 {
        let bytes = &self.offsets[i * 4..i * 4 + 4];
        u32::from_le_bytes(bytes.try_into().expect("four bytes"))
    }

    /// Site `i`; its code is `None` when the byte names no trap code (a damaged artifact).
    fn site(&self, i: usize) -> (u32, Option<TrapCode>) {
        (self.offset(i), TrapCode::from_u8(self.codes[i]))
    }

    /// The sites, in order (those whose code byte names no trap code are left out).
    pub fn iter(&self) -> impl Iterator<Item = (u32, TrapCode)> + '_ {
        (0..self.len()).filter_map(|i| match self.site(i) {
            (offset, Some(code)) => Some((offset, code)),
            (_, None) => None,
        })
    }

    /// Whether the table is well formed, its offsets sorted and below `code_len`, and every code byte a
    /// trap code (one pass over the bytes).
    pub fn is_valid_for(&self, code_len: u32) -> bool {
        if !self.is_well_formed() || !self.codes.iter().all(|&c| TrapCode::from_u8(c).is_some()) {
            return false;
        }
        let mut previous = 0;
        self.offsets.chunks_exact(4).all(|bytes| {
            let offset = u32::from_le_bytes(bytes.try_into().expect("four bytes"));
            let ordered = offset >= previous && offset < code_len;
            previous = offset;
            ordered
        })
    }

    /// The trap code of the instruction at `offset`, if it may trap.
    pub fn lookup(&self, offset: u32) -> Option<TrapCode> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = low + (high - low) / 2;
            match self.offset(mid).cmp(&offset) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return self.site(mid).1,
            }
        }
        None
    }
}

impl FromIterator<(u32, TrapCode)> for TrapTable {
    /// The table of `sites`, which must come sorted by offset.
    fn from_iter<T: IntoIterator<Item = (u32, TrapCode)>>(sites: T) -> TrapTable {
        let (mut offsets, mut codes) = (Vec::new(), Vec::new());
        for (offset, code) in sites {
            offsets.extend_from_slice(&offset.to_le_bytes());
            codes.push(code.to_u8());
        }
        TrapTable {
            offsets: SharedBytes::new(offsets),
            codes: SharedBytes::new(codes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_find_exactly_the_sites() {
        let sites: Vec<(u32, TrapCode)> = (0..1000u32)
            .map(|i| {
                let code = if i % 3 == 0 {
                    TrapCode::MemoryOutOfBounds
                } else {
                    TrapCode::IntegerDivisionByZero
                };
                (i * 7 + 3, code)
            })
            .collect();
        let table: TrapTable = sites.iter().copied().collect();
        assert_eq!(table.len(), 1000);
        assert_eq!(table.iter().collect::<Vec<_>>(), sites);
        for offset in 0..7100 {
            let expected = sites.iter().find(|s| s.0 == offset).map(|s| s.1);
            assert_eq!(table.lookup(offset), expected, "{offset}");
        }
        assert_eq!(TrapTable::default().lookup(0), None);
        assert!(table.is_valid_for(7000));
        assert!(!table.is_valid_for(6996));
        let unsorted: TrapTable = [(8, TrapCode::StackOverflow), (4, TrapCode::StackOverflow)]
            .into_iter()
            .collect();
        assert!(!unsorted.is_valid_for(100));
    }

    #[test]
    fn a_damaged_table_answers_nothing_wrong() {
        let mut table: TrapTable = [(4, TrapCode::StackOverflow)].into_iter().collect();
        table.codes = SharedBytes::new(vec![0xff]);
        assert_eq!(table.lookup(4), None);
        assert_eq!(table.iter().count(), 0);
        assert!(!table.is_valid_for(100));
        table.offsets = SharedBytes::new(vec![1, 2, 3]);
        assert!(!table.is_well_formed());
        assert_eq!(table.len(), 0);
        assert_eq!(table.lookup(4), None);
    }
}
