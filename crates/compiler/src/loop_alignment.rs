//! Where relative to a cache line a compiled function should start, so that its innermost loop does
//! not straddle a fetch window.
//!
//! Cranelift lays out a function's blocks without aligning loop headers, so where a hot loop falls
//! relative to 64-byte lines (and the 32-byte windows that x86-64 front ends fetch and cache decoded
//! instructions in) depends on the code before it: the same loop can run several percent slower when it
//! straddles a boundary. wasmz's linker places functions, and can start each one anywhere its code's
//! alignment allows: starting a function `phase` bytes past a line boundary moves all of its code, so
//! the phase that puts one loop header at the start of a line aligns that loop, for at most a line of
//! padding before the function.
//!
//! The loop chosen is the most deeply nested one without calls, and among those the shortest: with no
//! profile, the innermost and tightest loop is the best guess for the hottest one, and short loops are
//! the ones a boundary hurts most. A function moves only when that loop straddles the window it could
//! fit in (32 bytes for a loop of up to 32, else a line), or, when longer than a line, does not start
//! one: every other function starts on a line boundary, where an entry that is called often runs best
//! (recursive fib(36) took 9% longer with functions 16-byte aligned). Loops with calls are left alone,
//! since their time goes to the calls; moving the functions of Takeuchi's and Ackermann's recursion
//! (whose tail calls clang turned into loops around calls) made them 22% slower. Loops are read off
//! the machine code's block layout: a branch from a block to itself or to an earlier block closes a
//! loop that spans from the target to the end of the branching block.

/// Bytes in the unit that loop headers are aligned to.
pub(crate) const LINE: u32 = 64;

/// The code of a compiled function, as far as placing it goes.
pub(crate) struct Layout<'a> {
    /// Block start offsets, ascending.
    pub block_starts: &'a [u32],
    /// Control-flow edges: (source block start, target offset).
    pub edges: &'a [(u32, u32)],
    /// Return addresses of the calls.
    pub calls: &'a [u32],
    /// Bytes of code.
    pub code_len: u32,
    /// The alignment the code needs (a power of two up to [`LINE`], e.g. for constants).
    pub alignment: u32,
}

/// The offset from a [`LINE`] boundary at which a function should start: 0 (start on a boundary)
/// unless its chosen loop is placed badly there.
pub(crate) fn start_phase(layout: &Layout) -> u32 {
    let Some(chosen) = innermost_loop(layout) else {
        return 0;
    };
    let len = chosen.end - chosen.header;
    let alignment = layout.alignment.clamp(1, LINE);
    // A loop of up to 32 bytes should sit in one 32-byte fetch window, one of up to a line in one
    // line, and a longer one should start a line (within the code's alignment).
    let placed_well = |phase: u32| {
        let at = chosen.header + phase;
        match len {
            0..=32 => at % 32 + len <= 32,
            33..=LINE => at % LINE + len <= LINE,
            _ => at % LINE < alignment,
        }
    };
    if placed_well(0) {
        return 0;
    }
    // Otherwise the header goes to the start of a line, or as close after it as the alignment of the
    // code allows.
    let exact = (LINE - chosen.header % LINE) % LINE;
    let phase = exact.next_multiple_of(alignment) % LINE;
    if placed_well(phase) { phase } else { 0 }
}

/// A loop: the offsets it spans, and its header (the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Loop {
    header: u32,
    end: u32,
}

impl Loop {
    fn contains(&self, other: &Loop) -> bool {
        self.header <= other.header && other.end <= self.end && self != other
    }
}

