//! Parsing a `.wast` script and executing its directives against the wasmz API.
//!
//! Each `assert_*` directive is one assertion: it passes or fails with a reason. The other directives
//! (modules, `register`, `invoke`, ...) are not assertions, but one that fails fails the file, and when a
//! module fails to compile or instantiate, later assertions that use it fail as well. The assertions
//! about custom sections and annotations (`assert_invalid_custom`, `assert_malformed_custom`) are
//! skipped: engines may only warn about a broken custom section, so there is nothing to check.

use std::collections::HashMap;

use wasmz::{Config, Engine, Instance, Linker, Module, Store, Trap, TrapCode, Val};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::{Id, Span};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, Wat};

use crate::spectest;
use crate::values::{
    arg_to_val, describe_ret, describe_trap, describe_val, match_results, trap_matches,
};

/// What a directive counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An `assert_*` directive that is checked.
    Assertion,
    /// An assertion that is not checked (custom-section assertions); its outcome is always `Ok`.
    Skipped,
    /// Any other directive (module, `register`, `invoke`, ...): not counted, but a failure fails the file.
    Directive,
}

impl Kind {
    /// What `directive` counts as.
    pub fn of(directive: &WastDirective<'_>) -> Kind {
        match directive {
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => Kind::Skipped,
            WastDirective::AssertReturn { .. }
            | WastDirective::AssertTrap { .. }
            | WastDirective::AssertExhaustion { .. }
            | WastDirective::AssertInvalid { .. }
            | WastDirective::AssertMalformed { .. }
            | WastDirective::AssertUnlinkable { .. }
            | WastDirective::AssertException { .. }
            | WastDirective::AssertSuspension { .. } => Kind::Assertion,
            WastDirective::Module(_)
            | WastDirective::ModuleDefinition(_)
            | WastDirective::ModuleInstance { .. }
            | WastDirective::Register { .. }
            | WastDirective::Invoke(_)
            | WastDirective::Thread(_)
            | WastDirective::Wait { .. } => Kind::Directive,
        }
    }
}

/// Something that happened while running a script, reported to the caller's observer as it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The script was parsed; it has `total` assertions that are checked (skipped ones not included).
    Parsed {
        /// The number of checked assertions.
        total: usize,
    },
    /// The directive at `line` (1-based) is about to run.
    Start {
        /// The directive's line.
        line: usize,
    },
    /// The directive at `line` ran: `Ok` if it passed, else why it failed.
    Outcome {
        /// The directive's line.
        line: usize,
        /// What the directive counts as.
        kind: Kind,
        /// The outcome.
        result: Result<(), String>,
    },
}

/// Parses `source` (the text of a script) and runs every directive with an engine made from `config`, reporting
/// [`Event`]s to `observer`. Returns `Err` when the script cannot be parsed or the engine cannot be created (no
/// directive ran then).
///
/// A runtime panic is not caught here; see [`crate::driver::run_file`].
pub fn run_script(
    source: &str,
    config: &Config,
    observer: &mut dyn FnMut(Event),
) -> Result<(), String> {
    let source = &*crate::legacy_syntax::unfold_legacy_try(source);
    let lines = LineIndex::new(source);
    let mut lexer = Lexer::new(source);
    // names.wast uses confusing Unicode characters in names on purpose.
    lexer.allow_confusing_unicode(true);
    let parse_error = |e: wast::Error| {
        let line = lines.line_of(e.span());
        format!("parse error at line {line}: {}", e.message())
    };
    let buf = ParseBuffer::new_with_lexer(lexer).map_err(parse_error)?;
    let wast: Wast<'_> = parser::parse(&buf).map_err(parse_error)?;
    observer(Event::Parsed {
        total: wast
            .directives
            .iter()
            .filter(|d| Kind::of(d) == Kind::Assertion)
            .count(),
    });

    let mut runner = Runner::new(config)?;
    for directive in wast.directives {
        let line = lines.line_of(directive.span());
        let kind = Kind::of(&directive);
        observer(Event::Start { line });
        let result = match kind {
            Kind::Skipped => Ok(()),
            Kind::Assertion | Kind::Directive => runner.run(directive),
        };
        observer(Event::Outcome { line, kind, result });
    }
    Ok(())
}

