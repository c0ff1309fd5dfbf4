//! Values during evaluation: weak head normal forms whose parts are thunks.

use std::cell::RefCell;
use std::rc::Rc;

use crate::span::Origin;

use super::builtins::Prim;
use super::ir::{LambdaIr, NodeRef};

/// A value in weak head normal form, with the expression that produced it.
#[derive(Clone)]
pub(crate) struct Val {
    pub kind: Kind,
    pub origin: Origin,
}

#[derive(Clone)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Str(Rc<str>),
    /// Absolute and lexically normalised.
    Path(Rc<str>),
    List(Rc<Vec<Thunk>>),
    Attrs(Rc<AttrSet>),
    Lambda(Rc<Closure>),
    /// A builtin with the arguments it has been given so far.
    Prim(Rc<PrimApp>),
}

pub(crate) struct Closure {
    pub lambda: Rc<LambdaIr>,
    pub env: EnvRef,
}

pub(crate) struct PrimApp {
    pub prim: Prim,
    pub args: smallvec::SmallVec<[Thunk; MAX_ARITY]>,
    /// Where each argument is written (the call itself when a builtin passed it),
    /// so a wrong argument is reported there.
    pub sites: smallvec::SmallVec<[Origin; MAX_ARITY]>,
}

/// The most arguments a builtin takes (`foldl'`, `substring`, `replaceStrings`):
/// a partial application's arguments never leave the `PrimApp` itself.
pub(crate) const MAX_ARITY: usize = 3;

/// A frame of variables. Recursive frames (`let`, `rec`, patterns with defaults)
/// are filled after creation because their thunks refer to the frame itself.
pub(crate) struct Env {
    pub slots: RefCell<Slots>,
    pub parent: Option<EnvRef>,
}

/// The variables of a frame. Most frames are a function's one argument (or two,
/// with `@`): those live in the frame itself, one allocation per call, not two.
pub(crate) type Slots = smallvec::SmallVec<[Thunk; 2]>;

pub(crate) type EnvRef = Rc<Env>;

impl Env {
    pub fn new(parent: Option<EnvRef>, slots: Slots) -> EnvRef {
        Rc::new(Env {
            slots: RefCell::new(slots),
            parent,
        })
    }

    /// The frame `depth` levels up from this one.
    #[inline(always)]
    fn up(&self, depth: u32) -> Option<&Env> {
        let mut env = self;
        for _ in 0..depth {
            env = env.parent.as_deref()?;
        }
        Some(env)
    }

    pub fn lookup(self: &EnvRef, depth: u32, index: u32) -> Option<Thunk> {
        self.up(depth)?.slots.borrow().get(index as usize).cloned()
    }

    /// The integer a variable was evaluated to, if it was.
    #[inline]
    pub fn known_int(self: &EnvRef, depth: u32, index: u32) -> Option<i64> {
        let slots = self.up(depth)?.slots.borrow();
        let state = slots.get(index as usize)?.state.borrow();
        match &*state {
            ThunkState::Done(Val {
                kind: Kind::Int(i), ..
            }) => Some(*i),
            _ => None,
        }
    }

    /// The value of a variable already evaluated, if it is.
    #[inline(always)]
    pub fn known_value(self: &EnvRef, depth: u32, index: u32) -> Option<Val> {
        let slots = self.up(depth)?.slots.borrow();
        let state = slots.get(index as usize)?.state.borrow();
        match &*state {
            ThunkState::Done(val) => Some(val.clone()),
            _ => None,
        }
    }
}

pub(crate) type Thunk = Rc<ThunkCell>;

pub(crate) struct ThunkCell {
    pub state: RefCell<ThunkState>,
}

pub(crate) enum ThunkState {
    Expr {
        node: NodeRef,
        env: EnvRef,
    },
    /// A call a builtin left for later (`map f xs` makes one per element). Boxed,
    /// so every thunk is not as large as this rarer state.
    Apply(Box<Deferred>),
    /// The commonest deferred call, a function written `x: …` given one argument
    /// (`map f xs` and `genList f n` with a lambda): it fits in the thunk itself.
    Call {
        closure: Rc<Closure>,
        arg: Thunk,
        site: Origin,
    },
    /// A call written `g x` where `g` was already a function when the thunk was
    /// made: it holds the function and the argument, not the frame they were
    /// read from, so a function whose body passes such a call on needs no frame.
    /// Forcing it counts the two steps evaluating `g x` would have.
    Application {
        closure: Rc<Closure>,
        arg: Thunk,
        site: Origin,
    },
    /// Being evaluated right now; forcing it again is infinite recursion.
    Blackhole {
        origin: Origin,
    },
    Done(Val),
}

