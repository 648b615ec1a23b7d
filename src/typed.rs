//! Statically typed calls in both directions: [`TypedFunc`] (host → wasm, the signature checked once)
//! and [`HostFunc::wrap`] (wasm → host, the signature taken from a closure's).
//!
//! Only numeric types (`i32`, `u32`, `i64`, `u64`, `f32`, `f64`, and `u128` for `v128`) take part:
//! references need the checks of typed values ([`crate::Val`]), which raw words cannot carry.

use crate::Error;
use crate::externals::Func;
use crate::linker::{HostContext, HostError, HostFunc};
use crate::values::Trap;
use std::marker::PhantomData;
use wasmz_environ::{FuncType, ValType};
use wasmz_runtime::{FromRawVal, IntoRawVal, RawVal};

/// A number type a typed call passes or returns: `i32`, `u32` (as i32), `i64`, `u64` (as i64), `f32`,
/// `f64`, `u128` (as v128).
pub trait WasmTy: IntoRawVal + FromRawVal + Copy + 'static {
    /// Its wasm type.
    const TYPE: ValType;
}

macro_rules! wasm_ty {
    ($($t:ty => $v:ident),*) => {
        $(impl WasmTy for $t {
            const TYPE: ValType = ValType::$v;
        })*
    };
}

wasm_ty!(i32 => I32, u32 => I32, i64 => I64, u64 => I64, f32 => F32, f64 => F64, u128 => V128);

/// Several values of a typed call: `()`, one [`WasmTy`], or a tuple of up to eight of them.
pub trait WasmTyList: Sized + 'static {
    /// How many values.
    const LEN: usize;
    /// Their wasm types, in order.
    fn types() -> Vec<ValType>;
    /// Writes the values into `slots` (which has at least `LEN` entries).
    fn store(self, slots: &mut [RawVal]);
    /// Reads the values from `slots` (which has at least `LEN` entries).
    fn load(slots: &[RawVal]) -> Self;
}

impl<T: WasmTy> WasmTyList for T {
    const LEN: usize = 1;
    fn types() -> Vec<ValType> {
        vec![T::TYPE]
    }
    #[inline]
    fn store(self, slots: &mut [RawVal]) {
        slots[0] = self.into_raw();
    }
    #[inline]
    fn load(slots: &[RawVal]) -> Self {
        T::from_raw(slots[0])
    }
}

macro_rules! wasm_ty_tuple {
    ($n:expr; $($t:ident $i:tt),*) => {
        impl<$($t: WasmTy),*> WasmTyList for ($($t,)*) {
            const LEN: usize = $n;
            fn types() -> Vec<ValType> {
                vec![$($t::TYPE),*]
            }
            #[inline]
            #[allow(unused_variables)]
            fn store(self, slots: &mut [RawVal]) {
                $(slots[$i] = self.$i.into_raw();)*
            }
            #[inline]
            #[allow(unused_variables, clippy::unused_unit)]
            fn load(slots: &[RawVal]) -> Self {
                ($($t::from_raw(slots[$i]),)*)
            }
        }
    };
}

wasm_ty_tuple!(0;);
wasm_ty_tuple!(1; A 0);
wasm_ty_tuple!(2; A 0, B 1);
wasm_ty_tuple!(3; A 0, B 1, C 2);
wasm_ty_tuple!(4; A 0, B 1, C 2, D 3);
wasm_ty_tuple!(5; A 0, B 1, C 2, D 3, E 4);
wasm_ty_tuple!(6; A 0, B 1, C 2, D 3, E 4, F 5);
wasm_ty_tuple!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
wasm_ty_tuple!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// The most values of a typed call (parameters or results).
const MAX_VALUES: usize = 8;

/// A wasm function with a signature checked once, called with Rust values: `P` its parameters and
/// `R` its results, each `()`, one number type or a tuple (see [`WasmTyList`]). Made by
/// [`crate::Instance::typed_func`] or [`Func::typed`].
pub struct TypedFunc<P, R> {
    func: Func,
    _types: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        TypedFunc {
            func: self.func.clone(),
            _types: PhantomData,
        }
    }
}

impl<P, R> std::fmt::Debug for TypedFunc<P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TypedFunc({:?})", self.func)
    }
}

impl<P: WasmTyList, R: WasmTyList> TypedFunc<P, R> {
    /// Checks that `func` has exactly the signature `P -> R`.
    pub(crate) fn new(func: Func) -> Result<Self, Error> {
        let ty = func.ty().ok_or_else(|| Error::ExportKind {
            name: "<function reference>".into(),
            expected: "callable function",
        })?;
        let wanted = FuncType::new(P::types(), R::types());
        if ty.params != wanted.params || ty.results != wanted.results {
            return Err(Error::Link(format!(
                "the function has type {ty}, not the requested {wanted}"
            )));
        }
        Ok(TypedFunc {
            func,
            _types: PhantomData,
        })
    }