/// The engine settings scripts run with: wasmz's default [`Config`], which has every proposal the
/// suite's groups exercise turned on (even the `core` scripts assume some of them).
/// `WASMZ_SPEC_LAZY=1` turns on lazy compilation.
pub fn spec_config() -> Config {
    let mut config = Config::default();
    if std::env::var("WASMZ_SPEC_LAZY").is_ok_and(|v| !v.is_empty() && v != "0") {
        config.lazy_compilation(true);
    }
    config
}

/// The engine settings for the script at `path` (relative to the suite's root): [`spec_config`], except
/// that the threads proposal's scripts, written against WebAssembly 1.0 plus threads, run without the
/// later features their assertions contradict (a second memory or table is invalid there).
pub fn spec_config_for(path: &str) -> Config {
    let mut config = spec_config();
    if path.replace('\\', "/").contains("proposals/threads/") {
        config
            .wasm_multi_memory(false)
            .wasm_gc(false)
            .wasm_function_references(false)
            .wasm_reference_types(false);
    }
    config
}

/// Maps byte offsets to 1-based line numbers.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    fn line_of(&self, span: Span) -> usize {
        match self.starts.binary_search(&span.offset()) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

/// What executing an `invoke`, `get` or module instantiation produced.
enum ExecOutcome {
    /// It returned these values.
    Values(Vec<Val>),
    /// It trapped.
    Trap(Trap),
}

/// A module slot: the index of a live instance, or why the module is not available.
type Slot = Result<usize, String>;

/// The state of one script run: one engine, store and linker; the instances and module definitions by name.
struct Runner {
    engine: Engine,
    store: Store,
    linker: Linker,
    /// Why (part of) the spectest module could not be set up, appended to instantiation failures.
    spectest_error: Option<String>,
    instances: Vec<Instance>,
    by_name: HashMap<String, Slot>,
    current: Option<Slot>,
    definitions: HashMap<String, Result<Module, String>>,
    last_definition: Option<Result<Module, String>>,
}

impl Runner {
    fn new(config: &Config) -> Result<Runner, String> {
        let engine = Engine::new(config).map_err(|e| format!("cannot create engine: {e}"))?;
        let mut store = Store::new(&engine);
        let mut linker = Linker::new();
        let spectest_error = spectest::define(&mut store, &mut linker).err();
        Ok(Runner {
            engine,
            store,
            linker,
            spectest_error,
            instances: Vec::new(),
            by_name: HashMap::new(),
            current: None,
            definitions: HashMap::new(),
            last_definition: None,
        })
    }

