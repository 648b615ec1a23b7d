//! Catching panics of embedder code (host functions, limiters, epoch callbacks, the lazy compiler) where
//! unwinding must stop: in builtins called by compiled code, which cannot unwind.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f`; a panic becomes `Err` with its message (empty when the payload is neither a `&str` nor a
/// `String`).
///
/// A payload of another type is leaked, not dropped: its `Drop` is the embedder's code and may panic
/// again, and a panic while dropping a payload here would abort the process. The payloads of `panic!`
/// (a `String`, or a `&'static str`) are dropped: their `Drop` cannot panic, and a host function that
/// panics on every call must not leak memory on every call.
pub fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(message) => message.to_string(),
            Err(payload) => {
                std::mem::forget(payload);
                String::new()
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_kept_and_payloads_of_other_types_never_dropped() {
        assert_eq!(catch_panic(|| 7), Ok(7));
        assert_eq!(
            catch_panic(|| -> () { panic!("boom {}", 1) }),
            Err("boom 1".into())
        );
        // A payload whose `Drop` panics: dropping it here would panic again.
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("dropped");
            }
        }
        let caught = catch_panic(|| std::panic::panic_any(Bomb));
        assert_eq!(caught, Err(String::new()));
    }
}
