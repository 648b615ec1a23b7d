//! Structured control flow: `block`, `loop`, `if`/`else`, `end`, branches, `return`, `unreachable`.
//!
//! Invariants of the control stack:
//! - every frame records the operand-stack height below its parameters, so `end` and branches can find
//!   their values;
//! - `br_target` is where a branch to the frame goes (a loop's header, otherwise the block after `end`), and
//!   takes as many arguments as the branch carries (a loop's parameters, otherwise its results);
//! - frames pushed while the code is unreachable are marked `dead`: they only count nesting.

use super::legacy_exceptions::LegacyTry;
use super::{FuncTranslator, block_args};
use crate::env::clif_type;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Block, InstBuilder, JumpTableData, TrapCode, Value};
use wasmparser::{BlockType, Operator};
use wasmz_environ::{TrapCode as WasmTrap, ValType, WasmResult};

#[derive(Debug)]
pub(crate) enum FrameKind {
    Function,
    Block,
    Loop,
    /// A `try_table`: a block whose calls and throws have a handler (see `exceptions.rs`).
    TryTable,
    /// A legacy `try` block (see `legacy_exceptions.rs`).
    LegacyTry(LegacyTry),
    If {
        else_block: Block,
        else_seen: bool,
        /// The parameter values at entry, re-pushed for the `else` arm.
        params: Vec<Value>,
    },
}

#[derive(Debug)]
pub(crate) struct ControlFrame {
    pub kind: FrameKind,
    pub br_target: Block,
    pub end: Block,
    pub num_params: usize,
    pub num_results: usize,
    /// Operand-stack height below the parameters.
    pub height: usize,
    /// Whether some branch (or a fallthrough) reaches `end`.
    pub end_reached: bool,
    /// Pushed in unreachable code; translation is skipped until its `end`.
    pub dead: bool,
}

impl ControlFrame {
    pub fn function(exit: Block, num_results: usize) -> ControlFrame {
        ControlFrame {
            kind: FrameKind::Function,
            br_target: exit,
            end: exit,
            num_params: 0,
            num_results,
            height: 0,
            end_reached: false,
            dead: false,
        }
    }

    /// A live frame whose branches go to `br_target` and whose `end` continues at `end`; `height`
    /// is the operand-stack height below its parameters.
    pub(super) fn new(
        kind: FrameKind,
        br_target: Block,
        end: Block,
        (num_params, num_results): (usize, usize),
        height: usize,
    ) -> ControlFrame {
        ControlFrame {
            kind,
            br_target,
            end,
            num_params,
            num_results,
            height,
            end_reached: false,
            dead: false,
        }
    }

    pub(super) fn dead() -> ControlFrame {
        ControlFrame {
            kind: FrameKind::Block,
            br_target: Block::from_u32(0),
            end: Block::from_u32(0),
            num_params: 0,
            num_results: 0,
            height: 0,
            end_reached: false,
            dead: true,
        }
    }

    /// Number of values a branch to this frame carries.
    pub fn branch_arity(&self) -> usize {
        if matches!(self.kind, FrameKind::Loop) {
            self.num_params
        } else {
            self.num_results
        }
    }
}

impl FuncTranslator<'_, '_> {
    pub(super) fn block_type(&self, ty: BlockType) -> (Vec<ValType>, Vec<ValType>) {
        let conv = |t| {
            ValType::from_wasmparser(t).expect("block types were checked when the module was read")
        };
        match ty {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (vec![], vec![conv(t)]),
            BlockType::FuncType(idx) => {
                let ft = self.env.module.func_type(idx);
                (ft.params.to_vec(), ft.results.to_vec())
            }
        }
    }

    pub(super) fn block_with_params(&mut self, types: &[ValType]) -> Block {
        let block = self.builder.create_block();
        for t in types {
            let v = self.builder.append_block_param(block, clif_type(*t));
            self.track_ref(v, *t);
        }
        block
    }