    /// Runs one directive: `Ok` if it passed, else why it failed.
    fn run(&mut self, directive: WastDirective<'_>) -> Result<(), String> {
        match directive {
            WastDirective::Module(mut module) => {
                let name = module.name().map(|id| id.name().to_string());
                let slot = self
                    .compile_quote(&mut module)
                    .and_then(|m| self.instantiate(&m));
                self.set_current(name, slot.clone());
                slot.map(drop)
            }
            WastDirective::ModuleDefinition(mut module) => {
                let compiled = self.compile_quote(&mut module);
                let result = compiled.as_ref().map(drop).map_err(Clone::clone);
                match module.name() {
                    Some(id) => {
                        self.definitions.insert(id.name().to_string(), compiled);
                    }
                    None => self.last_definition = Some(compiled),
                }
                result
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let definition = match module {
                    Some(id) => self.definitions.get(id.name()).cloned(),
                    None => self.last_definition.clone(),
                };
                let slot = match definition {
                    Some(Ok(m)) => self.instantiate(&m),
                    Some(Err(e)) => Err(format!("module definition not available ({e})")),
                    None => Err("unknown module definition".to_string()),
                };
                self.set_current(instance.map(|id| id.name().to_string()), slot.clone());
                slot.map(drop)
            }
            WastDirective::Register { name, module, .. } => {
                let idx = self.lookup(module)?;
                self.linker
                    .define_instance(name, &self.instances[idx])
                    .map(drop)
                    .map_err(|e| format!("register failed: {e}"))
            }
            WastDirective::Invoke(invoke) => match self.invoke(&invoke)? {
                ExecOutcome::Values(_) => Ok(()),
                ExecOutcome::Trap(trap) => {
                    Err(format!("invoke: unexpected {}", describe_trap(&trap)))
                }
            },
            WastDirective::AssertReturn { exec, results, .. } => match self.execute(exec)? {
                ExecOutcome::Values(values) => match_results(&results, &values),
                ExecOutcome::Trap(trap) => Err(format!(
                    "expected [{}], got {}",
                    results
                        .iter()
                        .map(describe_ret)
                        .collect::<Vec<_>>()
                        .join(", "),
                    describe_trap(&trap)
                )),
            },
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec)? {
                ExecOutcome::Trap(trap) if trap_matches(message, &trap) => Ok(()),
                ExecOutcome::Trap(trap) => Err(format!(
                    "expected trap ({message}), got {}",
                    describe_trap(&trap)
                )),
                ExecOutcome::Values(values) => Err(format!(
                    "expected trap ({message}), got return [{}]",
                    values
                        .iter()
                        .map(describe_val)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call)? {
                ExecOutcome::Trap(trap)
                    if trap.code() == TrapCode::StackOverflow || trap_matches(message, &trap) =>
                {
                    Ok(())
                }
                ExecOutcome::Trap(trap) => Err(format!(
                    "expected exhaustion ({message}), got {}",
                    describe_trap(&trap)
                )),
                ExecOutcome::Values(_) => {
                    Err(format!("expected exhaustion ({message}), got return"))
                }
            },
            WastDirective::AssertInvalid {
                module, message, ..
            } => self.assert_rejected(module, "invalid", message),
            WastDirective::AssertMalformed {
                module, message, ..
            } => self.assert_rejected(module, "malformed", message),
            // Skipped by `run_script`; never checked.
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => Ok(()),
            WastDirective::AssertUnlinkable {
                module, message, ..
            } => self.assert_unlinkable(module, message),
            // An exception that leaves wasm surfaces as an `UnhandledException` trap.
            WastDirective::AssertException { exec, .. } => match self.execute(exec)? {
                ExecOutcome::Trap(trap) if trap.code() == TrapCode::UnhandledException => Ok(()),
                ExecOutcome::Trap(trap) => Err(format!(
                    "expected an exception, got {}",
                    describe_trap(&trap)
                )),
                ExecOutcome::Values(_) => Err("expected an exception, got return".to_string()),
            },
            WastDirective::AssertSuspension { .. } => {
                Err("assert_suspension not supported".to_string())
            }
            WastDirective::Thread(_) => Err("thread directive not supported".to_string()),
            WastDirective::Wait { .. } => Err("wait directive not supported".to_string()),
        }
    }

    /// Records the result of a module directive as the current module (and under `name`).
    fn set_current(&mut self, name: Option<String>, slot: Slot) {
        if let Some(name) = name {
            self.by_name.insert(name, slot.clone());
        }
        self.current = Some(slot);
    }

    /// The instance a directive refers to: the named one, or the most recent module.
    fn lookup(&self, id: Option<Id<'_>>) -> Slot {
        let slot = match id {
            Some(id) => self
                .by_name
                .get(id.name())
                .ok_or_else(|| format!("unknown module ${}", id.name()))?,
            None => self.current.as_ref().ok_or("no module defined")?,
        };
        slot.clone()
            .map_err(|e| format!("module not available ({e})"))
    }

    /// Encodes a (possibly quoted) module and compiles it.
    fn compile_quote(&self, module: &mut QuoteWat<'_>) -> Result<Module, String> {
        let bytes = encode_quote(module)?;
        self.compile(&bytes)
    }

    fn compile(&self, bytes: &[u8]) -> Result<Module, String> {
        Module::compile(&self.engine, bytes).map_err(|e| format!("compile error: {e}"))
    }

    /// Instantiates a module, keeping the instance.
    fn instantiate(&mut self, module: &Module) -> Slot {
        match Instance::new(&mut self.store, module, &self.linker) {
            Ok(instance) => {
                self.instances.push(instance);
                Ok(self.instances.len() - 1)
            }
            Err(wasmz::Error::Trap(trap)) => Err(format!(
                "instantiation: unexpected {}",
                describe_trap(&trap)
            )),
            Err(e) => Err(self.instantiation_error(&e)),
        }
    }

    fn instantiation_error(&self, e: &wasmz::Error) -> String {
        let msg = e.to_string();
        match &self.spectest_error {
            Some(s) if msg.contains(spectest::MODULE) => {
                format!("instantiation failed: {msg} (spectest setup failed: {s})")
            }
            _ => format!("instantiation failed: {msg}"),
        }
    }

    /// Runs an `invoke`, a `get` or an anonymous module (whose instantiation may trap).
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<ExecOutcome, String> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Get { module, global, .. } => {
                let idx = self.lookup(module)?;
                match self.instances[idx].global(global) {
                    Some(g) => Ok(ExecOutcome::Values(vec![g.get()])),
                    None => Err(format!("get: no global export \"{global}\"")),
                }
            }
            WastExecute::Wat(mut wat) => {
                let bytes = encode_wat(&mut wat)?;
                let module = self.compile(&bytes)?;
                match Instance::new(&mut self.store, &module, &self.linker) {
                    Ok(instance) => {
                        self.instances.push(instance);
                        Ok(ExecOutcome::Values(Vec::new()))
                    }
                    Err(wasmz::Error::Trap(trap)) => Ok(ExecOutcome::Trap(trap)),
                    Err(e) => Err(self.instantiation_error(&e)),
                }
            }
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<ExecOutcome, String> {
        let args = invoke
            .args
            .iter()
            .map(arg_to_val)
            .collect::<Result<Vec<_>, _>>()?;
        let idx = self.lookup(invoke.module)?;
        match self.instances[idx].call_vals(invoke.name, &args) {
            Ok(outcome) => Ok(match outcome.into_result() {
                Ok(values) => ExecOutcome::Values(values),
                Err(trap) => ExecOutcome::Trap(trap),
            }),
            Err(e) => Err(format!("call failed: {e}")),
        }
    }

    /// `assert_invalid` / `assert_malformed`: any compile error passes. Text the `wast` crate cannot turn
    /// into a binary passes only for `assert_malformed` of a quoted module (`(module quote ...)`), whose
    /// text is what is malformed; any other module that cannot be encoded is a failure, since wasmz never
    /// saw it.
    fn assert_rejected(
        &self,
        mut module: QuoteWat<'_>,
        kind: &str,
        message: &str,
    ) -> Result<(), String> {
        if is_component(&module) {
            return Err("component model not supported".to_string());
        }
        let quoted = matches!(module, QuoteWat::QuoteModule(..));
        let bytes = match module.encode() {
            Ok(bytes) => bytes,
            Err(_) if quoted && kind == "malformed" => return Ok(()),
            Err(e) => {
                return Err(format!(
                    "cannot encode module text: {} (expected {kind} module: {message})",
                    e.message()
                ));
            }
        };
        match Module::compile(&self.engine, &bytes) {
            Err(_) => Ok(()),
            Ok(_) => Err(format!(
                "module compiled, expected {kind} module ({message})"
            )),
        }
    }

    /// `assert_unlinkable`: the module compiles but instantiation fails with an error that is not a trap.
    fn assert_unlinkable(&mut self, mut module: Wat<'_>, message: &str) -> Result<(), String> {
        let bytes = encode_wat(&mut module)?;
        let module = self.compile(&bytes)?;
        match Instance::new(&mut self.store, &module, &self.linker) {
            Ok(instance) => {
                self.instances.push(instance);
                Err(format!("module linked, expected unlinkable ({message})"))
            }
            Err(wasmz::Error::Trap(trap)) => Err(format!(
                "expected link error ({message}), got instantiation {}",
                describe_trap(&trap)
            )),
            Err(_) => Ok(()),
        }
    }
}

fn is_component(module: &QuoteWat<'_>) -> bool {
    matches!(
        module,
        QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_))
    )
}

