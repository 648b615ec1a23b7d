//! The legacy exception-handling instructions (`Config::legacy_exceptions`): `try` with `catch` and
//! `catch_all` clauses or `delegate`, and `rethrow`.
//!
//! They reuse the scheme of `exceptions.rs`: a `try` body has a dispatch block taking the exception's
//! address, pushed on the handler stack so that calls and throws in the body reach it. Unlike a
//! `try_table`, the clauses come after the body, so the dispatch block is filled at the `end` (or
//! `delegate`), once every clause's block exists:
//! - `catch $t` / `catch_all` end the body (its handler is popped: a clause is not covered by its own
//!   `try`) and start a clause block taking the exception; `catch $t` pushes the tag's values;
//! - `rethrow n` throws the exception caught by the clause at label `n` again;
//! - `delegate n` ends the body; its dispatch block hands every exception to the handler in effect at
//!   label `n` (counted from the frame around the `try`): the innermost handler-owning frame at or
//!   outside that label, or the calling frames;
//! - the exception a clause caught is freed (`ExnFree`, which leaves exposed exceptions alone) when the
//!   clause completes normally; a clause left by a branch keeps it until the store is dropped.
//!
//! Ownership: an exception that is not exposed has one holder at a time, either the throw under way
//! or the one clause that caught it, and only that holder frees it. A `rethrow` whose nearest handler
//! lies outside the clause owning the exception hands it on: the clause (with every clause nested in
//! it) is left for good, so it never uses the exception again. A `rethrow` whose nearest handler lies
//! inside that clause may be caught while the clause is still running and can use the exception again
//! (read it, rethrow it) afterwards, so it marks the exception exposed first, as `catch_ref` does: no
//! handler frees it from then on, and it lives (charged to the store's budget) until the store is
//! dropped.

use super::FuncTranslator;
use super::control::{ControlFrame, FrameKind};
use crate::env::{POINTER, trusted};
use cranelift_codegen::ir::{Block, BlockArg, InstBuilder, Value, types};
use wasmparser::{BlockType, Operator};
use wasmz_environ::Builtin;
use wasmz_environ::vmoffsets::exception;

/// The state of a legacy `try` frame.
#[derive(Debug)]
pub(crate) struct LegacyTry {
    /// Takes the address of an exception thrown in the body.
    dispatch: Block,
    /// Each clause's tag (`None` for `catch_all`) and block, in order.
    clauses: Vec<(Option<u32>, Block)>,
    /// The exception of the clause being translated (`None` while in the body).
    caught: Option<Value>,
}

impl FuncTranslator<'_, '_> {
    /// Translates a legacy exception-handling operator, in reachable or unreachable code; also the
    /// `end` of a legacy `try`. Returns whether `op` was one.
    pub(super) fn translate_legacy_exceptions(&mut self, op: &Operator<'_>) -> bool {
        let top_is_live_try = self
            .control
            .last()
            .is_some_and(|f| !f.dead && matches!(f.kind, FrameKind::LegacyTry(_)));
        match *op {
            Operator::Try { blockty } if self.reachable => self.legacy_try(blockty),
            Operator::Try { .. } => self.control.push(ControlFrame::dead()),
            Operator::Catch { tag_index } if top_is_live_try => self.legacy_catch(Some(tag_index)),
            Operator::CatchAll if top_is_live_try => self.legacy_catch(None),
            Operator::Catch { .. } | Operator::CatchAll => {}
            Operator::Rethrow { relative_depth } if self.reachable => self.rethrow(relative_depth),
            Operator::Rethrow { .. } => {}
            Operator::Delegate { relative_depth } if top_is_live_try => {
                self.legacy_delegate(relative_depth)
            }
            Operator::Delegate { .. } => {
                self.control.pop();
            }
            Operator::End if top_is_live_try => self.legacy_end(),
            _ => return false,
        }
        true
    }

    fn legacy_try(&mut self, blockty: BlockType) {
        let (params, results) = self.block_type(blockty);
        let end = self.block_with_params(&results);
        let dispatch = self.builder.create_block();
        self.builder.append_block_param(dispatch, POINTER);
        self.builder.set_cold_block(dispatch);
        self.control.push(ControlFrame::new(
            FrameKind::LegacyTry(LegacyTry {
                dispatch,
                clauses: Vec::new(),
                caught: None,
            }),
            end,
            end,
            (params.len(), results.len()),
            self.stack.len() - params.len(),
        ));
        self.handlers.push(dispatch);
    }

    fn try_state(&mut self) -> &mut LegacyTry {
        match &mut self.control.last_mut().expect("validated nesting").kind {
            FrameKind::LegacyTry(state) => state,
            _ => unreachable!("only called with a legacy try frame on top"),
        }
    }