/// A call to make when its result is needed.
pub(crate) struct Deferred {
    pub func: Val,
    pub args: Slots,
    pub site: Origin,
}

thread_local! {
    /// States of dropped thunks still to be freed, and whether a drop loop runs.
    static DROP_QUEUE: RefCell<(bool, Vec<ThunkState>)> = const { RefCell::new((false, Vec::new())) };
}

/// Marks the drop loop as finished when it ends, however it ends.
struct DropLoop<'q>(&'q RefCell<(bool, Vec<ThunkState>)>);

impl Drop for DropLoop<'_> {
    fn drop(&mut self) {
        if let Ok(mut queue) = self.0.try_borrow_mut() {
            queue.0 = false;
        }
    }
}

/// Frees nested values iteratively: a chain of a million nested sets would
/// otherwise be freed by a million nested `drop` calls and overflow the stack.
impl Drop for ThunkCell {
    fn drop(&mut self) {
        let state = std::mem::replace(
            self.state.get_mut(),
            ThunkState::Blackhole {
                origin: Origin::default(),
            },
        );
        let owns_more = match &state {
            ThunkState::Blackhole { .. } => false,
            ThunkState::Done(val) => !matches!(val.kind, Kind::Null | Kind::Bool(_) | Kind::Int(_)),
            _ => true,
        };
        if !owns_more {
            return;
        }
        let _ = DROP_QUEUE.try_with(move |queue| {
            let mut guard = queue.borrow_mut();
            guard.1.push(state);
            if guard.0 {
                return;
            }
            guard.0 = true;
            drop(guard);
            // Evaluation runs on its caller's thread, which lives on (an editor's
            // worker): if a drop below unwinds, the next drop must still run the loop.
            let _running = DropLoop(queue);
            loop {
                let next = queue.borrow_mut().1.pop();
                match next {
                    Some(state) => drop(state),
                    None => break,
                }
            }
        });
    }
}

pub(crate) fn done(val: Val) -> Thunk {
    Rc::new(ThunkCell {
        state: RefCell::new(ThunkState::Done(val)),
    })
}

pub(crate) fn pending(state: ThunkState) -> Thunk {
    Rc::new(ThunkCell {
        state: RefCell::new(state),
    })
}

/// An attribute set during evaluation, sorted by name (byte-wise, as Nix sorts).
#[derive(Default)]
pub(crate) struct AttrSet {
    pub entries: Vec<(Rc<str>, AttrSlot)>,
}

#[derive(Clone)]
pub(crate) struct AttrSlot {
    pub thunk: Thunk,
    pub name_origin: Origin,
}

impl AttrSet {
    /// Builds a set from unsorted entries; the first of equal names wins.
    pub fn from_unsorted(mut entries: Vec<(Rc<str>, AttrSlot)>) -> AttrSet {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|later, earlier| later.0 == earlier.0);
        AttrSet { entries }
    }

    pub fn get(&self, name: &str) -> Option<&AttrSlot> {
        self.entries
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .map(|i| &self.entries[i].1)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| &**n)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `self // other`: a merge of two sorted lists, right side winning.
    pub fn update(&self, other: &AttrSet) -> AttrSet {
        let mut entries = Vec::with_capacity(self.entries.len() + other.entries.len());
        let (mut i, mut j) = (0, 0);
        while i < self.entries.len() && j < other.entries.len() {
            match self.entries[i].0.cmp(&other.entries[j].0) {
                std::cmp::Ordering::Less => {
                    entries.push(self.entries[i].clone());
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    entries.push(other.entries[j].clone());
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    entries.push(other.entries[j].clone());
                    i += 1;
                    j += 1;
                }
            }
        }
        entries.extend_from_slice(&self.entries[i..]);
        entries.extend_from_slice(&other.entries[j..]);
        AttrSet { entries }
    }
}

impl Val {
    pub fn new(kind: Kind, origin: Origin) -> Val {
        Val { kind, origin }
    }

    /// Nix's `showType`, used in messages: "an integer", "a set"…
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a Boolean",
            Kind::Int(_) => "an integer",
            Kind::Str(_) => "a string",
            Kind::Path(_) => "a path",
            Kind::List(_) => "a list",
            Kind::Attrs(_) => "a set",
            Kind::Lambda(_) => "a function",
            Kind::Prim(app) if app.args.is_empty() => "a built-in function",
            Kind::Prim(_) => "a partially applied built-in function",
        }
    }

    /// The name `builtins.typeOf` gives.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "bool",
            Kind::Int(_) => "int",
            Kind::Str(_) => "string",
            Kind::Path(_) => "path",
            Kind::List(_) => "list",
            Kind::Attrs(_) => "set",
            Kind::Lambda(_) | Kind::Prim(_) => "lambda",
        }
    }
}
