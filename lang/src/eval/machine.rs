//! The evaluator proper: environments, thunk forcing, calls, selection, imports and
//! the limits that keep evaluation bounded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::codes;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::loader::{Loader, normalize};
use crate::source::SourceMap;
use crate::span::Origin;

use super::Limits;
use super::builtins::Prim;
use super::ir::{self, AttrsIr, Key, LambdaIr, NodeKind, NodeRef, ParamIr, PatternIr, StrPiece};
use super::runtime::{
    AttrSet, AttrSlot, Closure, Deferred, Env, EnvRef, Kind, PrimApp, Slots, Thunk, ThunkState,
    Val, done, pending,
};

/// Evaluation errors carry the diagnostic to report; the first one stops evaluation.
pub(crate) type R<T> = Result<T, Box<Diagnostic>>;

/// Stack the evaluator may use before it reports `RECURSION_TOO_DEEP` where the size
/// of the stack is unknown; evaluation starts with [`super::STACK_SIZE`] of stack.
const STACK_BUDGET: usize = super::STACK_SIZE - 32 * 1024 * 1024;

/// Forcing a thunk and calling a function continue on a new stack segment of
/// [`STACK_SEGMENT`] bytes when less than this is left, so the depth of recursion
/// is bounded by [`super::Limits::max_depth`], not by the thread's stack.
const STACK_RED_ZONE: usize = 4 * 1024 * 1024;
const STACK_SEGMENT: usize = 64 * 1024 * 1024;

/// Paths that recurse without passing through forcing or calling (comparing and
/// converting nested values) report `RECURSION_TOO_DEEP` when less than this is left
/// of the current segment.
const STACK_RESERVE: usize = 1024 * 1024;

/// Runs `f` on the current stack, or on a new segment when it is running out.
pub(crate) fn with_stack<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, f)
}

/// Steps between two checks of the stack (and of the step budget, which is
/// also checked at the step that passes it).
const STEPS_PER_CHECK: u64 = 8;

/// Checks of the stack between two polls of cancellation (every 4,096 steps).
const CHECKS_PER_CANCEL_POLL: u64 = 512;

/// Levels of calls and forcing between two checks of the stack segment: each
/// level takes a few kilobytes of stack at most, far less than the red zone
/// over this many levels, and reading the stack pointer and the segment's limit
/// at every level was a few percent of a call's cost.
const LEVELS_PER_STACK_CHECK: usize = 8;

/// [`with_stack`] at every [`LEVELS_PER_STACK_CHECK`]th level of `depth` (the
/// level just entered), `f` on the current stack at the others.
#[inline]
fn grow_every<T>(depth: usize, f: impl FnOnce() -> T) -> T {
    if depth.is_multiple_of(LEVELS_PER_STACK_CHECK) {
        with_stack(f)
    } else {
        f()
    }
}

/// Messages of context labels, so a diagnostic gets at most one of each kind.
pub(crate) const CONTEXT_CALL: &str = "while calling this function";
pub(crate) const CONTEXT_IMPORT: &str = "while importing this file";

pub(crate) fn error(
    code: &'static str,
    message: impl Into<String>,
    at: Origin,
    label: impl Into<String>,
) -> Box<Diagnostic> {
    Box::new(Diagnostic::error(code, message).with_primary(at.file, at.span, label))
}

/// Adds a secondary label unless the place is already labelled or the diagnostic
/// already has a label with the same message.
pub(crate) fn add_context(diag: &mut Diagnostic, origin: Origin, message: &str) {
    let known = diag
        .labels
        .iter()
        .any(|l| l.origin == origin || l.message == message);
    // Context around the primary label adds nothing the excerpt does not show, and
    // overlapping labels on one line cannot be drawn apart.
    let around_primary = diag.primary().is_some_and(|p| {
        p.origin.file == origin.file
            && origin.span.start <= p.origin.span.start
            && p.origin.span.end <= origin.span.end
    });
    if !known && !around_primary && diag.labels.len() < 5 {
        diag.labels.push(crate::diagnostic::Label {
            origin,
            message: message.to_owned(),
            primary: false,
        });
    }
}

/// Adds "the value comes from here" pointing at where a wrongly typed value was made.
pub(crate) fn with_value_origin(mut diag: Box<Diagnostic>, value: &Val) -> Box<Diagnostic> {
    let primary = diag.labels.first().map(|l| l.origin);
    let inside = primary.is_some_and(|p| {
        p.file == value.origin.file
            && p.span.start <= value.origin.span.start
            && value.origin.span.end <= p.span.end
    });
    if !inside {
        add_context(&mut diag, value.origin, "the value comes from here");
    }
    diag
}

/// The memory the process has in use: its resident set, as Linux reports it in
/// `/proc/self/status`. It counts the whole process (other threads' memory too), so
/// it never understates the evaluation's. `None` elsewhere, where the count of
/// allocated bytes alone decides.
fn memory_in_use() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

fn stack_address() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

struct LoadedFile {
    path: PathBuf,
    root: Thunk,
}

pub(crate) struct Evaluator<'l> {
    pub loader: &'l dyn Loader,
    pub limits: Limits,
    pub sources: SourceMap,
    /// Traces and diagnostics of imported files.
    pub diagnostics: Vec<Diagnostic>,
    files: Vec<LoadedFile>,
    file_index: HashMap<PathBuf, usize>,
    /// Files whose top-level expression is being evaluated, with the import site.
    import_stack: Vec<(usize, Option<Origin>)>,
    depth: usize,
    steps: u64,
    /// The step at which [`Evaluator::tick`] next does its rarer checks.
    next_check: u64,
    /// How many times it did them, to poll cancellation more rarely still.
    checks: u64,
    bytes: u64,
    stack_base: usize,
    /// Frames that may refer to themselves; emptied at the end to free the cycles.
    recursive_envs: Vec<Weak<Env>>,
    builtins: Option<Val>,
    /// The value each global builtin name (`map`, `toString`…) stands for: one per
    /// evaluation, as in Nix, where `[ map ] == [ map ]` compares a value with itself.
    pub(super) global_prims: super::word_map::WordMap<super::builtins::Prim, Rc<PrimApp>>,
    /// Set by the caller when the result is no longer wanted (an editor's newer text).
    pub cancel: Option<&'l AtomicBool>,
}

impl Drop for Evaluator<'_> {
    fn drop(&mut self) {
        if let Some(builtins) = self.builtins.take() {
            super::builtins::unlink_builtins(&builtins);
        }
        for env in self.recursive_envs.drain(..) {
            if let Some(env) = env.upgrade() {
                let slots = std::mem::take(&mut *env.slots.borrow_mut());
                drop(slots);
            }
        }
    }
}

impl<'l> Evaluator<'l> {
    pub fn new(loader: &'l dyn Loader, limits: Limits) -> Evaluator<'l> {
        Evaluator {
            loader,
            limits,
            sources: SourceMap::new(),
            diagnostics: Vec::new(),
            files: Vec::new(),
            file_index: HashMap::new(),
            import_stack: Vec::new(),
            depth: 0,
            steps: 0,
            next_check: 0,
            checks: 0,
            bytes: 0,
            stack_base: stack_address(),
            recursive_envs: Vec::new(),
            builtins: None,
            global_prims: Default::default(),
            cancel: None,
        }
    }

    // ---- limits -------------------------------------------------------------

    /// Counts one evaluation step and checks the native stack. Inlined into every
    /// step: the common path is an increment and one comparison.
    #[inline]
    pub(super) fn tick(&mut self, at: Origin) -> R<()> {
        self.steps += 1;
        if self.steps >= self.next_check {
            return self.tick_rarely(at);
        }
        Ok(())
    }

    /// What [`Evaluator::tick`] checks every [`STEPS_PER_CHECK`] steps, and at
    /// the step budget. Polled rarely: an atomic load per step would cost more
    /// than the step. Every step recurses by at most a few frames, far less than
    /// the reserve over that many steps; reading the stack pointer and the segment's
    /// limit on every step was a tenth of the evaluation's time.
    #[cold]
    #[inline(never)]
    fn tick_rarely(&mut self, at: Origin) -> R<()> {
        self.next_check = self
            .steps
            .saturating_add(STEPS_PER_CHECK)
            .min(self.limits.max_steps.saturating_add(1));
        self.checks += 1;
        if self.checks.is_multiple_of(CHECKS_PER_CANCEL_POLL)
            && self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Err(error(
                codes::BUDGET_EXCEEDED,
                "evaluation was cancelled",
                at,
                "stopped here",
            ));
        }
        if self.steps > self.limits.max_steps {
            return Err(help(
                error(
                    codes::BUDGET_EXCEEDED,
                    format!("evaluation took more than {} steps", self.limits.max_steps),
                    at,
                    "still evaluating here",
                ),
                "look for a function that recurses without end; the limit keeps a runaway file from hanging the build or the editor",
            ));
        }
        self.check_stack(at)
    }