    /// Calls the function. A trap (or an exit requested by a host function, see
    /// [`Trap::exit_code`]) is the error.
    ///
    /// # Errors
    /// The trap that ended the call.
    #[inline]
    pub fn call(&self, params: P) -> Result<R, Trap> {
        let mut values = [RawVal::default(); MAX_VALUES];
        params.store(&mut values);
        self.func.invoke_typed(&mut values)?;
        Ok(R::load(&values))
    }

    /// The function behind this handle.
    pub fn func(&self) -> &Func {
        &self.func
    }
}

impl Func {
    /// This function as a [`TypedFunc`] with parameters `P` and results `R`.
    ///
    /// # Errors
    /// [`Error::Link`] when the function's signature is not exactly `P -> R`.
    pub fn typed<P: WasmTyList, R: WasmTyList>(&self) -> Result<TypedFunc<P, R>, Error> {
        TypedFunc::new(self.clone())
    }
}

/// What a closure given to [`HostFunc::wrap`] returns: `()`, one number, a tuple of numbers, or a
/// `Result` of one of these with a [`HostError`].
pub trait HostResults: 'static {
    /// The values.
    type Values: WasmTyList;
    /// The values, or the host error that traps the caller.
    fn into_values(self) -> Result<Self::Values, HostError>;
}

impl<T: WasmTyList> HostResults for T {
    type Values = T;
    #[inline]
    fn into_values(self) -> Result<T, HostError> {
        Ok(self)
    }
}

impl<T: WasmTyList> HostResults for Result<T, HostError> {
    type Values = T;
    #[inline]
    fn into_values(self) -> Result<T, HostError> {
        self
    }
}

/// Closures [`HostFunc::wrap`] accepts: `Fn(A, B, ...) -> R` or `Fn(&mut HostContext, A, B, ...) -> R`
/// with up to eight [`WasmTy`] parameters and [`HostResults`] results. `Marker` only tells the two
/// forms apart.
pub trait IntoHostFunc<Marker>: Send + Sync + 'static {
    /// The host function.
    fn into_host_func(self) -> HostFunc;
}

/// Marks closures taking the caller's context first.
pub struct WithContext;
/// Marks closures without the caller's context.
pub struct WithoutContext;

macro_rules! into_host_func {
    ($($t:ident $i:tt),*) => {
        impl<Func, R, $($t: WasmTy),*> IntoHostFunc<(WithoutContext, $($t,)* R)> for Func
        where
            Func: Fn($($t),*) -> R + Send + Sync + 'static,
            R: HostResults,
        {
            fn into_host_func(self) -> HostFunc {
                HostFunc::new(
                    vec![$($t::TYPE),*],
                    R::Values::types(),
                    #[allow(unused_variables)]
                    move |_cx, params, results| {
                        let values = self($($t::from_raw(params[$i])),*).into_values()?;
                        values.store(results);
                        Ok(())
                    },
                )
            }
        }

        impl<Func, R, $($t: WasmTy),*> IntoHostFunc<(WithContext, $($t,)* R)> for Func
        where
            Func: for<'a, 'b, 'c> Fn(&'a mut HostContext<'b, 'c>, $($t),*) -> R + Send + Sync + 'static,
            R: HostResults,
        {
            fn into_host_func(self) -> HostFunc {
                HostFunc::new(
                    vec![$($t::TYPE),*],
                    R::Values::types(),
                    #[allow(unused_variables)]
                    move |cx, params, results| {
                        let values = self(cx, $($t::from_raw(params[$i])),*).into_values()?;
                        values.store(results);
                        Ok(())
                    },
                )
            }
        }
    };
}

into_host_func!();
into_host_func!(A 0);
into_host_func!(A 0, B 1);
into_host_func!(A 0, B 1, C 2);
into_host_func!(A 0, B 1, C 2, D 3);
into_host_func!(A 0, B 1, C 2, D 3, E 4);
into_host_func!(A 0, B 1, C 2, D 3, E 4, F 5);
into_host_func!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
into_host_func!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

impl HostFunc {
    /// A host function whose signature is the closure's: parameters of [`WasmTy`] number types,
    /// optionally preceded by `&mut HostContext`, and a result of `()`, a number, a tuple of numbers,
    /// or a `Result` of those with [`HostError`] (an error traps the caller):
    ///
    /// ```
    /// # use wasmz::{HostContext, HostError, HostFunc};
    /// let add = HostFunc::wrap(|a: i32, b: i32| a.wrapping_add(b));
    /// let checked = HostFunc::wrap(|_cx: &mut HostContext, a: i64| -> Result<(i64, f64), HostError> {
    ///     if a < 0 { return Err(HostError::new("negative")) }
    ///     Ok((a * 2, a as f64))
    /// });
    /// ```
    pub fn wrap<M>(f: impl IntoHostFunc<M>) -> HostFunc {
        f.into_host_func()
    }
}