    /// Ends the body or clause being translated: when reachable, frees the clause's exception (unless
    /// exposed) and jumps to the `try`'s end with the results. Pops the body's handler.
    fn finish_segment(&mut self) {
        if self.reachable {
            let frame = self.control.last().expect("validated nesting");
            let (end, n) = (frame.end, frame.num_results);
            if let Some(exn) = self.try_state().caught {
                self.env
                    .call_builtin(&mut self.builder, self.vmctx, Builtin::ExnFree, &[exn]);
            }
            let results = self.popn(n);
            let args: Vec<BlockArg> = results.iter().map(|v| BlockArg::Value(*v)).collect();
            self.builder.ins().jump(end, &args);
            self.control
                .last_mut()
                .expect("validated nesting")
                .end_reached = true;
        }
        if self.try_state().caught.is_none() {
            self.handlers.pop();
        }
    }

    fn legacy_catch(&mut self, tag: Option<u32>) {
        self.finish_segment();
        let clause = self.builder.create_block();
        let exn = self.builder.append_block_param(clause, POINTER);
        let state = self.try_state();
        state.clauses.push((tag, clause));
        state.caught = Some(exn);
        let height = self.control.last().expect("validated nesting").height;
        self.stack.truncate(height);
        self.builder.switch_to_block(clause);
        if let Some(t) = tag {
            let values = self.exception_values(exn, t);
            self.stack.extend(values);
        }
        self.reachable = true;
    }

    fn rethrow(&mut self, depth: u32) {
        let index = self.control.len() - 1 - depth as usize;
        let exn = match &self.control[index].kind {
            FrameKind::LegacyTry(state) => state
                .caught
                .expect("validated: rethrow names a catch clause"),
            _ => unreachable!("validated: rethrow names a catch clause"),
        };
        // The frames nested in the clause's `try` own the handlers pushed since the clause began
        // (the `try`'s own was popped at its first clause). If one does, the exception may come back
        // to this clause, which must then still be able to use it: it becomes exposed, never freed.
        // Otherwise the throw leaves the clause and takes its exception along.
        if self.control[index + 1..].iter().any(owns_handler) {
            let one = self.builder.ins().iconst(types::I32, 1);
            self.builder
                .ins()
                .store(trusted(), one, exn, exception::EXPOSED as i32);
        }
        self.throw_exception(exn);
    }

    fn legacy_delegate(&mut self, depth: u32) {
        self.finish_segment();
        // The label counts from the frame around the `try`; handlers.len() equals the number of
        // handler-owning frames on the control stack, so the owners up to the target are a prefix.
        let target = self.control.len() - 2 - depth as usize;
        let owners = self.control[..=target]
            .iter()
            .filter(|f| owns_handler(f))
            .count();
        let handler = owners.checked_sub(1).map(|i| self.handlers[i]);
        let dispatch = self.try_state().dispatch;
        self.builder.switch_to_block(dispatch);
        let exn = self.builder.block_params(dispatch)[0];
        self.throw_exception_to(exn, handler);
        self.end_frame();
    }

    fn legacy_end(&mut self) {
        self.finish_segment();
        let state = self.try_state();
        let (dispatch, clauses) = (state.dispatch, std::mem::take(&mut state.clauses));
        self.builder.switch_to_block(dispatch);
        let exn = self.builder.block_params(dispatch)[0];
        self.match_clauses(exn, &clauses);
        // The dispatch code just filled is each clause's one predecessor.
        for (_, clause) in clauses {
            self.builder.seal_block(clause);
        }
        self.end_frame();
    }

    /// Fills the current (dispatch) block: branches to the first clause whose tag is the exception's,
    /// else passes the exception on to the enclosing handler.
    fn match_clauses(&mut self, exn: Value, clauses: &[(Option<u32>, Block)]) {
        let tag = self
            .builder
            .ins()
            .load(POINTER, trusted(), exn, exception::TAG as i32);
        for &(tag_index, clause) in clauses {
            let Some(t) = tag_index else {
                self.builder.ins().jump(clause, &[BlockArg::Value(exn)]);
                return;
            };
            let matched = self.tag_is(tag, t);
            let next = self.builder.create_block();
            self.builder.set_cold_block(next);
            self.builder
                .ins()
                .brif(matched, clause, &[BlockArg::Value(exn)], next, &[]);
            self.builder.seal_block(next);
            self.builder.switch_to_block(next);
        }
        self.throw_exception(exn);
    }
}

/// Whether `frame` has a dispatch block on the handler stack now.
fn owns_handler(frame: &ControlFrame) -> bool {
    !frame.dead
        && match &frame.kind {
            FrameKind::TryTable => true,
            FrameKind::LegacyTry(state) => state.caught.is_none(),
            _ => false,
        }
}