    pub fn check_stack(&self, at: Origin) -> R<()> {
        let exhausted = match stacker::remaining_stack() {
            Some(left) => left < STACK_RESERVE,
            None => self.stack_base.abs_diff(stack_address()) > STACK_BUDGET,
        };
        if exhausted {
            return Err(self.too_deep(at));
        }
        Ok(())
    }

    fn too_deep(&self, at: Origin) -> Box<Diagnostic> {
        Box::new(
            Diagnostic::error(
                codes::RECURSION_TOO_DEEP,
                format!(
                    "evaluation nested deeper than {} levels",
                    self.limits.max_depth
                ),
            )
            .with_primary(at.file, at.span, "too deep here")
            .with_help("look for a function that calls itself without end, or a value that contains itself"),
        )
    }

    /// Enters one level of calls or forcing.
    pub fn enter(&mut self, at: Origin) -> R<()> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            self.depth -= 1;
            return Err(self.too_deep(at));
        }
        self.check_stack(at)
    }

    /// [`Evaluator::enter`] for a caller that goes on in [`with_stack`], which
    /// leaves far more than the reserve: only the depth is checked.
    fn enter_frame(&mut self, at: Origin) -> R<()> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            self.depth -= 1;
            return Err(self.too_deep(at));
        }
        Ok(())
    }

    pub fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Accounts for `bytes` of newly allocated strings, lists or sets.
    ///
    /// The count only grows: it is an upper bound of the memory in use, since
    /// nothing freed is subtracted. When it passes the budget, the memory the
    /// process actually has in use is measured and counting goes on from there, so
    /// a program that allocates much but keeps little (a fold that rebuilds a set or
    /// a string at every step) is not refused, and one that keeps more than the
    /// budget is.
    pub fn charge(&mut self, bytes: usize, at: Origin) -> R<()> {
        self.bytes = self.bytes.saturating_add(bytes as u64);
        if self.bytes > self.limits.max_bytes && !self.remeasure(bytes as u64) {
            return Err(self.out_of_memory(at));
        }
        Ok(())
    }

    /// Whether `size` more bytes fit in the budget, measuring the memory in use
    /// when the count says they do not.
    pub fn room_for(&mut self, size: u64) -> bool {
        size <= self.remaining_bytes() || self.remeasure(size)
    }

    /// Restarts the count at the memory in use plus `pending` bytes about to be
    /// allocated; false (and the count unchanged) when that is over the budget or
    /// the memory in use cannot be measured.
    fn remeasure(&mut self, pending: u64) -> bool {
        match memory_in_use() {
            Some(in_use) if in_use.saturating_add(pending) <= self.limits.max_bytes => {
                self.bytes = in_use.saturating_add(pending);
                true
            }
            _ => false,
        }
    }

    /// Bytes that may still be allocated, the memory in use measured afresh when
    /// the count leaves less than half the budget.
    pub fn measured_remaining_bytes(&mut self) -> u64 {
        if self.remaining_bytes() < self.limits.max_bytes / 2 {
            self.remeasure(0);
        }
        self.remaining_bytes()
    }

    /// Bytes that may still be allocated.
    pub fn remaining_bytes(&self) -> u64 {
        self.limits.max_bytes.saturating_sub(self.bytes)
    }

    /// The memory budget's diagnostic.
    pub fn out_of_memory(&self, at: Origin) -> Box<Diagnostic> {
        help(
            error(
                codes::BUDGET_EXCEEDED,
                format!(
                    "evaluation allocated more than {}",
                    shown_bytes(self.limits.max_bytes)
                ),
                at,
                "allocating here",
            ),
            "look for strings or lists that grow without end; the limit keeps a runaway file from exhausting memory",
        )
    }

    pub fn register_recursive(&mut self, env: &EnvRef) {
        self.recursive_envs.push(Rc::downgrade(env));
    }

    // ---- files --------------------------------------------------------------

    /// Reads, parses, checks and lowers a file (once per normalised path).
    pub fn load(&mut self, path: &Path, site: Option<Origin>) -> R<usize> {
        let key = normalize(path);
        if let Some(&index) = self.file_index.get(&key) {
            return Ok(index);
        }
        let text = match self.loader.read(path) {
            Ok(text) => text,
            Err(err) => {
                let (code, label, help) = unreadable_code(&err);
                let mut diag = Diagnostic::error(code, self.unreadable(path, &err, site));
                if let Some(site) = site {
                    diag = diag.with_primary(site.file, site.span, label);
                }
                return Err(Box::new(diag.with_help(help)));
            }
        };
        let file = self.sources.add(path.to_path_buf(), text.as_str());
        let parse = crate::syntax::parse(file, &text);
        let mut diagnostics = parse.diagnostics;
        if !diagnostics.iter().any(Diagnostic::is_error) {
            diagnostics.extend(crate::check::check(file, &parse.expr));
        }
        let root = if diagnostics.iter().any(Diagnostic::is_error) {
            None
        } else {
            // Relative paths are resolved from the directory of the file a
            // symbolic link leads to, as in Nix.
            let target = normalize(&self.loader.link_target(path));
            let dir = target.parent().map(Path::to_path_buf).unwrap_or_default();
            let (node, lowered) = ir::lower(file, &dir, &parse.expr);
            diagnostics.extend(lowered);
            Some(node)
        };
        crate::diagnostic::normalize(&mut diagnostics);
        if let Some(first) = diagnostics.iter().position(Diagnostic::is_error) {
            let mut first_error = diagnostics.remove(first);
            self.diagnostics.append(&mut diagnostics);
            if let Some(site) = site {
                add_context(&mut first_error, site, CONTEXT_IMPORT);
            }
            return Err(Box::new(first_error));
        }
        self.diagnostics.append(&mut diagnostics);
        let Some(root) = root else {
            unreachable!("a file without errors is always lowered")
        };
        let index = self.files.len();
        self.files.push(LoadedFile {
            path: key.clone(),
            root: pending(ThunkState::Expr {
                node: root,
                env: Env::new(None, Slots::new()),
            }),
        });
        self.file_index.insert(key, index);
        Ok(index)
    }

    /// `cannot read `PATH`: REASON`, with `PATH` relative to the file that names it
    /// (`site`), as its author wrote it: paths in the language are absolute, and an
    /// absolute path in a message depends on where the project happens to live.
    pub fn unreadable(&self, path: &Path, err: &std::io::Error, site: Option<Origin>) -> String {
        let dir = site
            .and_then(|site| self.sources.try_get(site.file))
            .and_then(|file| file.path.parent());
        let shown = match dir {
            Some(dir) => relative_path(&normalize(dir), &normalize(path)),
            None => path.display().to_string(),
        };
        match crate::loader::refusal(err) {
            Some(reason) => format!("refused to read `{shown}`: {reason}"),
            None => format!("cannot read `{shown}`: {}", io_reason(err)),
        }
    }

    /// The value of a loaded file's top-level expression.
    pub fn file_value(&mut self, index: usize, site: Option<Origin>) -> R<Val> {
        let root = self.files[index].root.clone();
        if let ThunkState::Done(val) = &*root.state.borrow() {
            return Ok(val.clone());
        }
        if let Some(start) = self.import_stack.iter().position(|(i, _)| *i == index) {
            return Err(self.import_cycle(start, index, site));
        }
        self.import_stack.push((index, site));
        let result = self.force(&root);
        self.import_stack.pop();
        result
    }

    fn import_cycle(&self, start: usize, index: usize, site: Option<Origin>) -> Box<Diagnostic> {
        let name = |i: usize| {
            let path = &self.files[i].path;
            path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        };
        let chain: Vec<String> = self.import_stack[start..]
            .iter()
            .map(|(i, _)| name(*i))
            .chain(std::iter::once(name(index)))
            .collect();
        let mut diag = Diagnostic::error(
            codes::IMPORT_CYCLE,
            format!("import cycle: {}", chain.join(" → ")),
        );
        if let Some(site) = site {
            diag = diag.with_primary(
                site.file,
                site.span,
                format!("imports `{}` again", name(index)),
            );
        }
        for (i, (file, at)) in self.import_stack[start..].iter().enumerate().skip(1) {
            if let Some(at) = at {
                let _ = i;
                diag = diag.with_label(*at, format!("imports `{}`", name(*file)));
            }
        }
        Box::new(diag.with_help("break the cycle: move what both files need into a third file"))
    }

    /// `import`: `path_origin` is where the path was written, `site` the call.
    pub fn import(&mut self, path: &str, path_origin: Origin, site: Origin) -> R<Val> {
        let index = self.load(Path::new(path), Some(path_origin))?;
        self.file_value(index, Some(site)).map_err(|mut err| {
            add_context(&mut err, site, CONTEXT_IMPORT);
            err
        })
    }

    // ---- forcing and evaluation --------------------------------------------

    pub fn force(&mut self, thunk: &Thunk) -> R<Val> {
        let origin = match &*thunk.state.borrow() {
            ThunkState::Done(val) => return Ok(val.clone()),
            ThunkState::Blackhole { origin } => return Err(infinite_recursion(*origin)),
            ThunkState::Expr { node, .. } => node.origin,
            ThunkState::Apply(call) => call.site,
            ThunkState::Call { site, .. } | ThunkState::Application { site, .. } => *site,
        };
        let state = thunk.state.replace(ThunkState::Blackhole { origin });
        self.enter_frame(origin)?;
        let result = grow_every(self.depth, || match state {
            ThunkState::Expr { node, env } => self.eval(&node, &env),
            ThunkState::Apply(call) => {
                let Deferred { func, args, site } = *call;
                self.call_all(func, args, site)
            }
            ThunkState::Call { closure, arg, site } => self.call_closure(&closure, arg, site),
            ThunkState::Application { closure, arg, site } => {
                // The application and the function's variable, as `eval` counts them.
                self.tick(site)?;
                self.tick(site)?;
                self.call_closure(&closure, arg, site)
            }
            ThunkState::Done(_) | ThunkState::Blackhole { .. } => unreachable!("handled above"),
        });
        self.leave();
        let val = result?;
        *thunk.state.borrow_mut() = ThunkState::Done(val.clone());
        Ok(val)
    }

    /// The value of the variable written at `origin`, whose thunk is `thunk`.
    fn force_var(&mut self, thunk: &Thunk, origin: Origin) -> R<Val> {
        self.force(thunk).map_err(|mut err| {
            if err.code == codes::INFINITE_RECURSION && err.labels.len() == 1 {
                let value = err.labels[0].origin;
                let inside = value.file == origin.file
                    && value.span.start <= origin.span.start
                    && origin.span.end <= value.span.end;
                if inside {
                    // `x = "${x}"`: the use inside the value is the one place
                    // to show (one line cannot hold both labels).
                    err.labels[0].origin = origin;
                    err.labels[0].message = "this value needs itself here".to_owned();
                } else {
                    add_context(&mut err, origin, "needed again here");
                }
            }
            err
        })
    }

    /// Evaluates the [plain](ir::LambdaIr::plain_body) body of a call with its
    /// arguments at hand, as [`Evaluator::eval`] would in their frame: the same
    /// steps, values and errors, but no frame is made.
    fn eval_plain(&mut self, node: &NodeRef, locals: &Locals<'_>) -> R<Val> {
        self.tick(node.origin)?;
        let origin = node.origin;
        match &node.kind {
            NodeKind::Int(i) => Ok(Val::new(Kind::Int(*i), origin)),
            NodeKind::Str(_) | NodeKind::Path(_) => {
                Ok(literal(node, locals.env).expect("a literal"))
            }
            NodeKind::Global(global) => Ok(self.global(*global, origin)),
            NodeKind::Var { depth, index } => {
                let held;
                let thunk = match locals.args.get(*depth as usize) {
                    Some(arg) => *arg,
                    None => match locals.env.lookup(*depth - locals.args.len() as u32, *index) {
                        Some(thunk) => {
                            held = thunk;
                            &held
                        }
                        None => {
                            return Err(error(
                                codes::INFINITE_RECURSION,
                                "variable used before it is defined",
                                origin,
                                "used here",
                            ));
                        }
                    },
                };
                if let ThunkState::Done(val) = &*thunk.state.borrow() {
                    return Ok(val.clone());
                }
                self.force_var(thunk, origin)
            }
            NodeKind::Binary { op, lhs, rhs } => {
                self.binary_with(*op, lhs, rhs, origin, |ev, node| {
                    ev.plain_operand(node, locals)
                })
            }
            NodeKind::If { cond, then, else_ } => {
                let cond_val = self.eval_plain(cond, locals)?;
                let branch = if self.expect_bool(&cond_val, cond.origin)? {
                    then
                } else {
                    else_
                };
                self.eval_plain(branch, locals)
            }
            NodeKind::Neg(inner) => {
                let val = self.eval_plain(inner, locals)?;
                let n = self.expect_int(&val, inner.origin)?;
                let Some(negated) = n.checked_neg() else {
                    return Err(overflow(format!("-({n})"), origin));
                };
                Ok(Val::new(Kind::Int(negated), origin))
            }
            NodeKind::Not(inner) => {
                let val = self.eval_plain(inner, locals)?;
                let b = self.expect_bool(&val, inner.origin)?;
                Ok(Val::new(Kind::Bool(!b), origin))
            }
            NodeKind::Interpolated(pieces) => self.interpolate(
                pieces,
                origin,
                |ev, node| ev.eval_plain(node, locals),
                |ev, node| {
                    ev.shared_thunk(node, locals.env, |depth, index| locals.lookup(depth, index))
                },
            ),
            NodeKind::Apply { .. } => match self.apply_plain(node, locals) {
                Some(result) => result,
                None => self.eval_in_frames(node, locals),
            },
            _ => self.eval_in_frames(node, locals),
        }
    }

    /// [`Evaluator::eval_plain`] for an operand: a number, or an argument already
    /// evaluated, is taken without entering it (its step is still counted).
    #[inline(always)]
    fn plain_operand(&mut self, node: &NodeRef, locals: &Locals<'_>) -> R<Val> {
        match &node.kind {
            NodeKind::Int(i) => {
                self.tick(node.origin)?;
                Ok(Val::new(Kind::Int(*i), node.origin))
            }
            NodeKind::Var { depth, .. } => {
                if let Some(arg) = locals.args.get(*depth as usize)
                    && let ThunkState::Done(val) = &*arg.state.borrow()
                {
                    self.tick(node.origin)?;
                    return Ok(val.clone());
                }
                self.eval_plain(node, locals)
            }
            _ => self.eval_plain(node, locals),
        }
    }

    /// Not plain after all: `node` evaluated in the frames it would have had.
    /// The step [`Evaluator::eval_plain`] counted is taken back: `eval` counts it.
    #[cold]
    #[inline(never)]
    fn eval_in_frames(&mut self, node: &NodeRef, locals: &Locals<'_>) -> R<Val> {
        self.steps -= 1;
        let mut frame = locals.env.clone();
        for arg in locals.args.iter().rev() {
            frame = Env::new(Some(frame), smallvec::smallvec![(*arg).clone()]);
        }
        self.eval(node, &frame)
    }

    /// A call in a plain body (its step counted), as [`Evaluator::eval`] makes it
    /// in the frames the body would have had: its arguments are the thunks of
    /// the variables or the constants written, and a function written `a: b: …`
    /// with a plain inner body and both arguments is called with them at hand.
    /// `None` when that cannot be done without a frame (a variable used before it
    /// is defined), before anything is evaluated.
    #[inline(never)]
    fn apply_plain(&mut self, node: &NodeRef, locals: &Locals<'_>) -> Option<R<Val>> {
        // Each application in the spine with its argument's thunk, the innermost
        // (first argument) last.
        let mut spine: smallvec::SmallVec<[(Origin, Origin, Thunk); 4]> = smallvec::SmallVec::new();
        let mut head = node;
        while let NodeKind::Apply { func, arg } = &head.kind {
            let lookup = |depth, index| locals.lookup(depth, index);
            let thunk = match &arg.kind {
                NodeKind::Apply {
                    func,
                    arg: inner_arg,
                } => self.application(func, inner_arg, arg.origin, locals.env, lookup)?,
                _ => self.shared_thunk(arg, locals.env, lookup)?,
            };
            spine.push((head.origin, arg.origin, thunk));
            head = func;
        }
        let callable = match &head.kind {
            NodeKind::Var { .. } | NodeKind::Global(_) => true,
            NodeKind::Lambda(lambda) => spine.len() == 2 && ir::is_plain_pair(lambda),
            _ => false,
        };
        if !callable {
            return None;
        }
        // The call may recurse (a plain body calling its own function), so the
        // stack is grown here as for any other call.
        // The spine is lent, not moved: moving it copied all its inline entries.
        Some(grow_every(self.depth, || {
            self.call_spine(head, &mut spine, locals)
        }))
    }

    fn call_spine(
        &mut self,
        head: &NodeRef,
        spine: &mut smallvec::SmallVec<[(Origin, Origin, Thunk); 4]>,
        locals: &Locals<'_>,
    ) -> R<Val> {
        if let NodeKind::Lambda(lambda) = &head.kind
            && let NodeKind::Lambda(inner) = &lambda.body.kind
        {
            // `(a: b: …) x y`, as `eval_apply` and `apply_one` take it: a step for
            // the function, for the inner application and for the inner function.
            let (first_site, _, first) = spine.pop().expect("two arguments");
            let (site, _, second) = spine.pop().expect("two arguments");
            self.tick(head.origin)?;
            self.tick(first_site)?;
            self.tick(lambda.body.origin)?;
            let mut args: smallvec::SmallVec<[&Thunk; 8]> = smallvec::smallvec![&second, &first];
            args.extend_from_slice(locals.args);
            return self.call_plain(&inner.body, &args, locals.env, site);
        }
        let func = self.eval_plain(head, locals)?;
        let mut callee = Callee::Value(func);
        while let Some((site, arg_site, thunk)) = spine.pop() {
            if !spine.is_empty() {
                self.tick(site)?;
            }
            callee = self.apply_one(callee, thunk, site, arg_site, !spine.is_empty())?;
        }
        Ok(self.callee_value(callee))
    }

    /// A thunk for `node` in `env`, skipping the thunk for variables and literals.
    pub fn thunk(&mut self, node: &NodeRef, env: &EnvRef) -> Thunk {
        match &node.kind {
            NodeKind::Var { depth, index } => {
                if let Some(thunk) = env.lookup(*depth, *index) {
                    return thunk;
                }
            }
            NodeKind::Int(_) | NodeKind::Str(_) | NodeKind::Path(_) => {
                if let Some(thunk) = node.constant.get() {
                    return thunk.clone();
                }
                if let Some(val) = literal(node, env) {
                    return node.constant.get_or_init(|| done(val)).clone();
                }
            }
            NodeKind::Lambda(_) => {
                if let Some(val) = literal(node, env) {
                    return done(val);
                }
            }
            NodeKind::Binary { op, lhs, rhs } => {
                if let Some(val) = self.arithmetic_now(*op, lhs, rhs, env, node.origin) {
                    return done(val);
                }
            }
            NodeKind::Apply { func, arg } if matches!(func.kind, NodeKind::Var { .. }) => {
                if let Some(thunk) =
                    self.application(func, arg, node.origin, env, |depth, index| {
                        env.lookup(depth, index)
                    })
                {
                    return thunk;
                }
            }
            _ => {}
        }
        pending(ThunkState::Expr {
            node: node.clone(),
            env: env.clone(),
        })
    }

    /// The thunk of `func arg` written at `site` that holds the function and
    /// the argument instead of the frame: when `func` is a variable already
    /// evaluated to a function written `x: …` or `{ … }: …`, and `arg` a variable
    /// or a constant. `lookup` finds a variable's thunk.
    #[inline(never)]
    fn application(
        &mut self,
        func: &NodeRef,
        arg: &NodeRef,
        site: Origin,
        env: &EnvRef,
        lookup: impl Fn(u32, u32) -> Option<Thunk>,
    ) -> Option<Thunk> {
        let NodeKind::Var { depth, index } = func.kind else {
            return None;
        };
        let closure = {
            let func = lookup(depth, index)?;
            let state = func.state.borrow();
            match &*state {
                ThunkState::Done(Val {
                    kind: Kind::Lambda(closure),
                    ..
                }) => closure.clone(),
                _ => return None,
            }
        };
        let arg = self.shared_thunk(arg, env, lookup)?;
        Some(pending(ThunkState::Application { closure, arg, site }))
    }

    /// The thunk of a variable (found by `lookup`) or of a constant, which an
    /// argument shares instead of having one of its own; `None` for any other
    /// expression, or a variable not yet defined.
    #[inline]
    fn shared_thunk(
        &mut self,
        node: &NodeRef,
        env: &EnvRef,
        lookup: impl Fn(u32, u32) -> Option<Thunk>,
    ) -> Option<Thunk> {
        match node.kind {
            NodeKind::Var { depth, index } => lookup(depth, index),
            NodeKind::Int(_) | NodeKind::Str(_) | NodeKind::Path(_) => Some(self.thunk(node, env)),
            _ => None,
        }
    }

    /// `lhs op rhs` computed at once, when it is integer arithmetic on numbers
    /// written out or variables already evaluated and cannot fail: an argument
    /// like `n - 1` then needs no thunk to evaluate later. Its three steps are
    /// counted now; when they would pass the step budget (or a check made every
    /// few steps fails: cancellation, the stack) `None`, nothing is counted, and
    /// the argument is evaluated when needed, as any other.
    #[inline(never)]
    fn arithmetic_now(
        &mut self,
        op: crate::ast::BinaryOp,
        lhs: &NodeRef,
        rhs: &NodeRef,
        env: &EnvRef,
        origin: Origin,
    ) -> Option<Val> {
        const STEPS: u64 = 3;
        if !matches!(
            op,
            crate::ast::BinaryOp::Add | crate::ast::BinaryOp::Sub | crate::ast::BinaryOp::Mul
        ) {
            return None;
        }
        let x = known_int(lhs, env)?;
        let y = known_int(rhs, env)?;
        let value = match op {
            crate::ast::BinaryOp::Add => x.checked_add(y),
            crate::ast::BinaryOp::Sub => x.checked_sub(y),
            _ => x.checked_mul(y),
        }?;
        let before = self.steps;
        for _ in 0..STEPS {
            if self.tick(origin).is_err() {
                // Left to fail, if it must, where it is used.
                self.steps = before;
                return None;
            }
        }
        Some(Val::new(Kind::Int(value), origin))
    }

    /// [`Evaluator::eval`] for an operand: a number or a variable whose value is
    /// known is taken without entering `eval` (its step is still counted).
    #[inline]
    pub fn eval_operand(&mut self, node: &NodeRef, env: &EnvRef) -> R<Val> {
        match &node.kind {
            NodeKind::Int(i) => {
                self.tick(node.origin)?;
                Ok(Val::new(Kind::Int(*i), node.origin))
            }
            NodeKind::Var { depth, index } => match env.known_value(*depth, *index) {
                Some(val) => {
                    self.tick(node.origin)?;
                    Ok(val)
                }
                None => self.eval(node, env),
            },
            _ => self.eval(node, env),
        }
    }

    pub fn eval(&mut self, node: &NodeRef, env: &EnvRef) -> R<Val> {
        // Tail positions (`let` bodies, `if` branches, `assert` bodies) loop here
        // instead of recursing, to keep the native stack shallow. What the caller
        // lends is used as it is; only a tail position's node and frame are held.
        let mut held_node: NodeRef;
        let mut held_env: EnvRef;
        let (mut node, mut env) = (node, env);
        loop {
            self.tick(node.origin)?;
            let origin = node.origin;
            match &node.kind {
                NodeKind::Int(_) | NodeKind::Str(_) | NodeKind::Path(_) | NodeKind::Lambda(_) => {
                    return Ok(literal(node, env).expect("a literal"));
                }
                NodeKind::Var { depth, index } => {
                    if let Some(val) = env.known_value(*depth, *index) {
                        return Ok(val);
                    }
                    let Some(thunk) = env.lookup(*depth, *index) else {
                        return Err(error(
                            codes::INFINITE_RECURSION,
                            "variable used before it is defined",
                            origin,
                            "used here",
                        ));
                    };
                    return self.force_var(&thunk, origin);
                }
                NodeKind::Global(global) => return Ok(self.global(*global, origin)),
                NodeKind::Interpolated(pieces) => {
                    return self.interpolate(
                        pieces,
                        origin,
                        |ev, node| ev.eval(node, env),
                        |ev, node| Some(ev.thunk(node, env)),
                    );
                }
                NodeKind::List(items) => {
                    self.charge(items.len() * 16, origin)?;
                    let thunks = items.iter().map(|item| self.thunk(item, env)).collect();
                    return Ok(Val::new(Kind::List(Rc::new(thunks)), origin));
                }
                NodeKind::Attrs(attrs) => return self.eval_attrs(attrs, env, origin),
                NodeKind::Let { slots, body } => {
                    let frame = Env::new(Some(env.clone()), Slots::with_capacity(slots.len()));
                    {
                        let mut filled = frame.slots.borrow_mut();
                        for slot in slots {
                            filled.push(pending(ThunkState::Expr {
                                node: slot.clone(),
                                env: frame.clone(),
                            }));
                        }
                    }
                    self.register_recursive(&frame);
                    held_node = body.clone();
                    node = &held_node;
                    held_env = frame;
                    env = &held_env;
                }
                NodeKind::Select {
                    expr,
                    path,
                    default,
                } => {
                    let base = self.eval_operand(expr, env)?;
                    match self.select(base, expr.origin, path, env, default.is_some())? {
                        Some(val) => return Ok(val),
                        None => {
                            held_node = default.clone().expect("a default");
                            node = &held_node;
                        }
                    }
                }
                NodeKind::HasAttr { expr, path } => {
                    let base = self.eval_operand(expr, env)?;
                    let found = match path.split_last() {
                        None => true,
                        Some((last, init)) => {
                            match self.select(base, expr.origin, init, env, true)? {
                                Some(Val {
                                    kind: Kind::Attrs(set),
                                    ..
                                }) => {
                                    // The attribute itself is not evaluated.
                                    let (name, _) = self.key_name(last, env)?;
                                    set.get(&name).is_some()
                                }
                                _ => false,
                            }
                        }
                    };
                    return Ok(Val::new(Kind::Bool(found), origin));
                }
                NodeKind::Apply { func, arg }
                    if !matches!(func.kind, NodeKind::Apply { .. } | NodeKind::Lambda(_)) =>
                {
                    // One argument: nothing to save by going through the spine.
                    let func_val = self.eval_operand(func, env)?;
                    if let NodeKind::Attrs(_) = arg.kind
                        && let Kind::Lambda(closure) = &func_val.kind
                        && let Some(result) = self.call_with_set_literal(
                            &closure.lambda,
                            &closure.env,
                            arg,
                            env,
                            origin,
                        )
                    {
                        return result;
                    }
                    let arg_site = arg.origin;
                    let arg = self.thunk(arg, env);
                    return self.call_at(func_val, arg, origin, arg_site);
                }
                NodeKind::Apply { .. } => return self.eval_apply(node, env),
                NodeKind::If { cond, then, else_ } => {
                    let cond_val = self.eval_operand(cond, env)?;
                    let branch = if self.expect_bool(&cond_val, cond.origin)? {
                        then
                    } else {
                        else_
                    };
                    held_node = branch.clone();
                    node = &held_node;
                }
                NodeKind::Assert { cond, body } => {
                    let cond_val = self.eval_operand(cond, env)?;
                    if !self.expect_bool(&cond_val, cond.origin)? {
                        let condition = self
                            .sources
                            .try_get(cond.origin.file)
                            .map(|f| f.slice(cond.origin.span).to_owned())
                            .filter(|text| text.len() <= 80 && !text.contains('\n'));
                        let message = match condition {
                            Some(text) => format!("assertion `{text}` failed"),
                            None => "assertion failed".to_owned(),
                        };
                        return Err(error(
                            codes::ASSERTION_FAILED,
                            message,
                            cond.origin,
                            "this condition is false",
                        ));
                    }
                    held_node = body.clone();
                    node = &held_node;
                }
                NodeKind::Neg(inner) => {
                    let val = self.eval(inner, env)?;
                    let n = self.expect_int(&val, inner.origin)?;
                    let Some(negated) = n.checked_neg() else {
                        return Err(overflow(format!("-({n})"), origin));
                    };
                    return Ok(Val::new(Kind::Int(negated), origin));
                }
                NodeKind::Not(inner) => {
                    let val = self.eval(inner, env)?;
                    let b = self.expect_bool(&val, inner.origin)?;
                    return Ok(Val::new(Kind::Bool(!b), origin));
                }
                NodeKind::Binary { op, lhs, rhs } => {
                    return self.binary(*op, lhs, rhs, env, origin);
                }
                NodeKind::Undefined(name) => {
                    return Err(error(
                        codes::UNDEFINED_VARIABLE,
                        format!("undefined variable `{name}`"),
                        origin,
                        "not defined",
                    ));
                }
                NodeKind::Error => {
                    return Err(error(
                        codes::UNEXPECTED_TOKEN,
                        "cannot evaluate an expression that failed to parse",
                        origin,
                        "syntax error here",
                    ));
                }
            }
        }
    }

    fn global(&mut self, global: ir::Global, origin: Origin) -> Val {
        match global {
            ir::Global::True => Val::new(Kind::Bool(true), origin),
            ir::Global::False => Val::new(Kind::Bool(false), origin),
            ir::Global::Null => Val::new(Kind::Null, origin),
            ir::Global::Prim(prim) => {
                let app = self.global_prims.entry(prim).or_insert_with(|| {
                    Rc::new(PrimApp {
                        prim,
                        args: Default::default(),
                        sites: Default::default(),
                    })
                });
                Val::new(Kind::Prim(app.clone()), origin)
            }
            ir::Global::Builtins => {
                let set = self
                    .builtins
                    .get_or_insert_with(|| super::builtins::builtins_set(origin))
                    .clone();
                Val::new(set.kind, origin)
            }
        }
    }

    fn eval_attrs(&mut self, attrs: &Rc<AttrsIr>, env: &EnvRef, origin: Origin) -> R<Val> {
        self.charge((attrs.statics.len() + attrs.dynamics.len()) * 40, origin)?;
        let scope = if attrs.recursive {
            let frame = Env::new(Some(env.clone()), Slots::with_capacity(attrs.statics.len()));
            {
                let mut slots = frame.slots.borrow_mut();
                for attr in &attrs.statics {
                    slots.push(pending(ThunkState::Expr {
                        node: attr.value.clone(),
                        env: frame.clone(),
                    }));
                }
            }
            self.register_recursive(&frame);
            frame
        } else {
            env.clone()
        };
        let mut entries = Vec::with_capacity(attrs.statics.len() + attrs.dynamics.len());
        for (i, attr) in attrs.statics.iter().enumerate() {
            let thunk = if attrs.recursive {
                scope.slots.borrow()[i].clone()
            } else {
                self.thunk(&attr.value, env)
            };
            entries.push((
                attr.name.clone(),
                AttrSlot {
                    thunk,
                    name_origin: attr.name_origin,
                },
            ));
        }
        // The static names are sorted and distinct already.
        let mut set = AttrSet { entries };
        if !attrs.dynamics.is_empty() {
            let mut extra = Vec::new();
            for dynamic in &attrs.dynamics {
                let name = self.eval(&dynamic.name, &scope)?;
                let name: Rc<str> = match &name.kind {
                    Kind::Null => continue,
                    Kind::Str(s) => s.clone(),
                    _ => {
                        return Err(with_value_origin(
                            error(
                                codes::TYPE_MISMATCH,
                                format!("value is {} while a string was expected", name.describe()),
                                dynamic.name.origin,
                                "attribute names must be strings",
                            ),
                            &name,
                        ));
                    }
                };
                if set.get(&name).is_some()
                    || extra.iter().any(|(n, _): &(Rc<str>, AttrSlot)| *n == name)
                {
                    return Err(error(
                        codes::DUPLICATE_ATTRIBUTE,
                        format!("dynamic attribute `{name}` already defined"),
                        dynamic.name.origin,
                        "defined again here",
                    ));
                }
                let thunk = self.thunk(&dynamic.value, &scope);
                extra.push((
                    name,
                    AttrSlot {
                        thunk,
                        name_origin: dynamic.name.origin,
                    },
                ));
            }
            if !extra.is_empty() {
                set = set.update(&AttrSet::from_unsorted(extra));
            }
        }
        Ok(Val::new(Kind::Attrs(Rc::new(set)), origin))
    }

    fn key_name(&mut self, key: &Key, env: &EnvRef) -> R<(Rc<str>, Origin)> {
        match key {
            Key::Static(name, origin) => Ok((name.clone(), *origin)),
            Key::Dynamic(node) => {
                let val = self.eval(node, env)?;
                match &val.kind {
                    Kind::Str(s) => Ok((s.clone(), node.origin)),
                    _ => Err(with_value_origin(
                        error(
                            codes::TYPE_MISMATCH,
                            format!("value is {} while a string was expected", val.describe()),
                            node.origin,
                            "attribute names must be strings",
                        ),
                        &val,
                    )),
                }
            }
        }
    }

    /// Follows `path` from `base`. With `lenient` (an `or` default or `?`), a missing
    /// attribute or a non-set gives `None` instead of an error.
    fn select(
        &mut self,
        mut base: Val,
        base_origin: Origin,
        path: &[Key],
        env: &EnvRef,
        lenient: bool,
    ) -> R<Option<Val>> {
        let mut prefix = base_origin;
        for key in path {
            let (name, key_origin) = self.key_name(key, env)?;
            let Kind::Attrs(set) = &base.kind else {
                if lenient {
                    return Ok(None);
                }
                return Err(with_value_origin(
                    error(
                        codes::TYPE_MISMATCH,
                        format!("value is {} while a set was expected", base.describe()),
                        prefix,
                        format!(
                            "this is {}, so `{name}` cannot be selected",
                            base.describe()
                        ),
                    ),
                    &base,
                ));
            };
            let Some(slot) = set.get(&name) else {
                if lenient {
                    return Ok(None);
                }
                let mut diag = Diagnostic::error(
                    codes::MISSING_ATTRIBUTE,
                    format!("attribute `{name}` missing"),
                )
                .with_primary(
                    key_origin.file,
                    key_origin.span,
                    "no such attribute",
                );
                if base.origin != key_origin {
                    diag = diag.with_label(base.origin, "the set is defined here");
                }
                diag = match did_you_mean(&name, set.names()) {
                    Some(close) => diag.with_help(format!("did you mean `{close}`?")),
                    None if set.len() <= 8 && set.len() > 0 => diag.with_help(format!(
                        "the set has {}",
                        set.names()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    None => diag,
                };
                return Err(Box::new(diag));
            };
            let thunk = slot.thunk.clone();
            base = self.force(&thunk)?;
            prefix = Origin::new(prefix.file, prefix.span.to(key_origin.span));
        }
        Ok(Some(base))
    }

    /// The string `"…${…}…"` written at `origin`; `eval` evaluates each
    /// interpolated expression, and `thunk` makes the thunk of the argument of a
    /// `toString x` among them (when it can), which is then appended without
    /// the string in between.
    fn interpolate(
        &mut self,
        pieces: &[StrPiece],
        origin: Origin,
        mut eval: impl FnMut(&mut Self, &NodeRef) -> R<Val>,
        mut thunk: impl FnMut(&mut Self, &NodeRef) -> Option<Thunk>,
    ) -> R<Val> {
        let text = super::strings::build(|out| {
            for piece in pieces {
                match piece {
                    StrPiece::Literal(text) => out.push_str(text),
                    StrPiece::Expr(node) => {
                        if let NodeKind::Apply { func, arg } = &node.kind
                            && let NodeKind::Global(ir::Global::Prim(Prim::ToString)) = func.kind
                            && let Some(arg_thunk) = thunk(self, arg)
                        {
                            self.append_to_string(out, node.origin, func, arg, arg_thunk)?;
                            continue;
                        }
                        let val = eval(self, node)?;
                        self.coerce_into(out, &val, node.origin, false)?;
                    }
                }
            }
            Ok(())
        })?;
        self.charge(text.len(), origin)?;
        Ok(Val::new(Kind::Str(text), origin))
    }

    /// `toString arg`, the call written at `site`, appended to `out` as the
    /// builtin would return it, with the same steps, depth, memory and errors.
    #[inline(never)]
    fn append_to_string(
        &mut self,
        out: &mut String,
        site: Origin,
        func: &NodeRef,
        arg: &NodeRef,
        thunk: Thunk,
    ) -> R<()> {
        // The steps of the application and of the builtin's name.
        self.tick(site)?;
        self.tick(func.origin)?;
        self.enter_frame(site)?;
        let start = out.len();
        let result = grow_every(self.depth, || {
            let val = self.force(&thunk)?;
            self.coerce_into(out, &val, arg.origin, true)
        });
        self.leave();
        result?;
        self.charge(out.len() - start, site)
    }

    // ---- calls --------------------------------------------------------------

    /// Calls `func` with each argument in turn (a deferred call made by a builtin).
    fn call_all(&mut self, func: Val, args: Slots, site: Origin) -> R<Val> {
        let count = args.len();
        let mut callee = Callee::Value(func);
        for (i, arg) in args.into_iter().enumerate() {
            callee = self.apply_one(callee, arg, site, site, i + 1 < count)?;
        }
        Ok(self.callee_value(callee))
    }

    /// `func a b`: a call of a two-argument function, without making the function
    /// of one argument in between when `func` is written `a: b: …`.
    pub fn call2(&mut self, func: &Val, a: Thunk, b: Thunk, site: Origin) -> R<Val> {
        if let Kind::Lambda(closure) = &func.kind
            && ir::is_plain_pair(&closure.lambda)
            && let NodeKind::Lambda(inner) = &closure.lambda.body.kind
        {
            // What `apply_one` does with both arguments of `a: b: …`, without
            // the callee in between: the step of the inner function, then its body.
            self.tick(closure.lambda.body.origin)?;
            return self.call_plain(&inner.body, &[&b, &a], &closure.env, site);
        }
        let callee = self.apply_one(Callee::Value(func.clone()), a, site, site, true)?;
        let callee = self.apply_one(callee, b, site, site, false)?;
        Ok(self.callee_value(callee))
    }

    /// `f a b …` written out: the arguments are given one after another to the
    /// function `f` is, as in `((f a) b) …`, but a function written `a: b: …` takes
    /// them without a closure made for each argument but the last, and a builtin
    /// without a partial application made for each.
    #[inline(never)]
    fn eval_apply(&mut self, node: &NodeRef, env: &EnvRef) -> R<Val> {
        // Each application in the spine, the innermost (first argument) last.
        let mut spine: smallvec::SmallVec<[(Origin, &NodeRef); 4]> = smallvec::SmallVec::new();
        let mut head = node;
        while let NodeKind::Apply { func, arg } = &head.kind {
            spine.push((head.origin, arg));
            head = func;
        }
        let mut callee = match &head.kind {
            NodeKind::Lambda(lambda) => {
                self.tick(head.origin)?;
                Callee::Lambda(lambda.clone(), env.clone(), head.origin)
            }
            _ => Callee::Value(self.eval_operand(head, env)?),
        };
        while let Some((site, arg)) = spine.pop() {
            if !spine.is_empty() {
                // The step `eval` counted for each inner application when it
                // evaluated them one by one (the outermost one is counted).
                self.tick(site)?;
            }
            if spine.is_empty()
                && let Some(result) = self.call_last_with_set_literal(&callee, arg, env, site)
            {
                return result;
            }
            let thunk = self.thunk(arg, env);
            callee = self.apply_one(callee, thunk, site, arg.origin, !spine.is_empty())?;
        }
        Ok(self.callee_value(callee))
    }

    /// [`Evaluator::call_with_set_literal`] for the last argument of `f a … { … }`.
    #[inline]
    fn call_last_with_set_literal(
        &mut self,
        callee: &Callee,
        arg: &NodeRef,
        env: &EnvRef,
        site: Origin,
    ) -> Option<R<Val>> {
        if !matches!(arg.kind, NodeKind::Attrs(_)) {
            return None;
        }
        match callee {
            Callee::Lambda(lambda, lambda_env, _) => {
                self.call_with_set_literal(lambda, lambda_env, arg, env, site)
            }
            Callee::Value(Val {
                kind: Kind::Lambda(closure),
                ..
            }) => self.call_with_set_literal(&closure.lambda, &closure.env, arg, env, site),
            _ => None,
        }
    }

    /// Gives `callee` one more argument. With `more` (other arguments follow), a
    /// function whose body is a function gives back that inner function and its
    /// frame, not a closure; a builtin short of arguments collects it.
    fn apply_one(
        &mut self,
        callee: Callee,
        arg: Thunk,
        site: Origin,
        arg_site: Origin,
        more: bool,
    ) -> R<Callee> {
        let (lambda, env) = match callee {
            Callee::Lambda(lambda, env, _) => (lambda, env),
            Callee::Curried {
                inner, env, first, ..
            } => {
                if !more {
                    return self
                        .call_plain(&inner.body, &[&arg, &first], &env, site)
                        .map(Callee::Value);
                }
                (inner, Env::new(Some(env), smallvec::smallvec![first]))
            }
            Callee::Partial(mut partial) => {
                partial.args.push(arg);
                partial.sites.push(arg_site);
                partial.origin = site;
                if partial.args.len() < partial.prim.arity() {
                    return Ok(Callee::Partial(partial));
                }
                return self
                    .call_prim(partial.prim, &partial.args, &partial.sites, site)
                    .map(Callee::Value);
            }
            Callee::Value(func) => match &func.kind {
                Kind::Lambda(closure) => (closure.lambda.clone(), closure.env.clone()),
                Kind::Prim(app) if more => {
                    let partial = Box::new(Partial {
                        prim: app.prim,
                        args: app.args.clone(),
                        sites: app.sites.clone(),
                        origin: func.origin,
                    });
                    return self.apply_one(Callee::Partial(partial), arg, site, arg_site, more);
                }
                _ => return self.call_at(func, arg, site, arg_site).map(Callee::Value),
            },
        };
        if more && let NodeKind::Lambda(inner) = &lambda.body.kind {
            if inner.plain_body && matches!(lambda.param, ParamIr::Ident) {
                // `a: b: a < b`: neither call needs a frame; `a` waits for `b`.
                self.tick(lambda.body.origin)?;
                return Ok(Callee::Curried {
                    inner: inner.clone(),
                    env,
                    first: arg,
                    origin: lambda.body.origin,
                });
            }
            let frame = self.bind_argument(&lambda, &env, arg, site)?;
            // The step evaluating the body, the inner function, would have taken.
            self.tick(lambda.body.origin)?;
            return Ok(Callee::Lambda(inner.clone(), frame, lambda.body.origin));
        }
        self.call_lambda(&lambda, &env, arg, site)
            .map(Callee::Value)
    }

    /// The value a callee stands for.
    fn callee_value(&self, callee: Callee) -> Val {
        match callee {
            Callee::Value(val) => val,
            Callee::Lambda(lambda, env, origin) => {
                Val::new(Kind::Lambda(Rc::new(Closure { lambda, env })), origin)
            }
            Callee::Curried {
                inner,
                env,
                first,
                origin,
            } => {
                let env = Env::new(Some(env), smallvec::smallvec![first]);
                Val::new(
                    Kind::Lambda(Rc::new(Closure { lambda: inner, env })),
                    origin,
                )
            }
            Callee::Partial(partial) => Val::new(
                Kind::Prim(Rc::new(PrimApp {
                    prim: partial.prim,
                    args: partial.args,
                    sites: partial.sites,
                })),
                partial.origin,
            ),
        }
    }

    /// Runs the builtin `prim` on all its arguments.
    fn call_prim(
        &mut self,
        prim: super::builtins::Prim,
        args: &[Thunk],
        sites: &[Origin],
        site: Origin,
    ) -> R<Val> {
        self.enter_frame(site)?;
        let result = grow_every(self.depth, || {
            super::builtins::call(self, prim, args, sites, site)
        });
        self.leave();
        result
    }

    pub fn call(&mut self, func: Val, arg: Thunk, site: Origin) -> R<Val> {
        self.call_at(func, arg, site, site)
    }

    /// [`Evaluator::call`] with the argument written at `arg_site`.
    pub fn call_at(&mut self, func: Val, arg: Thunk, site: Origin, arg_site: Origin) -> R<Val> {
        match &func.kind {
            Kind::Lambda(closure) => {
                let closure = closure.clone();
                self.call_closure(&closure, arg, site)
            }
            Kind::Prim(app) => {
                let prim = app.prim;
                if app.args.is_empty() && prim.arity() == 1 {
                    // `toString x`: nothing collected to copy.
                    return self.call_prim(prim, std::slice::from_ref(&arg), &[arg_site], site);
                }
                let mut args = app.args.clone();
                args.push(arg);
                let mut sites = app.sites.clone();
                sites.push(arg_site);
                if args.len() < prim.arity() {
                    return Ok(Val::new(
                        Kind::Prim(Rc::new(PrimApp { prim, args, sites })),
                        site,
                    ));
                }
                self.call_prim(prim, &args, &sites, site)
            }
            Kind::Attrs(set) if set.get("__functor").is_some() => {
                let functor = set.get("__functor").expect("checked").thunk.clone();
                let functor = self.force(&functor)?;
                let partial = self.call(functor, done(func.clone()), site)?;
                self.call(partial, arg, site)
            }
            _ => Err(with_value_origin(
                error(
                    codes::NOT_A_FUNCTION,
                    format!("cannot call {}: it is not a function", func.describe()),
                    site,
                    format!("{} is called here", func.describe()),
                ),
                &func,
            )),
        }
    }

    fn call_closure(&mut self, closure: &Rc<Closure>, arg: Thunk, site: Origin) -> R<Val> {
        self.call_lambda(&closure.lambda, &closure.env, arg, site)
    }

    /// Calls the function `lambda` closed over `env` with `arg`.
    fn call_lambda(
        &mut self,
        lambda: &Rc<LambdaIr>,
        env: &EnvRef,
        arg: Thunk,
        site: Origin,
    ) -> R<Val> {
        if lambda.plain_body {
            return self.call_plain(&lambda.body, &[&arg], env, site);
        }
        let frame = self.bind_argument(lambda, env, arg, site)?;
        self.run_body(lambda, &frame, site)
    }

    /// Evaluates the body of a call of `lambda` in the frame its argument was
    /// bound in.
    #[inline(always)]
    fn run_body(&mut self, lambda: &LambdaIr, frame: &EnvRef, site: Origin) -> R<Val> {
        self.enter_frame(site)?;
        let result = grow_every(self.depth, || self.eval(&lambda.body, frame));
        self.leave();
        result.map_err(|mut err| {
            add_context(&mut err, site, CONTEXT_CALL);
            err
        })
    }

    /// `f { a = …; b = …; }` where `f` is written `{ a, b ? …, … }: …`: the
    /// pattern's variables are bound to the literal's values without making the
    /// set, as [`Evaluator::bind_pattern`] would bind them from it. `None`, before
    /// anything is evaluated or counted, when the set would be needed: a set
    /// written `rec` or with dynamic names (its evaluation may fail), a pattern
    /// that binds the whole set (`@ args`), or names that do not fit the pattern
    /// (the error is the general path's).
    #[inline(never)]
    fn call_with_set_literal(
        &mut self,
        lambda: &LambdaIr,
        lambda_env: &EnvRef,
        set: &NodeRef,
        env: &EnvRef,
        site: Origin,
    ) -> Option<R<Val>> {
        let (ParamIr::Pattern(pattern), NodeKind::Attrs(attrs)) = (&lambda.param, &set.kind) else {
            return None;
        };
        if attrs.recursive || !attrs.dynamics.is_empty() || pattern.bind {
            return None;
        }
        let position = |name: &str| {
            attrs
                .statics
                .binary_search_by(|attr| attr.name.as_bytes().cmp(name.as_bytes()))
                .ok()
        };
        let fits = pattern
            .entries
            .iter()
            .all(|entry| entry.default.is_some() || position(&entry.name).is_some())
            && (pattern.ellipsis
                || attrs
                    .statics
                    .iter()
                    .all(|attr| pattern.entries.iter().any(|e| e.name == attr.name)));
        if !fits {
            return None;
        }
        // The step that evaluating the set would have counted.
        if let Err(err) = self.tick(set.origin) {
            return Some(Err(err));
        }
        let frame = Env::new(
            Some(lambda_env.clone()),
            Slots::with_capacity(pattern.entries.len()),
        );
        let mut defaulted = false;
        for entry in &pattern.entries {
            let thunk = match (position(&entry.name), &entry.default) {
                (Some(i), _) => self.thunk(&attrs.statics[i].value, env),
                (None, Some(default)) => {
                    defaulted = true;
                    pending(ThunkState::Expr {
                        node: default.clone(),
                        env: frame.clone(),
                    })
                }
                (None, None) => unreachable!("checked to fit"),
            };
            frame.slots.borrow_mut().push(thunk);
        }
        if defaulted {
            self.register_recursive(&frame);
        }
        Some(self.run_body(lambda, &frame, site))
    }

    /// A call of a function with a plain body: `args` are its arguments, the
    /// innermost function's first, `env` the frame the outermost is closed over.
    /// The body recurses only as deep as it is written, and forcing an argument
    /// or a call it makes grows the stack itself, so it runs on the current
    /// stack segment.
    #[inline]
    fn call_plain(
        &mut self,
        body: &NodeRef,
        args: &[&Thunk],
        env: &EnvRef,
        site: Origin,
    ) -> R<Val> {
        self.enter_frame(site)?;
        let result = self.eval_plain(body, &Locals { args, env });
        self.leave();
        result.map_err(|mut err| {
            add_context(&mut err, site, CONTEXT_CALL);
            err
        })
    }

    /// The frame a call of `lambda` (closed over `env`) with `arg` evaluates its
    /// body in, or the error of an argument its pattern does not accept.
    #[inline]
    fn bind_argument(
        &mut self,
        lambda: &LambdaIr,
        env: &EnvRef,
        arg: Thunk,
        site: Origin,
    ) -> R<EnvRef> {
        match &lambda.param {
            ParamIr::Ident => Ok(Env::new(Some(env.clone()), smallvec::smallvec![arg])),
            ParamIr::Pattern(pattern) => self.bind_pattern(pattern, env, arg, site),
        }
    }

    /// [`Evaluator::bind_argument`] for a function taking a set pattern.
    #[inline(never)]
    fn bind_pattern(
        &mut self,
        pattern: &PatternIr,
        env: &EnvRef,
        arg: Thunk,
        site: Origin,
    ) -> R<EnvRef> {
        let PatternIr {
            entries,
            ellipsis,
            bind,
            origin: pattern,
        } = pattern;
        let arg_val = self.force(&arg)?;
        let Kind::Attrs(set) = &arg_val.kind else {
            return Err(with_value_origin(
                Box::new(
                    Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        format!("value is {} while a set was expected", arg_val.describe()),
                    )
                    .with_primary(
                        site.file,
                        site.span,
                        format!("called with {}", arg_val.describe()),
                    )
                    .with_label(*pattern, "this function takes a set"),
                ),
                &arg_val,
            ));
        };
        let accepted = || entries.iter().map(|e| &*e.name);
        // Arguments the pattern does not name, with the one each may misspell.
        let unexpected: Vec<_> = if *ellipsis {
            Vec::new()
        } else {
            set.entries
                .iter()
                .filter(|(name, _)| !entries.iter().any(|e| *e.name == **name))
                .map(|(name, slot)| (name, slot, did_you_mean(name, accepted())))
                .collect()
        };
        let unexpected_argument = |name: &str, origin: Origin, close: Option<&str>| {
            let mut diag = Diagnostic::error(
                codes::UNEXPECTED_ARGUMENT,
                format!("function called with unexpected argument `{name}`"),
            )
            .with_primary(origin.file, origin.span, "not accepted by the function");
            add_context(&mut diag, site, "in this call");
            add_context(&mut diag, *pattern, "the function accepts these arguments");
            let help = match close {
                Some(close) => format!("did you mean `{close}`?"),
                None => "remove it, or add `...` to the function's pattern to accept any argument"
                    .to_owned(),
            };
            Box::new(diag.with_help(help))
        };
        let frame = Env::new(Some(env.clone()), Slots::with_capacity(entries.len() + 1));
        let mut defaulted = false;
        {
            let mut slots = frame.slots.borrow_mut();
            for entry in entries {
                match (set.get(&entry.name), &entry.default) {
                    (Some(slot), _) => slots.push(slot.thunk.clone()),
                    (None, Some(default)) => {
                        defaulted = true;
                        slots.push(pending(ThunkState::Expr {
                            node: default.clone(),
                            env: frame.clone(),
                        }));
                    }
                    (None, None) => {
                        // `addr` passed where `address` is required is one
                        // misspelling: report it, not the missing argument.
                        if let Some((name, slot, close)) = unexpected
                            .iter()
                            .find(|(.., close)| *close == Some(&*entry.name))
                        {
                            return Err(unexpected_argument(name, slot.name_origin, *close));
                        }
                        return Err(Box::new(
                            Diagnostic::error(
                                codes::MISSING_ARGUMENT,
                                format!(
                                    "function called without required argument `{}`",
                                    entry.name
                                ),
                            )
                            .with_primary(
                                site.file,
                                site.span,
                                format!("`{}` is not passed here", entry.name),
                            )
                            .with_label(entry.origin, "required by this function")
                            .with_help(format!(
                                "pass `{0}`, or give it a default in the pattern: `{0} ? …`",
                                entry.name
                            )),
                        ));
                    }
                }
            }
            if *bind {
                slots.push(arg.clone());
            }
        }
        if let Some((name, slot, close)) = unexpected.first() {
            return Err(unexpected_argument(name, slot.name_origin, *close));
        }
        if defaulted {
            self.register_recursive(&frame);
        }
        Ok(frame)
    }

    // ---- type expectations -------------------------------------------------

    pub fn type_error(&self, val: &Val, expected: &str, at: Origin) -> Box<Diagnostic> {
        with_value_origin(
            error(
                codes::TYPE_MISMATCH,
                format!("value is {} while {expected} was expected", val.describe()),
                at,
                format!("expected {expected}, found {}", val.describe()),
            ),
            val,
        )
    }

    pub fn expect_bool(&self, val: &Val, at: Origin) -> R<bool> {
        match val.kind {
            Kind::Bool(b) => Ok(b),
            _ => Err(self.type_error(val, "a Boolean", at)),
        }
    }

    pub fn expect_int(&self, val: &Val, at: Origin) -> R<i64> {
        match val.kind {
            Kind::Int(i) => Ok(i),
            _ => Err(self.type_error(val, "an integer", at)),
        }
    }

    pub fn expect_str(&self, val: &Val, at: Origin) -> R<Rc<str>> {
        match &val.kind {
            Kind::Str(s) => Ok(s.clone()),
            _ => Err(self.type_error(val, "a string", at)),
        }
    }

    pub fn expect_list(&self, val: &Val, at: Origin) -> R<Rc<Vec<Thunk>>> {
        match &val.kind {
            Kind::List(l) => Ok(l.clone()),
            _ => Err(self.type_error(val, "a list", at)),
        }
    }

    pub fn expect_attrs(&self, val: &Val, at: Origin) -> R<Rc<AttrSet>> {
        match &val.kind {
            Kind::Attrs(a) => Ok(a.clone()),
            _ => Err(self.type_error(val, "a set", at)),
        }
    }

    pub fn expect_function(&self, val: &Val, at: Origin) -> R<()> {
        match &val.kind {
            Kind::Lambda(_) | Kind::Prim(_) => Ok(()),
            Kind::Attrs(set) if set.get("__functor").is_some() => Ok(()),
            _ => Err(self.type_error(val, "a function", at)),
        }
    }
}

