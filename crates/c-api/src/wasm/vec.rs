//! Vectors of `wasm.h`: `wasm_<name>_vec_t` and their `new_empty` / `new_uninitialized` / `new` /
//! `copy` / `delete` functions.
//!
//! A vector's array is a boxed slice allocated here (NULL when empty). The vector types own their
//! elements in Rust too: dropping one (through `wasm_<name>_vec_delete`, or as part of a type that
//! holds one) frees its elements and its array. Vectors that C builds over its own arrays
//! (`WASM_ARRAY_VEC`) are only ever borrowed, never dropped.

use std::ptr;

/// Moves `items` into a freshly allocated array: (size, data); NULL for no items.
pub(crate) fn into_raw_parts<T>(items: Vec<T>) -> (usize, *mut T) {
    if items.is_empty() {
        return (0, ptr::null_mut());
    }
    let items = items.into_boxed_slice();
    let size = items.len();
    (size, Box::into_raw(items).cast::<T>())
}

/// Takes back an array made by [`into_raw_parts`].
///
/// # Safety
/// `data` must be NULL or an array of `size` elements made by [`into_raw_parts`], not used
/// afterwards.
pub(crate) unsafe fn from_raw_parts<T>(size: usize, data: *mut T) -> Vec<T> {
    if data.is_null() || size == 0 {
        return Vec::new();
    }
    // SAFETY: by the caller's guarantee, a boxed slice of `size` elements.
    unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(data, size)) }.into_vec()
}

/// Borrows the elements of a vector given by C (NULL or empty: no elements).
///
/// # Safety
/// A non-NULL `data` with a non-zero `size` must point to `size` initialized elements, unchanged
/// during `'a`.
pub(crate) unsafe fn view<'a, T>(size: usize, data: *const T) -> &'a [T] {
    if data.is_null() || size == 0 {
        return &[];
    }
    // SAFETY: by the caller's guarantee.
    unsafe { std::slice::from_raw_parts(data, size) }
}

/// Element operations of a vector type.
pub(crate) trait Element: Sized {
    /// A deep copy.
    fn copy(&self) -> Self;
    /// A zeroed element (`new_uninitialized`).
    fn zero() -> Self;
    /// Frees what the element owns.
    fn free(self);
}

/// Pointer elements own the object they point to (NULL is allowed).
impl<T: Clone> Element for *mut T {
    fn copy(&self) -> Self {
        if self.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: a non-NULL element of a vector points to a live object (the vector's contract).
        Box::into_raw(Box::new(unsafe { (**self).clone() }))
    }
    fn zero() -> Self {
        ptr::null_mut()
    }
    fn free(self) {
        // SAFETY: the element owns its object, boxed by this library.
        unsafe { crate::delete(self) }
    }
}

/// Defines a vector type and its five functions.
macro_rules! wasm_vec {
    ($vec:ident, $elem:ty, $new_empty:ident, $new_uninit:ident, $new:ident, $copy:ident, $delete:ident) => {
        #[doc = concat!("A vector of `", stringify!($elem), "` (`", stringify!($vec), "` of wasm.h).")]
        #[repr(C)]
        pub struct $vec {
            /// Number of elements.
            pub size: usize,
            /// The elements (NULL when empty).
            pub data: *mut $elem,
        }

        impl $vec {
            /// A vector owning `items`.
            #[allow(dead_code)]
            pub(crate) fn from_vec(items: Vec<$elem>) -> $vec {
                let (size, data) = $crate::wasm::vec::into_raw_parts(items);
                $vec { size, data }
            }

            /// An empty vector.
            #[allow(dead_code)]
            pub(crate) fn empty() -> $vec {
                $vec {
                    size: 0,
                    data: std::ptr::null_mut(),
                }
            }

            /// The elements.
            #[allow(dead_code)]
            pub(crate) fn as_slice(&self) -> &[$elem] {
                // SAFETY: a vector's `data` holds `size` elements (its contract).
                unsafe { $crate::wasm::vec::view(self.size, self.data) }
            }

            /// Takes the elements out, leaving the vector empty.
            #[allow(dead_code)]
            pub(crate) fn take(&mut self) -> Vec<$elem> {
                let (size, data) = (self.size, self.data);
                self.size = 0;
                self.data = std::ptr::null_mut();
                // SAFETY: an owned vector's array was made by `into_raw_parts` (its contract).
                unsafe { $crate::wasm::vec::from_raw_parts(size, data) }
            }
        }

        impl Clone for $vec {
            fn clone(&self) -> $vec {
                $vec::from_vec(
                    self.as_slice()
                        .iter()
                        .map($crate::wasm::vec::Element::copy)
                        .collect(),
                )
            }
        }

        impl Drop for $vec {
            fn drop(&mut self) {
                for item in self.take() {
                    $crate::wasm::vec::Element::free(item);
                }
            }
        }

        /// Sets `*out` to an empty vector.
        ///
        /// # Safety
        /// `out` must be NULL or writable.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new_empty(out: *mut $vec) {
            if !out.is_null() {
                // SAFETY: writable by the caller's guarantee; not read (may be uninitialized).
                unsafe { out.write($vec::empty()) }
            }
        }

        /// Sets `*out` to a vector of `size` zeroed elements, or to an empty vector when the memory
        /// cannot be had.
        ///
        /// # Safety
        /// `out` must be NULL or writable.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new_uninit(out: *mut $vec, size: usize) {
            if out.is_null() {
                return;
            }
            let items = $crate::guard_value(None, || {
                // Reserved fallibly: an infallible allocation that fails aborts the process.
                let mut items = Vec::new();
                items.try_reserve_exact(size).ok()?;
                items.extend((0..size).map(|_| <$elem as $crate::wasm::vec::Element>::zero()));
                Some(items)
            });
            let vec = items.map_or_else($vec::empty, $vec::from_vec);
            // SAFETY: writable by the caller's guarantee; not read (may be uninitialized).
            unsafe { out.write(vec) }
        }

