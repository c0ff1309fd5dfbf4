//! Operators, equality, ordering and string coercion, with Nix's semantics.

use std::cmp::Ordering;
use std::path::Path;
use std::rc::Rc;

use crate::ast::BinaryOp;
use crate::codes;
use crate::loader::normalize;
use crate::span::Origin;

use super::ir::NodeRef;
use super::machine::{Evaluator, R, error, overflow, with_value_origin};
use super::runtime::{EnvRef, Kind, Thunk, Val};

impl Evaluator<'_> {
    pub(crate) fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &NodeRef,
        rhs: &NodeRef,
        env: &EnvRef,
        origin: Origin,
    ) -> R<Val> {
        self.binary_with(op, lhs, rhs, origin, |ev, node| ev.eval_operand(node, env))
    }

    /// `lhs op rhs` with each operand evaluated by `operand` (in a frame, or from a
    /// call's arguments when the body needs no frame).
    #[inline]
    pub(crate) fn binary_with(
        &mut self,
        op: BinaryOp,
        lhs: &NodeRef,
        rhs: &NodeRef,
        origin: Origin,
        mut operand: impl FnMut(&mut Self, &NodeRef) -> R<Val>,
    ) -> R<Val> {
        // The logical operators evaluate their right side only when needed.
        match op {
            BinaryOp::And | BinaryOp::Or | BinaryOp::Implies => {
                let left = operand(self, lhs)?;
                let left = self.expect_bool(&left, lhs.origin)?;
                let short = match op {
                    BinaryOp::And => (!left).then_some(false),
                    BinaryOp::Or => left.then_some(true),
                    _ => (!left).then_some(true),
                };
                if let Some(result) = short {
                    return Ok(Val::new(Kind::Bool(result), origin));
                }
                let right = operand(self, rhs)?;
                let right = self.expect_bool(&right, rhs.origin)?;
                return Ok(Val::new(Kind::Bool(right), origin));
            }
            _ => {}
        }
        let a = operand(self, lhs)?;
        let b = operand(self, rhs)?;
        let (la, lb) = (lhs.origin, rhs.origin);
        let kind = match op {
            BinaryOp::Eq => Kind::Bool(self.equal(&a, &b, origin)?),
            BinaryOp::Ne => Kind::Bool(!self.equal(&a, &b, origin)?),
            BinaryOp::Lt => Kind::Bool(self.less_than(&a, &b, origin)?),
            BinaryOp::Gt => Kind::Bool(self.less_than(&b, &a, origin)?),
            BinaryOp::Le => Kind::Bool(!self.less_than(&b, &a, origin)?),
            BinaryOp::Ge => Kind::Bool(!self.less_than(&a, &b, origin)?),
            BinaryOp::Add => return self.add(&a, &b, la, lb, origin),
            BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
                let x = self.expect_int(&a, la)?;
                let y = self.expect_int(&b, lb)?;
                Kind::Int(arithmetic(op, x, y, lb, origin)?)
            }
            BinaryOp::Concat => {
                let x = self.expect_list(&a, la)?;
                let y = self.expect_list(&b, lb)?;
                return self.concat_lists(&[x, y], origin);
            }
            BinaryOp::Update => {
                let x = self.expect_attrs(&a, la)?;
                let y = self.expect_attrs(&b, lb)?;
                if y.len() == 0 {
                    return Ok(Val::new(Kind::Attrs(x), origin));
                }
                if x.len() == 0 {
                    return Ok(Val::new(Kind::Attrs(y), origin));
                }
                self.charge((x.len() + y.len()) * 40, origin)?;
                Kind::Attrs(Rc::new(x.update(&y)))
            }
            BinaryOp::And | BinaryOp::Or | BinaryOp::Implies => unreachable!("handled above"),
        };
        Ok(Val::new(kind, origin))
    }

    pub(crate) fn concat_lists(&mut self, lists: &[Rc<Vec<Thunk>>], origin: Origin) -> R<Val> {
        let nonempty: Vec<&Rc<Vec<Thunk>>> = lists.iter().filter(|l| !l.is_empty()).collect();
        if nonempty.len() == 1 {
            return Ok(Val::new(Kind::List(nonempty[0].clone()), origin));
        }
        let len: usize = lists.iter().map(|l| l.len()).sum();
        self.charge(len * 16, origin)?;
        let mut out = Vec::with_capacity(len);
        for list in lists {
            out.extend(list.iter().cloned());
        }
        Ok(Val::new(Kind::List(Rc::new(out)), origin))
    }

    /// `a + b`: the left operand decides: integers add, paths stay paths,
    /// anything else concatenates as strings.
    fn add(&mut self, a: &Val, b: &Val, la: Origin, lb: Origin, origin: Origin) -> R<Val> {
        match (&a.kind, &b.kind) {
            (Kind::Int(x), Kind::Int(y)) => match x.checked_add(*y) {
                Some(sum) => Ok(Val::new(Kind::Int(sum), origin)),
                None => Err(overflow(format!("{x} + {y}"), origin)),
            },
            (Kind::Int(_), _) => Err(with_value_origin(
                error(
                    codes::TYPE_MISMATCH,
                    format!("cannot add {} to an integer", b.describe()),
                    lb,
                    format!("this is {}", b.describe()),
                )
                .tap_label(la, "this is an integer"),
                b,
            )),
            (Kind::Path(p), _) => {
                let mut text = p.to_string();
                self.coerce_into(&mut text, b, lb, false)?;
                self.charge(text.len(), origin)?;
                Ok(Val::new(Kind::Path(canonical_path(&text)), origin))
            }
            _ => {
                let mut text = String::new();
                self.coerce_into(&mut text, a, la, false)?;
                self.coerce_into(&mut text, b, lb, false)?;
                self.charge(text.len(), origin)?;
                Ok(Val::new(Kind::Str(text.into()), origin))
            }
        }
    }

    /// Appends `val` as a string the way string interpolation and `+` do
    /// (`more` = `toString`'s extra conversions of integers, Booleans, null and lists).
    ///
    /// A path becomes its absolute path. Nix would copy the file into its store and
    /// use the store path; hac never copies anything, so it keeps the real path.
    pub(crate) fn coerce_into(
        &mut self,
        out: &mut String,
        val: &Val,
        at: Origin,
        more: bool,
    ) -> R<()> {
        match &val.kind {
            Kind::Str(s) => out.push_str(s),
            Kind::Path(p) => out.push_str(p),
            Kind::Attrs(set) => {
                if let Some(slot) = set.get("__toString") {
                    let func = self.force(&slot.thunk.clone())?;
                    let result = self.call(func, super::runtime::done(val.clone()), at)?;
                    return self.coerce_into(out, &result, at, more);
                }
                if let Some(slot) = set.get("outPath") {
                    let inner = self.force(&slot.thunk.clone())?;
                    return self.coerce_into(out, &inner, at, more);
                }
                return Err(self.coercion_error(val, at));
            }
            Kind::Int(i) if more => super::strings::push_int(out, *i),
            Kind::Bool(b) if more => {
                if *b {
                    out.push('1');
                }
            }
            Kind::Null if more => {}
            Kind::List(items) if more => {
                let items = items.clone();
                for (i, item) in items.iter().enumerate() {
                    self.check_stack(at)?;
                    let item = self.force(item)?;
                    self.coerce_into(out, &item, at, more)?;
                    let empty_list = matches!(&item.kind, Kind::List(l) if l.is_empty());
                    if i + 1 < items.len() && !empty_list {
                        out.push(' ');
                    }
                }
            }
            _ => return Err(self.coercion_error(val, at)),
        }
        if out.len() as u64 > self.limits.max_bytes {
            self.charge(out.len(), at)?;
        }
        Ok(())
    }

    fn coercion_error(&self, val: &Val, at: Origin) -> Box<crate::Diagnostic> {
        let mut diag = with_value_origin(
            error(
                codes::TYPE_MISMATCH,
                format!("cannot coerce {} to a string", val.describe()),
                at,
                format!("this is {}", val.describe()),
            ),
            val,
        );
        if matches!(val.kind, Kind::Int(_) | Kind::Bool(_) | Kind::Null) {
            diag.help = Some("convert it explicitly with `toString`".to_owned());
        }
        diag
    }

    /// `==` as Nix defines it: deep, functions never equal, and values that are the
    /// very same thunk equal without being compared (which makes `[ f ] == [ f ]` true).
    /// Each comparison of two values is a step: comparing values that share
    /// structure can take exponentially many, and the step budget must end it.
    pub(crate) fn equal(&mut self, a: &Val, b: &Val, at: Origin) -> R<bool> {
        self.tick(at)?;
        Ok(match (&a.kind, &b.kind) {
            (Kind::Null, Kind::Null) => true,
            (Kind::Bool(x), Kind::Bool(y)) => x == y,
            (Kind::Int(x), Kind::Int(y)) => x == y,
            (Kind::Str(x), Kind::Str(y)) => x == y,
            (Kind::Path(x), Kind::Path(y)) => x == y,
            (Kind::List(x), Kind::List(y)) => {
                if Rc::ptr_eq(x, y) {
                    return Ok(true);
                }
                if x.len() != y.len() {
                    return Ok(false);
                }
                for (p, q) in x.iter().zip(y.iter()) {
                    if !self.thunks_equal(p, q, at)? {
                        return Ok(false);
                    }
                }
                true
            }
            (Kind::Attrs(x), Kind::Attrs(y)) => {
                if Rc::ptr_eq(x, y) {
                    return Ok(true);
                }
                if x.len() != y.len() {
                    return Ok(false);
                }
                for ((n, p), (m, q)) in x.entries.iter().zip(y.entries.iter()) {
                    if n != m || !self.thunks_equal(&p.thunk, &q.thunk, at)? {
                        return Ok(false);
                    }
                }
                true
            }
            _ => false,
        })
    }

    pub(crate) fn thunks_equal(&mut self, p: &Thunk, q: &Thunk, at: Origin) -> R<bool> {
        if Rc::ptr_eq(p, q) {
            return Ok(true);
        }
        let a = self.force(p)?;
        let b = self.force(q)?;
        // In Nix a list element or attribute that is just a global builtin's name is
        // that builtin's one value, so `[ map ] == [ map ]` compares it with itself.
        if let (Kind::Prim(x), Kind::Prim(y)) = (&a.kind, &b.kind)
            && Rc::ptr_eq(x, y)
            && self
                .global_prims
                .get(&x.prim)
                .is_some_and(|global| Rc::ptr_eq(global, x))
        {
            return Ok(true);
        }
        self.equal(&a, &b, at)
    }

    /// `<` as Nix 2.8 defines it: integers, strings (byte-wise), paths, and lists
    /// lexicographically.
    pub(crate) fn less_than(&mut self, a: &Val, b: &Val, at: Origin) -> R<bool> {
        self.tick(at)?;
        match (&a.kind, &b.kind) {
            (Kind::Int(x), Kind::Int(y)) => Ok(x < y),
            (Kind::Str(x), Kind::Str(y)) | (Kind::Path(x), Kind::Path(y)) => {
                Ok(x.as_bytes().cmp(y.as_bytes()) == Ordering::Less)
            }
            (Kind::List(x), Kind::List(y)) => {
                let (x, y) = (x.clone(), y.clone());
                for i in 0.. {
                    if i == y.len() {
                        return Ok(false);
                    }
                    if i == x.len() {
                        return Ok(true);
                    }
                    if !self.thunks_equal(&x[i], &y[i], at)? {
                        let p = self.force(&x[i])?;
                        let q = self.force(&y[i])?;
                        return self.less_than(&p, &q, at);
                    }
                }
                unreachable!("the loop returns")
            }
            _ => {
                let mut diag = error(
                    codes::TYPE_MISMATCH,
                    format!("cannot compare {} with {}", a.describe(), b.describe()),
                    at,
                    "in this comparison",
                );
                super::machine::add_context(
                    &mut diag,
                    a.origin,
                    &format!("this is {}", a.describe()),
                );
                if b.origin != a.origin {
                    super::machine::add_context(
                        &mut diag,
                        b.origin,
                        &format!("this is {}", b.describe()),
                    );
                }
                Err(diag)
            }
        }
    }
}