/// A function in the middle of a call `f a b …`: a value, or a function written
/// `x: …` with its frame and where it is written (no closure is made for it
/// unless it is the call's result), or a builtin short of arguments.
enum Callee {
    Value(Val),
    Lambda(Rc<LambdaIr>, EnvRef, Origin),
    /// `a: b: …` given `a`, where the inner function's body is plain: no frame is
    /// made for `a` unless the call stops here or more arguments follow.
    Curried {
        inner: Rc<LambdaIr>,
        env: EnvRef,
        first: Thunk,
        origin: Origin,
    },
    /// Boxed: it is rare, and every other callee is moved around at each argument.
    Partial(Box<Partial>),
}

/// The variables of a plain body: the arguments of the calls it stands for (the
/// innermost first, each at the depth its variable is written at), then `env`.
struct Locals<'a> {
    args: &'a [&'a Thunk],
    env: &'a EnvRef,
}

impl Locals<'_> {
    /// The thunk of the variable at `depth` and `index`, as the frames would hold it.
    #[inline]
    fn lookup(&self, depth: u32, index: u32) -> Option<Thunk> {
        match self.args.get(depth as usize) {
            Some(thunk) => Some((*thunk).clone()),
            None => self.env.lookup(depth - self.args.len() as u32, index),
        }
    }
}