        /// Sets `*out` to a vector of the `size` elements at `data`, whose ownership moves into it.
        ///
        /// # Safety
        /// `out` must be NULL or writable; `data` NULL or `size` readable elements.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new(out: *mut $vec, size: usize, data: *const $elem) {
            if out.is_null() {
                return;
            }
            // SAFETY: forwarded from the caller; the elements are moved (bitwise) into the vector.
            let items = unsafe { $crate::wasm::vec::view(size, data) }
                .iter()
                // SAFETY: each element is read once, its ownership moving into the vector.
                .map(|item| unsafe { std::ptr::read(item) })
                .collect();
            // SAFETY: writable by the caller's guarantee; not read (may be uninitialized).
            unsafe { out.write($vec::from_vec(items)) }
        }

        /// Sets `*out` to a deep copy of `*src` (empty for NULL).
        ///
        /// # Safety
        /// `out` must be NULL or writable; `src` NULL or a valid vector.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $copy(out: *mut $vec, src: *const $vec) {
            if out.is_null() {
                return;
            }
            // SAFETY: forwarded from the caller.
            let copy = $crate::guard_value(None, || unsafe { src.as_ref() }.map(Clone::clone));
            // SAFETY: writable by the caller's guarantee; not read (may be uninitialized).
            unsafe { out.write(copy.unwrap_or_else($vec::empty)) }
        }

        /// Frees the vector's elements and array; it becomes empty (NULL is ignored).
        ///
        /// # Safety
        /// `vec` must be NULL or a vector made by this library (or filled by it).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $delete(vec: *mut $vec) {
            if vec.is_null() {
                return;
            }
            // SAFETY: a valid owned vector by the caller's guarantee; it is left empty.
            let owned = unsafe { std::ptr::replace(vec, $vec::empty()) };
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(owned)));
        }
    };
}

pub(crate) use wasm_vec;

/// A byte.
pub type wasm_byte_t = std::ffi::c_char;

impl Element for wasm_byte_t {
    fn copy(&self) -> Self {
        *self
    }
    fn zero() -> Self {
        0
    }
    fn free(self) {}
}

wasm_vec!(
    wasm_byte_vec_t,
    wasm_byte_t,
    wasm_byte_vec_new_empty,
    wasm_byte_vec_new_uninitialized,
    wasm_byte_vec_new,
    wasm_byte_vec_copy,
    wasm_byte_vec_delete
);

/// A name: a byte vector.
pub type wasm_name_t = wasm_byte_vec_t;

impl wasm_byte_vec_t {
    /// A byte vector of `bytes`.
    pub(crate) fn from_bytes(bytes: &[u8]) -> wasm_byte_vec_t {
        wasm_byte_vec_t::from_vec(bytes.iter().map(|b| *b as wasm_byte_t).collect())
    }

    /// The bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        let s = self.as_slice();
        // SAFETY: `c_char` and `u8` have the same size and alignment.
        unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<u8>(), s.len()) }
    }
}