fn arithmetic(op: BinaryOp, x: i64, y: i64, divisor: Origin, origin: Origin) -> R<i64> {
    let result = match op {
        BinaryOp::Sub => x.checked_sub(y),
        BinaryOp::Mul => x.checked_mul(y),
        _ => {
            if y == 0 {
                return Err(error(
                    codes::DIVISION_BY_ZERO,
                    "division by zero",
                    divisor,
                    "this is zero",
                ));
            }
            // Truncates toward zero, like C++ and Nix.
            x.checked_div(y)
        }
    };
    result.ok_or_else(|| overflow(format!("{x} {} {y}", op.symbol()), origin))
}

/// A path as Nix's `canonPath` makes it: absolute, without `.`, `..` or a trailing `/`.
pub(crate) fn canonical_path(text: &str) -> Rc<str> {
    let normalized = normalize(Path::new(text));
    let text = normalized.to_string_lossy();
    if text.is_empty() {
        "/".into()
    } else {
        text.into()
    }
}

trait TapLabel {
    fn tap_label(self, origin: Origin, message: &str) -> Self;
}

impl TapLabel for Box<crate::Diagnostic> {
    fn tap_label(mut self, origin: Origin, message: &str) -> Self {
        super::machine::add_context(&mut self, origin, message);
        self
    }
}