/// A builtin's arguments so far, not yet in a [`PrimApp`] of their own.
struct Partial {
    prim: super::builtins::Prim,
    args: smallvec::SmallVec<[Thunk; super::runtime::MAX_ARITY]>,
    sites: smallvec::SmallVec<[Origin; super::runtime::MAX_ARITY]>,
    /// The application that gave the last argument.
    origin: Origin,
}

/// The integer `node` stands for without evaluating anything: a number, or a
/// variable already evaluated to one.
#[inline]
fn known_int(node: &NodeRef, env: &EnvRef) -> Option<i64> {
    match &node.kind {
        NodeKind::Int(i) => Some(*i),
        NodeKind::Var { depth, index } => env.known_int(*depth, *index),
        _ => None,
    }
}

/// The value of a literal node (numbers, strings, paths, functions).
#[inline]
fn literal(node: &NodeRef, env: &EnvRef) -> Option<Val> {
    let kind = match &node.kind {
        NodeKind::Int(i) => Kind::Int(*i),
        NodeKind::Str(s) => Kind::Str(s.clone()),
        NodeKind::Path(p) => Kind::Path(p.clone()),
        NodeKind::Lambda(lambda) => Kind::Lambda(Rc::new(Closure {
            lambda: lambda.clone(),
            env: env.clone(),
        })),
        _ => return None,
    };
    Some(Val::new(kind, node.origin))
}

