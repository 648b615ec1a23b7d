//! `RawVal`: an untyped 16-byte wasm value, the unit of the arrays exchanged with compiled code.

/// An untyped wasm value: i32, i64, f32, f64, v128 or a reference, stored little-endian in 16 bytes.
///
/// The type is not recorded; the reader must know it (from the function's signature).
#[repr(C, align(16))]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct RawVal([u8; 16]);

impl core::fmt::Debug for RawVal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RawVal({:#x})", self.to_bits())
    }
}

impl RawVal {
    /// Builds a value from any supported Rust number type.
    pub fn from<T: IntoRawVal>(value: T) -> RawVal {
        value.into_raw()
    }

    /// Reads the value as `T`.
    pub fn read_as<T: FromRawVal>(&self) -> T {
        T::from_raw(*self)
    }

    /// A value from its 128 raw bits.
    pub fn from_bits(bits: u128) -> RawVal {
        RawVal(bits.to_le_bytes())
    }

    /// The 128 raw bits.
    pub fn to_bits(self) -> u128 {
        u128::from_le_bytes(self.0)
    }

    /// The low 64 bits.
    pub fn low64(self) -> u64 {
        u64::from_le_bytes(self.0[..8].try_into().expect("8 bytes"))
    }

    /// A value holding the 64 bits `bits` (upper half zero).
    pub fn from_u64(bits: u64) -> RawVal {
        RawVal::from_bits(u128::from(bits))
    }
}

/// Types that can be stored in a [`RawVal`].
pub trait IntoRawVal {
    /// Stores `self`.
    fn into_raw(self) -> RawVal;
}

/// Types that can be read from a [`RawVal`].
pub trait FromRawVal {
    /// Reads the value.
    fn from_raw(raw: RawVal) -> Self;
}

macro_rules! raw_int {
    ($($t:ty => $bits:ty),*) => {$(
        impl IntoRawVal for $t {
            fn into_raw(self) -> RawVal {
                RawVal::from_u64(u64::from(self as $bits))
            }
        }
        impl FromRawVal for $t {
            fn from_raw(raw: RawVal) -> $t {
                raw.low64() as $bits as $t
            }
        }
    )*};
}
raw_int!(i32 => u32, u32 => u32, i64 => u64, u64 => u64);

impl IntoRawVal for f32 {
    fn into_raw(self) -> RawVal {
        RawVal::from_u64(u64::from(self.to_bits()))
    }
}
impl FromRawVal for f32 {
    fn from_raw(raw: RawVal) -> f32 {
        f32::from_bits(raw.low64() as u32)
    }
}
impl IntoRawVal for f64 {
    fn into_raw(self) -> RawVal {
        RawVal::from_u64(self.to_bits())
    }
}
impl FromRawVal for f64 {
    fn from_raw(raw: RawVal) -> f64 {
        f64::from_bits(raw.low64())
    }
}
impl IntoRawVal for u128 {
    fn into_raw(self) -> RawVal {
        RawVal::from_bits(self)
    }
}
impl FromRawVal for u128 {
    fn from_raw(raw: RawVal) -> u128 {
        raw.to_bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        assert_eq!(RawVal::from(-7i32).read_as::<i32>(), -7);
        assert_eq!(RawVal::from(-7i32).read_as::<u32>(), (-7i32) as u32);
        assert_eq!(RawVal::from(i64::MIN).read_as::<i64>(), i64::MIN);
        assert_eq!(RawVal::from(1.5f32).read_as::<f32>(), 1.5);
        assert_eq!(
            RawVal::from(-0.0f64).read_as::<f64>().to_bits(),
            (-0.0f64).to_bits()
        );
        let nan = f32::from_bits(0x7fc0_0001);
        assert_eq!(RawVal::from(nan).read_as::<f32>().to_bits(), 0x7fc0_0001);
        assert_eq!(RawVal::from(u128::MAX).to_bits(), u128::MAX);
    }

    #[test]
    fn i32_is_stored_zero_extended() {
        assert_eq!(RawVal::from(-1i32).low64(), 0xffff_ffff);
    }
}
