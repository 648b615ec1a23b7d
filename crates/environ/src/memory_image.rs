//! Memory images: the initial contents of a module's memory 0, laid out page by page, so that an artifact
//! file can be mapped copy-on-write as the start of the memory instead of having its data segments
//! copied in at every instantiation.
//!
//! A module qualifies when its memory 0 is its own (not imported) and not shared, all its active data
//! segments are for memory 0, have constant offsets, lie inside the memory's initial size and do not
//! overlap, and they hold at least [`MIN_IMAGE_DATA`] bytes over a span not much larger than that (a
//! sparse image would cost more file than it saves copying). Nothing else changes: the segments are
//! applied by the image instead of one by one, with the same result, since none of them can trap.

use crate::module::{ConstOp, DataMode, ModuleInfo};
use serde::{Deserialize, Serialize};

/// Alignment of an image's start in memory and in the file, and of its length: a multiple of the page
/// size of every supported host (4, 16 and 64 KiB pages).
pub const IMAGE_ALIGNMENT: u64 = 64 * 1024;

/// Data segments holding fewer bytes than this are copied as usual: mapping pays only for large data.
pub const MIN_IMAGE_DATA: u64 = 1 << 20;

/// Where a module's memory image goes, and which data segments it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryImageLayout {
    /// Offset of the image's first byte in memory 0 (a multiple of [`IMAGE_ALIGNMENT`]).
    pub memory_offset: u64,
    /// Length of the image (a multiple of [`IMAGE_ALIGNMENT`]).
    pub len: u64,
    /// The data segments the image holds: (segment index, offset in memory 0, length). Their own bytes
    /// are left empty in the module's metadata.
    pub segments: Vec<(u32, u64, u64)>,
}

impl MemoryImageLayout {
    /// The bytes of data segment `index` within `image` (the image's bytes), if the image holds that
    /// segment.
    pub fn segment<'a>(&self, image: &'a [u8], index: u32) -> Option<&'a [u8]> {
        let i = self
            .segments
            .binary_search_by_key(&index, |&(s, _, _)| s)
            .ok()?;
        let (_, offset, len) = self.segments[i];
        let start = usize::try_from(offset.checked_sub(self.memory_offset)?).ok()?;
        image.get(start..start.checked_add(usize::try_from(len).ok()?)?)
    }
}