pub(crate) fn prim_value(prim: super::builtins::Prim, origin: Origin) -> Val {
    Val::new(
        Kind::Prim(Rc::new(PrimApp {
            prim,
            args: Default::default(),
            sites: Default::default(),
        })),
        origin,
    )
}

pub(crate) fn infinite_recursion(origin: Origin) -> Box<Diagnostic> {
    help(
        error(
            codes::INFINITE_RECURSION,
            "infinite recursion encountered",
            origin,
            "this value depends on itself",
        ),
        "a value cannot be defined in terms of itself; check which bindings refer to each other",
    )
}

pub(crate) fn overflow(what: String, at: Origin) -> Box<Diagnostic> {
    error(
        codes::INTEGER_OVERFLOW,
        format!("integer overflow in `{what}`"),
        at,
        "the result does not fit in 64 bits",
    )
}

/// Sets the help of a boxed diagnostic.
pub(crate) fn help(mut diag: Box<Diagnostic>, text: &str) -> Box<Diagnostic> {
    diag.help = Some(text.to_owned());
    diag
}

/// `path` as seen from the directory `dir` (both absolute and normalised): `./a/b.hac`
/// or `../a/b.hac`.
fn relative_path(dir: &Path, path: &Path) -> String {
    let dir: Vec<_> = dir.components().collect();
    let target: Vec<_> = path.components().collect();
    let common = dir.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let up = dir.len() - common;
    let mut shown = if up == 0 {
        String::from("./")
    } else {
        "../".repeat(up)
    };
    let rest: PathBuf = target[common..].iter().collect();
    shown.push_str(&rest.display().to_string());
    shown
}