/// The most deeply nested loop without calls (the shortest among equally deep ones; the first among
/// equally short ones), or `None` without such a loop.
fn innermost_loop(layout: &Layout) -> Option<Loop> {
    let block_end = |start: u32| {
        let next = layout.block_starts.partition_point(|&s| s <= start);
        layout
            .block_starts
            .get(next)
            .copied()
            .unwrap_or(layout.code_len)
    };
    let mut loops: Vec<Loop> = layout
        .edges
        .iter()
        .filter(|&&(from, to)| to <= from)
        .map(|&(from, to)| Loop {
            header: to,
            end: block_end(from),
        })
        .collect();
    loops.sort_by_key(|l| (l.header, l.end));
    loops.dedup();
    let depth = |l: &Loop| loops.iter().filter(|outer| outer.contains(l)).count();
    let calls = |l: &Loop| {
        layout
            .calls
            .iter()
            .any(|&ret| l.header < ret && ret <= l.end)
    };
    // Quadratic in the number of loops, which is small next to the work of compiling the function;
    // a function with very many loops is measured on the first ones only.
    loops
        .iter()
        .take(256)
        .filter(|l| !calls(l))
        .max_by_key(|l| {
            (
                depth(l),
                std::cmp::Reverse(l.end - l.header),
                std::cmp::Reverse(l.header),
            )
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout<'a>(starts: &'a [u32], edges: &'a [(u32, u32)], code_len: u32) -> Layout<'a> {
        Layout {
            block_starts: starts,
            edges,
            calls: &[],
            code_len,
            alignment: 1,
        }
    }

    fn phase(starts: &[u32], edges: &[(u32, u32)], code_len: u32, alignment: u32) -> u32 {
        start_phase(&Layout {
            alignment,
            ..layout(starts, edges, code_len)
        })
    }

    #[test]
    fn a_function_without_loops_starts_on_a_line() {
        assert_eq!(phase(&[0, 10, 20], &[(0, 10), (10, 20)], 30, 1), 0);
        assert_eq!(phase(&[], &[], 0, 16), 0);
    }

    #[test]
    fn a_loop_inside_its_window_stays_put() {
        // Loop 40..50 fits in the 32-byte window 32..64.
        assert_eq!(phase(&[0, 40, 50], &[(40, 40)], 60, 1), 0);
    }

    #[test]
    fn a_straddling_loop_moves_to_the_start_of_a_line() {
        // Loop 31..52 (21 bytes) crosses 32: starting the function 33 bytes past a boundary puts the
        // header at 64.
        let p = phase(&[0, 31, 52], &[(0, 31), (31, 31), (31, 52)], 60, 1);
        assert_eq!(p, 33);
        assert_eq!((31 + p) % LINE, 0);
        // With 16-byte alignment the header can only get to 15 bytes into a line, where the loop still
        // crosses 32: the function stays on the boundary.
        assert_eq!(phase(&[0, 31, 52], &[(31, 31)], 60, 16), 0);
        // A loop of 10 bytes at 31 gets to 15..25 with 16-byte alignment.
        assert_eq!(phase(&[0, 31, 41], &[(31, 31)], 50, 16), 48);
    }

    #[test]
    fn a_loop_of_up_to_a_line_moves_into_one_line() {
        // Loop 50..90 (40 bytes) crosses 64: starting at 14 puts it at 64..104.
        assert_eq!(phase(&[0, 50, 90], &[(50, 50)], 100, 1), 14);
        // With 16-byte alignment, at 16 it is at 66..106, still inside one line.
        assert_eq!(phase(&[0, 50, 90], &[(50, 50)], 100, 16), 16);
        // A longer loop starts a line: loop 50..150 at 64..164.
        assert_eq!(phase(&[0, 50, 150], &[(50, 50)], 160, 1), 14);
        // With 16-byte alignment its header gets 2 bytes into the line.
        assert_eq!(phase(&[0, 50, 150], &[(50, 50)], 160, 16), 16);
        // One that starts a line already stays.
        assert_eq!(phase(&[0, 64, 164], &[(64, 64)], 170, 1), 0);
    }

    #[test]
    fn the_innermost_loop_wins_over_a_shorter_outer_one() {
        // Outer loop 10..100 (back edge from the block at 90), inner loop 40..80 (back edge from 60),
        // and a short separate loop 120..130 at depth 0.
        let starts = [0, 10, 40, 60, 80, 90, 100, 120, 130];
        let edges = [(90, 10), (60, 40), (120, 120)];
        let header = innermost_loop(&layout(&starts, &edges, 140));
        assert_eq!(header.map(|l| l.header), Some(40));
    }

    #[test]
    fn among_equally_deep_loops_the_shortest_wins() {
        let starts = [0, 10, 50, 70, 80];
        // Loop 10..50 (40 bytes), loop 70..80 (10 bytes).
        let edges = [(10, 10), (70, 70)];
        assert_eq!(
            innermost_loop(&layout(&starts, &edges, 100)).map(|l| l.header),
            Some(70)
        );
    }

    #[test]
    fn loops_with_calls_are_left_alone() {
        // Inner loop 40..80 calls (return address 50); the outer loop 10..100 calls too.
        let starts = [0, 10, 40, 60, 80, 90, 100];
        let edges = [(90, 10), (60, 40)];
        let with_calls = Layout {
            calls: &[50],
            ..layout(&starts, &edges, 110)
        };
        assert_eq!(innermost_loop(&with_calls), None);
        assert_eq!(start_phase(&with_calls), 0);
        // A call outside the inner loop leaves it eligible.
        let outer_call = Layout {
            calls: &[85],
            ..layout(&starts, &edges, 110)
        };
        assert_eq!(innermost_loop(&outer_call).map(|l| l.header), Some(40));
    }

    #[test]
    fn forward_edges_make_no_loop() {
        assert_eq!(innermost_loop(&layout(&[0, 10], &[(0, 10)], 20)), None);
    }
}