    /// Handles control operators while the current position is unreachable.
    pub(super) fn translate_unreachable_operator(&mut self, op: &Operator<'_>) -> WasmResult<()> {
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => {
                self.control.push(ControlFrame::dead());
            }
            Operator::Else => {
                let frame = self.control.last_mut().expect("validated nesting");
                if let (
                    false,
                    FrameKind::If {
                        else_block,
                        else_seen,
                        params,
                    },
                ) = (frame.dead, &mut frame.kind)
                {
                    *else_seen = true;
                    let (else_block, params, height) = (*else_block, params.clone(), frame.height);
                    self.stack.truncate(height);
                    self.stack.extend(params);
                    self.builder.switch_to_block(else_block);
                    self.reachable = true;
                }
            }
            Operator::End => self.end_frame(),
            _ => {}
        }
        Ok(())
    }

    pub(super) fn translate_control(&mut self, op: &Operator<'_>) -> WasmResult<bool> {
        match *op {
            Operator::Nop => {}
            Operator::Unreachable => {
                self.builder
                    .ins()
                    .trap(crate::trap_code(WasmTrap::UnreachableCodeReached));
                self.reachable = false;
            }
            Operator::Block { blockty } => {
                let (params, results) = self.block_type(blockty);
                let end = self.block_with_params(&results);
                self.control.push(ControlFrame::new(
                    FrameKind::Block,
                    end,
                    end,
                    (params.len(), results.len()),
                    self.stack.len() - params.len(),
                ));
            }
            Operator::Loop { blockty } => {
                let (params, results) = self.block_type(blockty);
                let header = self.block_with_params(&params);
                let end = self.block_with_params(&results);
                let args = self.popn(params.len());
                self.builder.ins().jump(header, &block_args(&args));
                self.builder.switch_to_block(header);
                self.limit_checks();
                let header_params = self.builder.block_params(header).to_vec();
                self.control.push(ControlFrame::new(
                    FrameKind::Loop,
                    header,
                    end,
                    (params.len(), results.len()),
                    self.stack.len(),
                ));
                self.stack.extend(header_params);
            }
            Operator::If { blockty } => {
                let (params, results) = self.block_type(blockty);
                let cond = self.pop();
                let then_block = self.builder.create_block();
                let else_block = self.builder.create_block();
                let end = self.block_with_params(&results);
                self.builder
                    .ins()
                    .brif(cond, then_block, &[], else_block, &[]);
                self.builder.seal_block(then_block);
                self.builder.seal_block(else_block);
                self.builder.switch_to_block(then_block);
                self.control.push(ControlFrame::new(
                    FrameKind::If {
                        else_block,
                        else_seen: false,
                        params: self.peekn(params.len()).to_vec(),
                    },
                    end,
                    end,
                    (params.len(), results.len()),
                    self.stack.len() - params.len(),
                ));
            }
            Operator::Else => {
                let frame = self.control.last_mut().expect("validated nesting");
                let results = self.stack.split_off(self.stack.len() - frame.num_results);
                self.builder.ins().jump(frame.end, &block_args(&results));
                frame.end_reached = true;
                if let FrameKind::If {
                    else_block,
                    else_seen,
                    params,
                } = &mut frame.kind
                {
                    *else_seen = true;
                    let (else_block, params, height) = (*else_block, params.clone(), frame.height);
                    self.stack.truncate(height);
                    self.stack.extend(params);
                    self.builder.switch_to_block(else_block);
                }
            }
            Operator::End => {
                let frame = self.control.last_mut().expect("validated nesting");
                let results = self.stack.split_off(self.stack.len() - frame.num_results);
                self.builder.ins().jump(frame.end, &block_args(&results));
                frame.end_reached = true;
                self.end_frame();
            }
            Operator::Br { relative_depth } => {
                self.branch(relative_depth);
                self.reachable = false;
            }
            Operator::BrIf { relative_depth } => {
                let cond = self.pop();
                let next = self.builder.create_block();
                let (target, args) = self.branch_target(relative_depth);
                self.builder
                    .ins()
                    .brif(cond, target, &block_args(&args), next, &[]);
                self.builder.seal_block(next);
                self.builder.switch_to_block(next);
            }
            Operator::BrTable { ref targets } => {
                let index = self.pop();
                let default = targets.default();
                let arity = self.frame(default).branch_arity();
                let args = block_args(self.peekn(arity));
                let mut table = Vec::with_capacity(targets.len() as usize);
                for depth in targets.targets() {
                    let depth = depth?;
                    let target = self.mark_branch(depth);
                    table.push(self.builder.func.dfg.block_call(target, &args));
                }
                let default_target = self.mark_branch(default);
                let default_call = self.builder.func.dfg.block_call(default_target, &args);
                let jt = self
                    .builder
                    .create_jump_table(JumpTableData::new(default_call, &table));
                self.builder.ins().br_table(index, jt);
                self.reachable = false;
            }
            Operator::BrOnNull { relative_depth } => {
                // Null: branch with the values under the reference. Otherwise keep the reference.
                let r = self.pop();
                let is_null = self.builder.ins().icmp_imm_s(IntCC::Equal, r, 0);
                let next = self.builder.create_block();
                let (target, args) = self.branch_target(relative_depth);
                self.builder
                    .ins()
                    .brif(is_null, target, &block_args(&args), next, &[]);
                self.builder.seal_block(next);
                self.builder.switch_to_block(next);
                self.push(r);
            }
            Operator::BrOnNonNull { relative_depth } => {
                // Non-null: branch with the reference on top. Otherwise drop it.
                let r = *self.stack.last().expect("validated stack");
                let next = self.builder.create_block();
                let (target, args) = self.branch_target(relative_depth);
                self.builder
                    .ins()
                    .brif(r, target, &block_args(&args), next, &[]);
                self.builder.seal_block(next);
                self.builder.switch_to_block(next);
                self.pop();
            }
            Operator::Return => {
                let n = self.control[0].num_results;
                let results = self.popn(n);
                self.builder.ins().return_(&results);
                self.reachable = false;
            }
            Operator::Drop => {
                self.pop();
            }
            Operator::Select => {
                let (a, b, cond) = self.pop3();
                let v = self.builder.ins().select(cond, a, b);
                self.push(v);
            }
            Operator::TypedSelect { ty } => {
                let (a, b, cond) = self.pop3();
                let v = self.builder.ins().select(cond, a, b);
                if let Some(ty) = ValType::from_wasmparser(ty) {
                    self.track_ref(v, ty);
                }
                self.push(v);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    pub(super) fn frame(&self, depth: u32) -> &ControlFrame {
        &self.control[self.control.len() - 1 - depth as usize]
    }

    /// Marks the frame at `depth` as branched to and returns its branch target.
    pub(super) fn mark_branch(&mut self, depth: u32) -> Block {
        let index = self.control.len() - 1 - depth as usize;
        let frame = &mut self.control[index];
        if !matches!(frame.kind, FrameKind::Loop) {
            frame.end_reached = true;
        }
        frame.br_target
    }

    pub(super) fn branch_target(&mut self, depth: u32) -> (Block, Vec<Value>) {
        let arity = self.frame(depth).branch_arity();
        let args = self.peekn(arity).to_vec();
        (self.mark_branch(depth), args)
    }

    fn branch(&mut self, depth: u32) {
        let (target, args) = self.branch_target(depth);
        self.builder.ins().jump(target, &block_args(&args));
    }

    /// Pops the innermost frame at its `end` (the jump to the end block, if reachable, is already emitted).
    pub(super) fn end_frame(&mut self) {
        let frame = self.control.pop().expect("validated nesting");
        if frame.dead {
            return;
        }
        if matches!(frame.kind, FrameKind::TryTable) {
            self.handlers.pop();
        }
        let mut end_reached = frame.end_reached;
        if let FrameKind::If {
            else_block,
            else_seen: false,
            params,
        } = &frame.kind
        {
            // `if` without `else`: the false arm passes the parameters straight through.
            self.builder.switch_to_block(*else_block);
            self.builder.ins().jump(frame.end, &block_args(params));
            end_reached = true;
        }
        self.stack.truncate(frame.height);
        // Every branch to this frame's labels lies inside it, so their blocks have all their
        // predecessors now. Sealing them here (rather than all at the end of the function) lets the SSA
        // construction resolve each local read in them through its predecessors instead of giving the
        // block a parameter for it: a loop no longer carries the values it only reads, which the
        // optimizer cannot remove when they come from an enclosing loop's parameters.
        if matches!(frame.kind, FrameKind::Loop) {
            self.builder.seal_block(frame.br_target);
        }
        self.builder.seal_block(frame.end);
        if matches!(frame.kind, FrameKind::Function) {
            self.builder.switch_to_block(frame.end);
            let results = self.builder.block_params(frame.end).to_vec();
            self.builder.ins().return_(&results);
            self.reachable = false;
            return;
        }
        self.builder.switch_to_block(frame.end);
        let results = self.builder.block_params(frame.end).to_vec();
        self.stack.extend(results);
        self.reachable = end_reached;
        if !end_reached {
            // Nothing reaches this block; terminate it so the function stays well formed.
            self.builder.ins().trap(TrapCode::unwrap_user(
                WasmTrap::UnreachableCodeReached.to_u8(),
            ));
        }
    }
}