/// Why a file cannot be read, in words that do not depend on the platform.
/// The code, label and help of a file that `import` or `readFile` could not read:
/// refused by the sandbox, or failed.
pub(crate) fn unreadable_code(err: &std::io::Error) -> (&'static str, &'static str, &'static str) {
    if crate::loader::refusal(err).is_some() {
        (
            codes::FILE_REFUSED,
            "this file may not be read",
            "hac reads only regular files inside the project root (the directory of the file given on the command line, or of `hac.toml`, or `--root`), never the secrets bundle or the build output; see docs/language.md",
        )
    } else {
        (
            codes::FILE_NOT_FOUND,
            "this file cannot be read",
            "check the path and that the file exists",
        )
    }
}

fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_owned(),
        std::io::ErrorKind::InvalidData => "it is not UTF-8 text".to_owned(),
        _ => {
            let text = err.to_string();
            match text.find(" (os error") {
                Some(end) => text[..end].to_owned(),
                None => text,
            }
        }
    }
}

/// `1 GiB`, `512 MiB` or `1000 bytes`: a limit as people set it.
pub(crate) fn shown_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    UNITS
        .iter()
        .find(|(size, _)| bytes >= *size && bytes.is_multiple_of(*size))
        .map_or_else(
            || format!("{bytes} bytes"),
            |(size, unit)| format!("{} {unit}", bytes / size),
        )
}