/// Moves the active data segments of `info`'s memory 0 into a memory image when the module qualifies
/// (see the module documentation): returns the image's bytes, records its layout in
/// `info.memory_image` and empties the segments it holds. Returns `None`, leaving `info` as it was,
/// otherwise.
pub fn build_memory_image(info: &mut ModuleInfo) -> Option<Vec<u8>> {
    if info.num_imported_memories > 0 || info.memory_image.is_some() {
        return None;
    }
    let memory = info.memories.first()?;
    if memory.shared {
        return None;
    }
    let min_bytes = memory.limits.min.checked_mul(memory.page_size())?;
    let mut segments = Vec::new();
    for (index, seg) in info.data.iter().enumerate() {
        let offset = match &seg.mode {
            DataMode::Passive => continue,
            DataMode::Active { memory: 0, offset } => offset,
            // A segment of another memory may trap, and the segments after it must then stay
            // unapplied (a function of the failed instance may have escaped through an imported
            // table and read memory 0): the image would apply them all up front.
            DataMode::Active { .. } => return None,
        };
        let at = match (offset.ops.as_slice(), memory.memory64) {
            ([ConstOp::I32(c)], false) => u64::from(*c as u32),
            ([ConstOp::I64(c)], true) => *c as u64,
            _ => return None,
        };
        let len = seg.bytes.len() as u64;
        if at.checked_add(len)? > min_bytes {
            return None;
        }
        // An empty segment stays as it is: applying it writes nothing (its offset is in bounds).
        if len > 0 {
            segments.push((u32::try_from(index).ok()?, at, len));
        }
    }
    let total: u64 = segments.iter().map(|&(_, _, len)| len).sum();
    if total < MIN_IMAGE_DATA {
        return None;
    }
    let mut by_offset: Vec<_> = segments.iter().collect();
    by_offset.sort_by_key(|&&(_, at, _)| at);
    if by_offset.windows(2).any(|w| w[0].1 + w[0].2 > w[1].1) {
        return None;
    }
    let start = by_offset.first()?.1 / IMAGE_ALIGNMENT * IMAGE_ALIGNMENT;
    let end = by_offset
        .iter()
        .map(|&&(_, at, len)| at + len)
        .max()?
        .checked_next_multiple_of(IMAGE_ALIGNMENT)?;
    if end.checked_sub(start)? > total.saturating_mul(2).saturating_add(MIN_IMAGE_DATA) {
        return None;
    }
    let mut image = vec![0u8; usize::try_from(end - start).ok()?];
    for &(index, at, len) in &segments {
        let from = (at - start) as usize;
        let seg = &mut info.data[index as usize];
        image[from..from + len as usize].copy_from_slice(&seg.bytes);
        seg.bytes = Box::new([]);
    }
    info.memory_image = Some(MemoryImageLayout {
        memory_offset: start,
        len: end - start,
        segments,
    });
    Some(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::{ConstExpr, DataSegment};
    use crate::types::MemoryType;

    fn active(at: i32, len: usize, byte: u8) -> DataSegment {
        DataSegment {
            mode: DataMode::Active {
                memory: 0,
                offset: ConstExpr {
                    ops: vec![ConstOp::I32(at)],
                },
            },
            bytes: vec![byte; len].into_boxed_slice(),
        }
    }

    fn module(pages: u64, data: Vec<DataSegment>) -> ModuleInfo {
        ModuleInfo {
            memories: vec![MemoryType::new(pages, None)],
            data,
            ..ModuleInfo::default()
        }
    }

    #[test]
    fn large_constant_segments_become_an_image() {
        let mut info = module(
            64,
            vec![active(0x1_0400, 1 << 20, 7), active(0x20_0000, 10, 9)],
        );
        let image = build_memory_image(&mut info).expect("an image");
        let layout = info.memory_image.clone().expect("a layout");
        assert_eq!(layout.memory_offset, 0x1_0000);
        assert_eq!(layout.len, 0x20_0000 + 0x1_0000 - 0x1_0000);
        assert_eq!(image.len() as u64, layout.len);
        assert_eq!(image[0x3ff], 0);
        assert_eq!(image[0x400], 7);
        assert_eq!(layout.segment(&image, 0).unwrap(), &vec![7; 1 << 20][..]);
        assert_eq!(layout.segment(&image, 1).unwrap(), &[9; 10]);
        assert!(info.data.iter().all(|d| d.bytes.is_empty()));
    }

    #[test]
    fn an_image_gives_the_memory_that_applying_the_segments_gives() {
        const PAGES: u64 = 64;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let (mut built, mut refused) = (0, 0);
        for round in 0..200 {
            let count = 1 + next(4) as usize;
            let data: Vec<DataSegment> = (0..count)
                .map(|k| {
                    let len = [0, 1, 1000, 300_000, 700_000, 700_000][next(6) as usize];
                    // Mostly apart (a slot of 1 MB each), sometimes anywhere.
                    let at = if next(4) == 0 {
                        next(PAGES * 65536 + 100_000)
                    } else {
                        k as u64 * 1_000_000 + next(250_000)
                    } as i32;
                    active(at, len, (round * 7 + k) as u8 + 1)
                })
                .collect();
            let mut info = module(PAGES, data.clone());
            // The memory as instantiation without an image leaves it (when no segment traps).
            let mut expected = vec![0u8; (PAGES * 65536) as usize];
            let fits = data.iter().all(|seg| {
                let DataMode::Active { offset, .. } = &seg.mode else {
                    unreachable!()
                };
                let [ConstOp::I32(at)] = offset.ops[..] else {
                    unreachable!()
                };
                let at = at as u32 as usize;
                let Some(slot) = expected.get_mut(at..at + seg.bytes.len()) else {
                    return false;
                };
                slot.copy_from_slice(&seg.bytes);
                true
            });
            let Some(image) = build_memory_image(&mut info) else {
                refused += 1;
                let kept: Vec<_> = info.data.iter().map(|d| d.bytes.clone()).collect();
                let original: Vec<_> = data.iter().map(|d| d.bytes.clone()).collect();
                assert_eq!(kept, original, "round {round}");
                continue;
            };
            built += 1;
            assert!(fits, "round {round}: an image for segments that do not fit");
            let layout = info.memory_image.clone().unwrap();
            let mut memory = vec![0u8; (PAGES * 65536) as usize];
            let at = layout.memory_offset as usize;
            memory[at..at + image.len()].copy_from_slice(&image);
            // The remaining (empty) segments write nothing.
            assert!(
                info.data.iter().all(|d| d.bytes.is_empty()),
                "round {round}"
            );
            assert!(memory == expected, "round {round}");
            for (index, seg) in data.iter().enumerate() {
                if !seg.bytes.is_empty() {
                    assert_eq!(layout.segment(&image, index as u32), Some(&seg.bytes[..]));
                }
            }
        }
        assert!(
            built >= 20 && refused >= 20,
            "{built} built, {refused} refused"
        );
    }

    #[test]
    fn empty_segments_stay_out_of_the_image() {
        let mut info = module(64, vec![active(0, 0, 0), active(0x2_0000, 1 << 20, 3)]);
        let image = build_memory_image(&mut info).expect("an image");
        let layout = info.memory_image.clone().expect("a layout");
        assert_eq!(layout.memory_offset, 0x2_0000);
        assert_eq!(layout.segments, [(1, 0x2_0000, 1 << 20)]);
        assert_eq!(layout.segment(&image, 0), None);
        assert_eq!(layout.segment(&image, 1).map(|b| b.len()), Some(1 << 20));
    }

    #[test]
    fn modules_that_do_not_qualify_keep_their_segments() {
        let cases = [
            // Too little data.
            module(64, vec![active(0, 1000, 1)]),
            // Past the initial size (16 pages: 1 MiB).
            module(16, vec![active(1, 1 << 20, 1)]),
            // Overlapping.
            module(64, vec![active(0, 1 << 20, 1), active(100, 10, 2)]),
            // Sparse.
            module(1000, vec![active(0, 1 << 20, 1), active(60 << 20, 10, 2)]),
        ];
        for mut info in cases {
            let before: Vec<_> = info.data.iter().map(|d| d.bytes.clone()).collect();
            assert!(build_memory_image(&mut info).is_none());
            assert!(info.memory_image.is_none());
            let after: Vec<_> = info.data.iter().map(|d| d.bytes.clone()).collect();
            assert_eq!(before, after);
        }
        let mut shared = module(64, vec![active(0, 1 << 20, 1)]);
        shared.memories[0].shared = true;
        shared.memories[0].limits.max = Some(64);
        assert!(build_memory_image(&mut shared).is_none());
    }
}
