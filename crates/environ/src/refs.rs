//! The encoding of reference values of the `any` and `extern` hierarchies in one machine word.
//!
//! Compiled code, the runtime and the embedding API agree on it, so converting between `anyref` and
//! `externref` (`any.convert_extern`, `extern.convert_any`) is the identity:
//!
//! - `0` is null;
//! - low bit `1`: an i31 value `v`, stored as `(v << 1) | 1` (31 bits, the top bit of the i32 dropped);
//! - low bits `10`: a host reference, `(host_id << 2) | 2`;
//! - low bits `00`, non-zero: the address of a GC heap object (8-byte aligned), whose first 4 bytes are
//!   the canonical type id of its struct or array type.
//!
//! Function references are `*const VMFuncRef` (0 = null) and exception references point at
//! exceptions; they never mix with this encoding.

/// The tag bits of a host reference.
pub const HOST_TAG: u64 = 0b10;

/// Mask of the two tag bits.
pub const TAG_MASK: u64 = 0b11;

/// The code for "any struct type" as the expected type of [`crate::Builtin::TypeMatches`].
pub const STRUCT_CODE: u32 = u32::MAX;

/// The code for "any array type" as the expected type of [`crate::Builtin::TypeMatches`].
pub const ARRAY_CODE: u32 = u32::MAX - 1;

/// The largest host id a reference can carry.
pub const MAX_HOST_ID: u64 = u64::MAX >> 2;

/// The word of the i31 reference holding the low 31 bits of `v`.
pub fn i31_word(v: u32) -> u64 {
    u64::from((v << 1) | 1)
}

/// The value of an i31 word, sign-extended from 31 bits.
pub fn i31_signed(word: u64) -> i32 {
    // The value and its tag live in the low 32 bits.
    let low = word as u32;
    (low as i32) >> 1
}

/// The value of an i31 word, zero-extended from 31 bits.
pub fn i31_unsigned(word: u64) -> u32 {
    let low = word as u32;
    low >> 1
}

/// Whether non-null `word` is an i31 reference.
pub fn is_i31(word: u64) -> bool {
    word & 1 == 1
}

/// Whether `word` is a host reference.
pub fn is_host(word: u64) -> bool {
    word & TAG_MASK == HOST_TAG
}

/// Whether `word` is the address of a GC heap object.
pub fn is_object(word: u64) -> bool {
    word != 0 && word & TAG_MASK == 0
}

/// The word of host reference `id` (which must not exceed [`MAX_HOST_ID`]; higher bits are lost).
pub fn host_word(id: u64) -> u64 {
    (id << 2) | HOST_TAG
}

/// The host id of host reference `word`.
pub fn host_id(word: u64) -> u64 {
    word >> 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i31_round_trips() {
        for v in [0i32, 1, -1, 0x3fff_ffff, -0x4000_0000] {
            let w = i31_word(v as u32);
            assert!(is_i31(w) && !is_host(w) && !is_object(w));
            assert_eq!(i31_signed(w), v);
        }
        assert_eq!(i31_signed(i31_word(0x7fff_ffff)), -1);
        assert_eq!(i31_unsigned(i31_word(0xffff_ffff)), 0x7fff_ffff);
        assert_eq!(i31_signed(i31_word(0x4000_0000)), -0x4000_0000);
    }

    #[test]
    fn host_round_trips() {
        for id in [0, 1, MAX_HOST_ID] {
            let w = host_word(id);
            assert!(is_host(w) && !is_i31(w) && !is_object(w) && w != 0);
            assert_eq!(host_id(w), id);
        }
    }
}