/// The binary of a (possibly quoted) module.
fn encode_quote(module: &mut QuoteWat<'_>) -> Result<Vec<u8>, String> {
    if is_component(module) {
        return Err("component model not supported".to_string());
    }
    module
        .encode()
        .map_err(|e| format!("cannot encode module text: {}", e.message()))
}

/// The binary of a module.
fn encode_wat(module: &mut Wat<'_>) -> Result<Vec<u8>, String> {
    if matches!(module, Wat::Component(_)) {
        return Err("component model not supported".to_string());
    }
    module
        .encode()
        .map_err(|e| format!("cannot encode module text: {}", e.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index() {
        let idx = LineIndex::new("a\nbc\n\nd");
        assert_eq!(idx.line_of(Span::from_offset(0)), 1);
        assert_eq!(idx.line_of(Span::from_offset(1)), 1);
        assert_eq!(idx.line_of(Span::from_offset(2)), 2);
        assert_eq!(idx.line_of(Span::from_offset(5)), 3);
        assert_eq!(idx.line_of(Span::from_offset(6)), 4);
    }

    #[test]
    fn parse_errors_are_reported() {
        let mut events = Vec::new();
        let r = run_script("(module", &Config::default(), &mut |e| events.push(e));
        assert!(r.unwrap_err().starts_with("parse error"));
        assert!(events.is_empty());
    }
}
