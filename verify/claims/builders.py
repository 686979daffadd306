r"""Declarative claims: an identity, an inequality or a derivative written as SymPy, checked without code.

>>> from verify import claims
>>> c = claims.identity("doc.tanh_sigmoid", "tanh(x)", "2/(1 + exp(-2*x)) - 1", where={"x": "real"},
...                     source="a worked example", title="tanh through the logistic function")
>>> claims.run_claim(c).verdict
'holds'
>>> c = claims.derivative("doc.lsq_grad", as_written="(w*x - y)", of="(w*x - y)**2/2", wrt="w",
...                       where={"w": "real", "x": "real", "y": "real"}, source="a worked example")
>>> record = claims.run_claim(c)
>>> record.verdict, record.correction["formula"]
('refuted', '\\frac{\\partial}{\\partial w} \\frac{\\left(w x - y\\right)^{2}}{2} = x \\left(w x - y\\right)')
>>> for cid in ("doc.tanh_sigmoid", "doc.lsq_grad"):
...     claims.unregister(cid)

How a verdict is reached, in this order:

1. **SymPy** tries to *prove* the claim under the domains' assumptions (``simplify``, ``expand_log``,
   ``expand``, ``trigsimp`` of the difference; for an inequality, SymPy's sign reasoning on the simplified
   difference — no equation solving). Each attempt has a limit of CPU time (:data:`SYMPY_SECONDS`), so a
   hard expression cannot hang the run and the machine's load cannot change a verdict; running out of time
   is reported, never guessed.
2. **Hypothesis** searches the domains for a counterexample (always, also where SymPy proves the claim: a
   proof made on the interior of a domain must not hide a failure on its boundary). A quarter of the
   search runs first, and SymPy is asked only when it finds nothing (a counterexample decides alone); where
   SymPy proves nothing, the rest of the search runs. Points are exact (floats converted
   exactly, rationals on the simplex); both sides are evaluated in mpmath at :data:`DIGITS` and at twice
   as many digits. A point refutes the claim only when the difference exceeds the rounding bound
   $10^{-(\text{DIGITS} - \text{GUARD})}(1 + |\text{lhs}| + |\text{rhs}|)$ at both precisions and the two
   evaluations agree within that bound: rounding can neither fake a refutation nor hide one larger than
   the bound. Hypothesis shrinks the counterexample to a simple one. A point where a side is undefined
   (a pole, log of 0) is counted and skipped.
3. A counterexample refutes; otherwise a proof holds; otherwise the verdict is ``inconclusive`` with why
   (a search that finds nothing is evidence, not proof).

A refuted derivative shows the right one (``sympy.diff``, simplified) as its correction; a refuted
identity shows both sides at the counterexample; an inequality the violating values. A correction given
with ``corrected=`` is checked by the same machinery and shown as verified only when it holds.

The search is seeded from the run's seed and the claim id (recorded in the evidence): the same seed gives
the same verdict and the same counterexample.

**A claim about constants** — a formula with no symbols, such as ``log(2) < 1`` or
``Sum(1/2**k, (k, 1, 10)) = 1023/1024``, given with ``where=`` left out — is decided exactly, with no search
(there is nothing to draw): a decimal is the rational number written (``2.718`` is 1359/500); where SymPy's
steps above reduce the difference of the sides to a rational number, that number decides; otherwise both
sides are enclosed by interval arithmetic (mpmath's ``iv``, outward rounding) from 30 digits, doubling up
to 3840, until the enclosure of the difference lies on one side of 0. Where neither settles it (a function
interval arithmetic lacks, sides equal to every digit that SymPy cannot show equal, the CPU-time limit)
the verdict is ``inconclusive`` with why — never a floating-point guess.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
import zlib
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from verify.claims.domains import Domain
from verify.claims.registry import (
    _LOADING,
    Claim,
    Context,
    Correction,
    Outcome,
    Pair,
    _caller_module,
    definition_failed,
    register,
)

__all__ = ["identity", "inequality", "derivative", "DIGITS", "GUARD", "SYMPY_SECONDS", "Formula"]

#: Digits of the first high-precision evaluation (the second uses twice as many).
DIGITS = 50
#: Digits kept back from DIGITS for the rounding bound: a difference must exceed 10^-(DIGITS - GUARD) relative.
GUARD = 10
#: CPU seconds each SymPy attempt may take before it is abandoned (and said so).
SYMPY_SECONDS = 5.0
#: Points searched by Hypothesis (quick runs use half); after a SymPy proof, a quarter.
EXAMPLES = 200

_OPS = {"<=": "<=", "≤": "<=", "<": "<", ">=": ">=", "≥": ">=", ">": ">"}
_OP_LATEX = {"<=": r"\le", "<": "<", ">=": r"\ge", ">": ">"}


# ====================================================================== parsing


@dataclasses.dataclass(frozen=True)
class Formula:
    """A parsed claim: two sides, a relation (``"="``, ``"<="``, ``"<"``…), and the symbols' domains.

    ``lhs``/``rhs`` are SymPy expressions over plain real symbols and ``IndexedBase`` vectors (what was
    written); :meth:`sympy_sides` gives them with the domains' assumptions and vectors expanded.
    """

    claim_id: str
    lhs: Any
    rhs: Any
    relation: str
    domains: Mapping[str, Domain]
    symbols: Mapping[str, Any]

    def sympy_sides(self, *, interior: bool, substitute: bool = True) -> tuple[Any, Any, str]:
        """Both sides with assumption-carrying symbols, vector components as symbols ``p_1 … p_n`` (on the
        simplex the last is ``1 - p_1 - … - p_{n-1}``), and sums done; plus a note on what was assumed."""
        import sympy as sp

        replace: dict[Any, Any] = {}
        notes = []
        for name, dom in self.domains.items():
            sym = self.symbols[name]
            if not dom.is_vector:
                replace[sym] = sp.Symbol(name, **dom.assumptions(interior=interior))
        lhs, rhs = (sp.sympify(e).xreplace(replace).doit() for e in (self.lhs, self.rhs))
        for name, dom in self.domains.items():
            if not dom.is_vector:
                continue
            base = self.symbols[name]
            comps = [sp.Symbol(f"{name}_{k}", **dom.assumptions(interior=interior)) for k in range(1, dom.dim + 1)]
            if dom.kind == "simplex" and dom.dim >= 2 and substitute:
                comps[-1] = 1 - sum(comps[:-1])
                notes.append(f"${name}_{{{dom.dim}}} = 1 - \\sum_{{i<{dom.dim}}} {name}_i$")
            elif dom.kind == "simplex" and substitute:
                comps[-1] = sp.Integer(1)
            mapping = {base[k + 1]: comps[k] for k in range(dom.dim)}
            lhs, rhs = lhs.xreplace(mapping), rhs.xreplace(mapping)
        if interior and any(d.assumptions(interior=True) != d.assumptions() for d in self.domains.values()):
            notes.append("on the interior of the domains (their boundary follows by continuity; the search "
                         "covers it)")
        return lhs, rhs, "; ".join(notes)


def _parse(claim_id: str, text: Any, role: str, local: dict[str, Any], *, exact_decimals: bool = False) -> Any:
    """``text`` as SymPy; with ``exact_decimals``, a decimal is the rational number written (``1e-20`` is
    1/10^20) before SymPy evaluates anything, so ``1 + 1e-20`` is not rounded to the float 1.0."""
    import sympy as sp
    from sympy.parsing.sympy_parser import parse_expr, rationalize, standard_transformations

    if isinstance(text, sp.Basic):
        return text
    if isinstance(text, (int, float, Fraction)):
        return sp.nsimplify(text) if isinstance(text, float) else sp.Rational(text)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{role} must be a SymPy expression or a non-empty string; got {text!r}")
    try:
        transformations = standard_transformations + ((rationalize,) if exact_decimals else ())
        return parse_expr(text.replace("^", "**"), local_dict=dict(local), transformations=transformations,
                          evaluate=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's input, reported as such
        hint = (" (a sum over an index is Sum(term, (k, 1, n)); Python's sum takes no bounds)" if "sum(" in text
                else " (a vector's components p[1] … p[n] need its domain in where=, e.g. {'p': 'simplex(3)'})"
                if "not subscriptable" in str(exc) else "")
        raise ValueError(f"{role} {text!r} does not parse as SymPy: {type(exc).__name__}: {exc}{hint}") from None


def _build_formula(claim_id: str, lhs: Any, relation: str, rhs: Any, where: Any) -> Formula:
    import sympy as sp

    missing = ("where= must map every symbol to its domain, e.g. where={'x': 'real'}; "
               f"got {where!r}")
    if where is None:
        where = {}
    if not isinstance(where, Mapping):
        raise ValueError(missing)
    domains: dict[str, Domain] = {}
    for name, text in where.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"where= key {name!r} is not a symbol name")
        try:
            domains[name] = Domain.parse(text)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"symbol {name!r}: {exc}") from None
    symbols = {name: (sp.IndexedBase(name) if dom.is_vector else sp.Symbol(name, real=True))
               for name, dom in domains.items()}
    sides = [_parse(claim_id, text, role, symbols) for text, role in ((lhs, "left-hand side"), (rhs, "right-hand side"))]
    declared = set(symbols.values())
    for expr, text, role in ((sides[0], lhs, "left-hand side"), (sides[1], rhs, "right-hand side")):
        if not isinstance(expr, sp.Expr):
            raise ValueError(f"{role} {text!r} is not an expression (it parses as {type(expr).__name__})")
        loose = sorted(str(s) for s in expr.free_symbols
                       if s not in declared and not isinstance(s, sp.Indexed) and s.name not in symbols)
        if loose and not domains:  # a formula about constants needs no where=; one with symbols does
            hint = " (Euler's number is E or exp(1); e is a symbol)" if "e" in loose else ""
            raise ValueError(f"{missing}: the {role} {text!r} has the symbol(s) {', '.join(map(repr, loose))}{hint}")
        if loose:
            raise ValueError(f"symbol(s) {', '.join(repr(s) for s in loose)} in the {role} {text!r} have no domain; "
                             "give each one in where=")
        _check_vector_use(expr, domains, role, text)
    if not (sides[0].free_symbols or sides[1].free_symbols):  # about constants: decided exactly, decimals too
        sides = [_parse(claim_id, text, role, symbols, exact_decimals=True)
                 for text, role in ((lhs, "left-hand side"), (rhs, "right-hand side"))]
    return Formula(claim_id, sides[0], sides[1], relation, domains, symbols)


def _check_vector_use(expr: Any, domains: Mapping[str, Domain], role: str, text: Any) -> None:
    import sympy as sp

    expanded = expr.doit()
    bare = expanded.xreplace({idx: sp.Integer(0) for idx in expanded.atoms(sp.Indexed)})
    for name, dom in domains.items():
        if dom.is_vector and bare.has(sp.IndexedBase(name)):
            raise ValueError(f"{role} {text!r} uses the vector {name!r} without an index; write {name}[1] … "
                             f"{name}[{dom.dim}]")
    for idx in expanded.atoms(sp.Indexed):
        name = str(idx.base)
        dom = domains.get(name)
        if dom is None or not dom.is_vector:
            raise ValueError(f"{role} {text!r} indexes {name!r}, which is not a vector (give it simplex(n) or ball(n))")
        k = idx.indices[0]
        if not k.is_Integer:
            raise ValueError(f"{role} {text!r}: a sum over the components of {name!r} needs numeric bounds "
                             f"(1 … {dom.dim}); got index {k}")
        if not 1 <= int(k) <= dom.dim:
            raise ValueError(f"{role} {text!r}: index {k} of {name!r} is outside 1 … {dom.dim}")


# ====================================================================== SymPy with a time limit


class _OutOfTime(Exception):
    pass


#: Outside the main thread the parent gives up on the forked child after this many times its CPU limit in
#: wall time (a child starved of CPU by a load above this factor counts as out of time).
_WALL_BACKSTOP = 10.0


def _cpu_limited(fn: Callable[[], Any], seconds: float) -> Any:
    """``fn()`` in the main thread, abandoned with :class:`_OutOfTime` after ``seconds`` of this process's CPU
    time (``ITIMER_PROF``: user + system, of every thread of the process — SymPy runs alone in it). CPU time, not
    wall time: whether SymPy finishes, and so the verdict, must not depend on what else the machine is running."""

    def out_of_time(signum: int, frame: Any) -> None:
        raise _OutOfTime

    previous = signal.signal(signal.SIGPROF, out_of_time)
    running = signal.setitimer(signal.ITIMER_PROF, seconds)  # a profiler's timer, if one ran, is put back after
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
        if running[0] > 0.0:
            signal.setitimer(signal.ITIMER_PROF, *running)


def _time_limited(fn: Callable[[], Any], seconds: float) -> Any:
    """``fn()``, abandoned after ``seconds`` of CPU time with :class:`_OutOfTime` (:func:`_cpu_limited`; outside
    the main thread, where no signal can be caught, in a forked process that limits itself the same way)."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _cpu_limited(fn, seconds)
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child() -> None:  # the forked process has one thread, its main thread
        try:
            send.send(("ok", _cpu_limited(fn, seconds)))
        except _OutOfTime:
            send.send(("out of time", None))
        except BaseException as exc:  # noqa: BLE001 - handed back to the parent
            send.send(("error", repr(exc)))

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    try:
        if not receive.poll(_WALL_BACKSTOP * seconds):
            raise _OutOfTime
        status, value = receive.recv()
    finally:
        proc.kill()
        proc.join()
    if status == "out of time":
        raise _OutOfTime
    if status == "error":
        raise RuntimeError(value)
    return value


def _prove(formula: Formula, seconds: float) -> dict[str, Any]:
    r"""SymPy's attempt: ``{"proved": bool, "how": words, "assumed": words, "residual": LaTeX, "timed_out": [...]}``.

    On a simplex the components are taken both as independent positive symbols (a proof that does not need
    $\sum_i p_i = 1$) and with the last one replaced by $1 - \sum_{i<n} p_i$; each simplification is tried on
    both before the next, costlier one.
    """
    import sympy as sp

    strict = formula.relation in ("<", ">")
    goal = "zero" if formula.relation == "=" else ("positive" if strict else "nonnegative")
    variants = [False, True] if any(d.kind == "simplex" for d in formula.domains.values()) else [True]
    diffs = []
    for substitute in variants:
        lhs, rhs, assumed = formula.sympy_sides(interior=not strict, substitute=substitute)
        diffs.append((lhs - rhs if formula.relation in ("=", ">=", ">") else rhs - lhs, assumed))
    timed_out: list[str] = []
    residual = None
    for how, step in _steps():
        for diff, assumed in diffs:
            try:
                got = _time_limited(lambda step=step, diff=diff: step(diff), seconds)
            except _OutOfTime:
                if how not in timed_out:
                    timed_out.append(how)
                continue
            except Exception:  # noqa: BLE001 - SymPy could not do this step: try the next
                continue
            if residual is None and how == "simplify":
                residual = got  # the first variant's (independent components) reads best
            decided = (got == 0) if goal == "zero" else \
                (got.is_positive if goal == "positive" else got.is_nonnegative) is True
            if decided:
                return {"proved": True, "how": _proof_words(how, goal, formula.relation), "assumed": assumed,
                        "timed_out": timed_out}
    residual = diffs[0][0] if residual is None else residual
    if goal != "zero" and len(formula.domains) == 1:
        (name, dom), = formula.domains.items()
        if dom.kind == "real":
            try:
                how = _time_limited(lambda: _calculus_proof(residual, name, dom, strict), seconds)
            except _OutOfTime:
                timed_out.append("critical points")
                how = None
            except Exception:  # noqa: BLE001 - SymPy could not: not proved
                how = None
            if isinstance(how, str):
                return {"proved": True, "how": how, "assumed": "", "timed_out": timed_out}
            if how:
                return {"proved": False, "residual": f"${sp.latex(residual)}$", "timed_out": timed_out,
                        "candidates": [(name, c) for c in how]}
    return {"proved": False, "residual": f"${sp.latex(residual)}$", "timed_out": timed_out}


def _steps() -> list[tuple[str, Callable[[Any], Any]]]:
    """The simplifications tried, cheapest first."""
    import sympy as sp

    return [
        ("simplify", sp.simplify),
        ("rewriting in exp then simplify", lambda e: sp.simplify(e.rewrite(sp.exp))),
        ("expand_log then simplify", lambda e: sp.simplify(sp.expand_log(e))),
        ("trigsimp", sp.trigsimp),
    ]


def _calculus_proof(d: Any, name: str, dom: Domain, strict: bool) -> str | list[Any] | None:
    """One variable on an interval: ``d`` is continuous there, and its minimum (over its finitely many
    critical points and its limits at the ends) is >= 0 (> 0 when strict). Returns the proof in words; or,
    where a critical point or a closed end breaks it, those points (candidate counterexamples, which the
    numeric machinery then confirms); or ``None`` when SymPy cannot tell."""
    import sympy as sp

    (x,) = [s for s in d.free_symbols if s.name == name] or [None]
    if x is None:
        return None
    lo = -sp.oo if dom.low is None else dom.low
    hi = sp.oo if dom.high is None else dom.high
    interval = sp.Interval(lo, hi, dom.low_open, dom.high_open)
    if sp.calculus.util.continuous_domain(d, x, interval) != interval:
        return None
    critical = sp.solveset(sp.diff(d, x), x, domain=interval)
    if not isinstance(critical, sp.FiniteSet):
        return None
    values = [sp.simplify(d.subs(x, c)) for c in critical]
    ends = [sp.limit(d, x, lo, "+") if dom.low_open else d.subs(x, lo),
            sp.limit(d, x, hi, "-") if dom.high_open else d.subs(x, hi)]
    test = (lambda v: v.is_positive) if strict else (lambda v: v.is_nonnegative)
    if all(test(v) is True for v in values) and all(v == sp.oo or test(v) is True for v in ends):
        points = ", ".join(sp.latex(c) for c in critical) or "none"
        return (f"SymPy: the difference is continuous on the interval; at its critical points (${points}$) and at "
                f"the interval's ends it is {'positive' if strict else 'nonnegative'}")
    closed = [e for e, is_open in ((lo, dom.low_open), (hi, dom.high_open)) if not is_open]
    breaking = [c for c, v in zip(list(critical) + closed, values + [d.subs(x, e) for e in closed], strict=True)
                if test(v) is False]
    return breaking or None


def _proof_words(how: str, goal: str, relation: str) -> str:
    if goal == "zero":
        return f"SymPy: {how} of left side − right side gives 0"
    side = "right side − left side" if relation in ("<=", "<") else "left side − right side"
    return f"SymPy: {how} of {side} is {goal} under the domains' assumptions"


# ====================================================================== numbers at high precision


def _mp(value: Any) -> Any:
    import mpmath

    if isinstance(value, int):
        return value
    return mpmath.mpf(value.numerator) / mpmath.mpf(value.denominator)


class _Evaluator:
    """Both sides at an exact point, in mpmath at a given number of digits (``None`` where undefined)."""

    def __init__(self, formula: Formula) -> None:
        import sympy as sp

        self.names = list(formula.domains)
        args = [formula.symbols[n] for n in self.names]
        self.f = sp.lambdify(args, [formula.lhs, formula.rhs], modules="mpmath")
        self.domains = formula.domains

    def __call__(self, point: Mapping[str, Any], digits: int) -> tuple[Any, Any] | None:
        import mpmath

        with mpmath.workdps(digits):
            args = []
            for name in self.names:
                v = point[name]
                args.append([None, *(_mp(c) for c in v)] if self.domains[name].is_vector else _mp(v))
            try:
                lhs, rhs = self.f(*args)
                lhs, rhs = mpmath.mpmathify(lhs), mpmath.mpmathify(rhs)
            except (ZeroDivisionError, ValueError, OverflowError, TypeError, ArithmeticError):
                return None
            if not all(mpmath.isfinite(v) for v in (lhs, rhs)):
                return None
            return +lhs, +rhs


def _bound(lhs: Any, rhs: Any) -> Any:
    import mpmath

    return (1 + abs(lhs) + abs(rhs)) * mpmath.mpf(10) ** (-(DIGITS - GUARD))


def _show(value: Any) -> Any:
    """An mpmath value for evidence: a float when real, ``"a + b i"`` when complex."""
    import mpmath

    if isinstance(value, mpmath.mpc) and value.imag != 0:
        return f"{mpmath.nstr(value.real, 17)} + {mpmath.nstr(value.imag, 17)} i".replace("+ -", "− ")
    return float(mpmath.re(value))


def _exact(v: Fraction | int) -> Any:
    """A point's coordinate for evidence: the number itself when a float holds it exactly, ``"p/q"`` for a
    small fraction such as 1/3 (whose float would not be the point), else its nearest float."""
    if isinstance(v, int):
        return v
    f = float(v)
    if Fraction(f) == v:
        return f
    return f"{v.numerator}/{v.denominator}" if v.denominator <= 10**6 else f


def _point_json(point: Mapping[str, Any]) -> dict[str, Any]:
    return {name: ([_exact(c) for c in v] if isinstance(v, tuple) else _exact(v)) for name, v in point.items()}


@dataclasses.dataclass
class _SearchStats:
    evaluated: int = 0
    undefined: int = 0
    not_real: int = 0
    ill_conditioned: int = 0
    worst: Any = None  # largest relative difference (identity) or smallest relative slack (inequality)


def _exactly_equal(formula: Formula, point: Mapping[str, Any]) -> bool:
    """SymPy, at the exact rational point: are both sides equal? (For a strict inequality at a tie.)"""
    import sympy as sp

    lhs, rhs, _ = formula.sympy_sides(interior=False)
    subs: dict[Any, Any] = {}
    for name, dom in formula.domains.items():
        v = point[name]
        if dom.is_vector:
            for k, c in enumerate(v, start=1):
                subs[sp.Symbol(f"{name}_{k}", **dom.assumptions())] = sp.Rational(c.numerator, c.denominator)
        else:
            subs[sp.Symbol(name, **dom.assumptions())] = sp.Rational(Fraction(v).numerator, Fraction(v).denominator)
    try:
        return _time_limited(lambda: sp.simplify((lhs - rhs).xreplace(subs)) == 0, SYMPY_SECONDS)
    except Exception:  # noqa: BLE001 - undecided: not a counterexample
        return False


def _violation(formula: Formula, evaluate: _Evaluator, stats: _SearchStats) -> Callable[[dict], dict | None]:
    import mpmath

    sign = 1 if formula.relation in ("<=", "<") else -1

    def gap(values: tuple[Any, Any]) -> Any:
        """lhs - rhs (identity), or the slack that must be >= 0 (inequality)."""
        lhs, rhs = values
        return lhs - rhs if formula.relation == "=" else sign * (mpmath.re(rhs) - mpmath.re(lhs))

    def suspicious(values: tuple[Any, Any], bound: Any) -> bool:
        g = gap(values)
        if formula.relation == "=":
            return abs(g) > bound
        return g < -bound or (formula.relation in ("<", ">") and abs(g) <= bound)

    def check(point: dict[str, Any]) -> dict[str, Any] | None:
        # Every point at DIGITS; a point that looks like a counterexample again at 2 * DIGITS, where the
        # two evaluations must agree within the rounding bound before the point may refute anything.
        stats.evaluated += 1
        low = evaluate(point, DIGITS)
        if low is None:
            stats.undefined += 1
            return None
        with mpmath.workdps(DIGITS):
            bound = _bound(*low)
            if formula.relation != "=" and any(abs(mpmath.im(v)) > bound for v in low):
                stats.not_real += 1
                return None
            rel = gap(low) / (1 + abs(low[0]) + abs(low[1]))
            if formula.relation == "=":
                stats.worst = abs(rel) if stats.worst is None else max(stats.worst, abs(rel))
            else:
                stats.worst = rel if stats.worst is None else min(stats.worst, rel)
            if not suspicious(low, bound):
                return None
        high = evaluate(point, 2 * DIGITS)
        if high is None:
            stats.undefined += 1
            return None
        with mpmath.workdps(2 * DIGITS):
            lhs, rhs = high
            bound = _bound(lhs, rhs)
            if formula.relation != "=" and any(abs(mpmath.im(v)) > bound for v in high):
                stats.not_real += 1
                return None
            if abs(gap(low) - gap(high)) > bound:
                stats.ill_conditioned += 1
                return None
            g = gap(high)
            if formula.relation == "=":
                return {"point": point, "lhs": lhs, "rhs": rhs, "difference": g} if abs(g) > bound else None
            if g < -bound:
                return {"point": point, "lhs": lhs, "rhs": rhs, "difference": g}
            if formula.relation in ("<", ">") and abs(g) <= bound and _exactly_equal(formula, point):
                return {"point": point, "lhs": lhs, "rhs": rhs, "difference": 0, "tie": True}
            return None

    return check


# ====================================================================== the verdict


def claim_seed(seed: int, claim_id: str) -> int:
    """The search's seed: the run's seed and the claim id (so claims do not share a stream)."""
    return (int(seed) * 1_000_003 + zlib.crc32(claim_id.encode())) % (2**32)


def decide(formula: Formula, ctx: Context, *, sympy_seconds: float = SYMPY_SECONDS,
           examples: int | None = None) -> Outcome:
    """The verdict on ``formula`` (see the module docstring): SymPy, then the search, then why not; a formula
    without symbols is decided about its constants (:func:`_decide_constants`), with no search."""
    if _is_constant(formula):
        return _decide_constants(formula, sympy_seconds)
    import sympy as sp
    from hypothesis import strategies as st

    from verify.claims._common import hypothesis_search

    n = examples or (EXAMPLES // 2 if ctx.quick else EXAMPLES)
    seed = claim_seed(ctx.seed, formula.claim_id)
    stats = _SearchStats()
    strategy = st.fixed_dictionaries({name: dom.strategy() for name, dom in formula.domains.items()})
    violation = _violation(formula, _Evaluator(formula), stats)
    # A first quarter of the search; a counterexample decides alone. Otherwise SymPy (seconds), and where it
    # proves nothing, the rest of the search: a proved claim costs a quarter of the points, an unproved one all.
    first = max(20, n // 4)
    _, found = hypothesis_search(strategy, violation, seed=seed, max_examples=first)
    proof = {"proved": False, "residual": None, "timed_out": []} if found is not None else _prove(formula, sympy_seconds)
    for name, c in proof.get("candidates", []):  # SymPy's critical points where the claim fails: confirm them
        exact = sp.Rational(c) if c.is_Rational else sp.Rational(str(sp.N(c, 3 * DIGITS)))
        value = Fraction(int(exact.p), int(exact.q))
        if found is None and formula.domains[name].contains(value):
            found = violation({name: value})
    if found is None and not proof["proved"] and n > first:
        _, found = hypothesis_search(strategy, violation, seed=seed + 1, max_examples=n - first)
    if found is not None and not proof["residual"]:
        sympy_words: dict[str, Any] = {"verdict": "not needed: the search found a counterexample"}
    elif proof["proved"]:
        sympy_words = {"verdict": "proved", "how": proof["how"], **({"assuming": proof["assumed"]}
                                                                      if proof["assumed"] else {})}
    else:
        sympy_words = {"verdict": "not proved", "difference after simplification": proof["residual"],
                       **({"ran out of time": f"{', '.join(proof['timed_out'])} (limit {sympy_seconds:g} CPU s each)"}
                          if proof["timed_out"] else {})}
        if proof.get("candidates"):
            sympy_words["critical points or ends where it fails"] = [f"${n} = {sp.latex(c)}$"
                                                                     for n, c in proof["candidates"]]
    evidence: dict[str, Any] = {
        "SymPy": sympy_words,
        "search": {"points evaluated": stats.evaluated, "points where a side is undefined": stats.undefined,
                   "points where a side is not real": stats.not_real,
                   "points too ill-conditioned to decide": stats.ill_conditioned,
                   "digits": f"{DIGITS} and {2 * DIGITS}",
                   "rounding bound": f"$10^{{-{DIGITS - GUARD}}}(1 + |\\mathrm{{lhs}}| + |\\mathrm{{rhs}}|)$",
                   "seed": seed},
        "domains": {name: f"${dom.latex(name)}$" for name, dom in formula.domains.items()},
    }
    pair = _pair(formula, stats, found)
    if found is not None:
        return _refuted(formula, found, evidence, pair)
    if stats.evaluated == stats.undefined + stats.not_real + stats.ill_conditioned:
        return Outcome("inconclusive", evidence, pair=pair,
                       why=f"no point of the domains could be evaluated: a side is undefined, not real or too "
                           f"ill-conditioned at each of the {stats.evaluated} points searched")
    if proof["proved"]:
        return Outcome("holds", evidence, pair=pair)
    limit = (f"; SymPy ran out of time ({sympy_seconds:g} CPU s) on: {', '.join(proof['timed_out'])}"
             if proof["timed_out"] else "")
    return Outcome("inconclusive", evidence, pair=pair,
                   why=(f"SymPy could not prove it{limit}, and {stats.evaluated} points of the domains found no "
                        f"counterexample at {DIGITS} and {2 * DIGITS} digits; a search that finds nothing does not "
                        "prove a claim"))


def _pair(formula: Formula, stats: _SearchStats, found: dict | None) -> Pair:
    import mpmath

    if formula.relation == "=":
        if found is not None:
            measured = _show(found["difference"])
            return Pair("left side − right side at the counterexample", measured, 0, "=")
        worst = 0.0 if stats.worst is None else float(stats.worst)
        return Pair("largest |lhs − rhs| / (1 + |lhs| + |rhs|) over the points searched", worst, 0, "=",
                    note=f"evaluated at {2 * DIGITS} digits; 0 up to the rounding bound")
    words = "right side − left side" if formula.relation in ("<=", "<") else "left side − right side"
    rel = ">" if formula.relation in ("<", ">") else ">="
    if found is not None:
        return Pair(f"{words} at the counterexample", float(mpmath.re(found["difference"])), 0, rel)
    worst = None if stats.worst is None else float(stats.worst)
    return Pair(f"smallest ({words}) / (1 + |lhs| + |rhs|) over the points searched", worst, 0, rel,
                note=f"evaluated at {2 * DIGITS} digits")


def _refuted(formula: Formula, found: dict, evidence: dict, pair: Pair) -> Outcome:
    point = _point_json(found["point"])
    counter: dict[str, Any] = dict(point)
    if formula.relation == "=":
        counter.update({"left side": _show(found["lhs"]), "right side": _show(found["rhs"]),
                        "left − right": _show(found["difference"])})
        words = (f"At this point the two sides differ by {_fmt(found['difference'])}, far above the rounding bound "
                 f"of a {2 * DIGITS}-digit evaluation.")
    else:
        counter.update({"left side": _show(found["lhs"]), "right side": _show(found["rhs"])})
        if found.get("tie"):
            words = (f"At this point both sides are exactly equal (SymPy, exact arithmetic), so the strict "
                     f"inequality {_OP_LATEX[formula.relation]} fails.").replace(r"\le", "≤").replace(r"\ge", "≥")
        else:
            words = (f"At this point the inequality is violated by {_fmt(abs(found['difference']))}, far above the "
                     f"rounding bound of a {2 * DIGITS}-digit evaluation.")
    return Outcome("refuted", evidence, counterexample=counter, counterexample_explained=words, pair=pair)


def _fmt(value: Any) -> str:
    import mpmath

    return mpmath.nstr(abs(value), 6) if not isinstance(value, int) else str(value)


# ====================================================================== claims about constants

#: Interval arithmetic on a claim about constants starts at this many digits and doubles up to the last.
_FIRST_DIGITS = 30
_LAST_DIGITS = 3840

_CONSTANTS_NOTE = ("the formula has no symbols: the claim is about constants, decided by SymPy's exact arithmetic "
                   "or by interval arithmetic whose enclosure fixes the sign; the counterexample search does not run "
                   "(there is nothing to draw)")


def _is_constant(formula: Formula) -> bool:
    """Whether ``formula`` has no free symbols (a bound one, such as the index of a ``Sum``, does not count)."""
    return not (formula.lhs.free_symbols or formula.rhs.free_symbols)


def _exact_decimals(expr: Any) -> Any:
    """Decimals as the numbers written (``2.718`` is 1359/500): the binary float SymPy parsed would decide
    ``exp(1) > 2.718`` by its own rounding."""
    import sympy as sp

    return expr.xreplace({f: sp.Rational(str(f)) for f in expr.atoms(sp.Float)})


def _slack(relation: str, lhs: Any, rhs: Any) -> tuple[str, Any]:
    """The difference that must be 0 (``=``), >= 0 or > 0, and its name."""
    if relation in ("<=", "<"):
        return "right side − left side", rhs - lhs
    return "left side − right side", lhs - rhs


def _settled(relation: str, low: Any, high: Any) -> str | None:
    """The verdict once the slack is known to lie in [low, high]; ``None`` while that does not fix it."""
    if relation == "=":
        return "holds" if low == high == 0 else ("refuted" if low > 0 or high < 0 else None)
    if relation in ("<", ">"):
        return "holds" if low > 0 else ("refuted" if high <= 0 else None)
    return "holds" if low >= 0 else ("refuted" if high < 0 else None)


class _NoRule(Exception):
    """Interval arithmetic has no rule for a part of the expression (a function it lacks, a complex number)."""


class _TooWide(Exception):
    """At this precision an enclosure is unbounded or reaches outside a function's domain."""


def _ends(interval: Any) -> tuple[Any, Any]:
    """The exact endpoints of an ``mpmath.iv`` interval (``mpf(interval.a)`` would round them to mp's precision)."""
    import mpmath

    low, high = interval._mpi_
    return mpmath.mp.make_mpf(low), mpmath.mp.make_mpf(high)


def _above_zero(interval: Any, what: str, *, strict: bool) -> Any:
    low, _ = _ends(interval)
    if low > 0 or (low == 0 and not strict):
        return interval
    raise _TooWide(f"{what} is not certainly {'positive' if strict else 'nonnegative'}")


def _enclose(expr: Any, iv: Any) -> Any:
    """An interval of mpmath's ``iv`` context (outward rounding at ``iv.prec``) that contains the real ``expr``.

    Raises :class:`_NoRule` for what it cannot enclose and :class:`_TooWide` where this precision is not enough.
    """
    import mpmath
    import sympy as sp

    constants = {sp.pi: "pi", sp.E: "e", sp.EulerGamma: "euler"}
    if expr.is_Rational:
        got = iv.mpf(int(expr.p)) / iv.mpf(int(expr.q))
    elif expr in constants:
        got = +getattr(iv, constants[expr])
    elif expr.is_Add or expr.is_Mul:
        parts = [_enclose(a, iv) for a in expr.args]
        got = parts[0]
        for part in parts[1:]:
            got = got + part if expr.is_Add else got * part
    elif expr.is_Pow:
        base, power = expr.args
        b = _enclose(base, iv)
        if power.is_Integer:
            got = b ** int(power)
        elif power == sp.S.Half:
            got = iv.sqrt(_above_zero(b, "the base of a square root", strict=False))
        else:
            got = iv.exp(_enclose(power, iv) * iv.ln(_above_zero(b, "the base of a power", strict=True)))
    elif isinstance(expr, (sp.exp, sp.sin, sp.cos, sp.tan)):
        got = getattr(iv, type(expr).__name__)(_enclose(expr.args[0], iv))
    elif isinstance(expr, (sp.log, sp.gamma, sp.loggamma)) and len(expr.args) == 1:
        name = type(expr).__name__
        got = getattr(iv, "ln" if name == "log" else name)(
            _above_zero(_enclose(expr.args[0], iv), f"the argument of {name}", strict=True))
    elif isinstance(expr, sp.Abs):
        got = abs(_enclose(expr.args[0], iv))
    elif isinstance(expr, sp.Function) and not (through_exp := expr.rewrite(sp.exp)).has(type(expr)):
        return _enclose(through_exp, iv)  # tanh, sinh, cosh…
    else:
        raise _NoRule(f"${sp.latex(expr)}$")
    if not all(mpmath.isfinite(end) for end in _ends(got)):
        raise _TooWide(f"the enclosure of ${sp.latex(expr)}$ is unbounded")
    return got


@dataclasses.dataclass(frozen=True)
class _Enclosed:
    """The slack enclosed at ``digits`` digits, and each side where it could be (exact pairs [low, high] of
    mpmath numbers; a side is for the reader, the slack decides)."""

    digits: int
    lhs: tuple[Any, Any] | None
    rhs: tuple[Any, Any] | None
    slack: tuple[Any, Any]
    verdict: str | None


def _enclosure_or_none(expr: Any, iv: Any) -> tuple[Any, Any] | None:
    try:
        return _ends(_enclose(expr, iv))
    except (_NoRule, _TooWide):
        return None


def _enclose_until_settled(relation: str, sides: tuple[Any, Any], slacks: list[Any], *,
                           settle: bool = True) -> tuple[_Enclosed | None, str]:
    """The slack in interval arithmetic from ``_FIRST_DIGITS`` digits, doubling until its enclosure settles the
    verdict or ``_LAST_DIGITS`` is passed (one precision only, unless ``settle``). ``slacks`` are equal forms of
    it (as written, as simplified: SymPy's exact cancellations spare the enclosure a loss of digits), tried in
    turn. Returns the last enclosure (``None`` if none could be had) and, where none settled it, why."""
    from mpmath import iv

    saved = iv.prec
    last, problems = None, [""] * len(slacks)
    digits = _FIRST_DIGITS
    try:
        while digits <= _LAST_DIGITS:
            iv.dps = digits
            for k, slack in enumerate(slacks):
                if problems[k].startswith("interval arithmetic has no rule"):
                    continue
                try:
                    ends = _ends(_enclose(slack, iv))
                except _NoRule as exc:
                    problems[k] = (f"interval arithmetic has no rule for {exc} (it encloses +, −, ×, ÷, powers, exp, "
                                   "log, sin, cos, tan, gamma, |·|, π, e and γ of real numbers)")
                    continue
                except _TooWide as exc:
                    problems[k] = f"{exc} at {digits} digits"
                    continue
                last = _Enclosed(digits, *(_enclosure_or_none(side, iv) for side in sides), ends,
                                 _settled(relation, *ends))
                if last.verdict is not None:
                    return last, ""
                problems[k] = f"its enclosure still contains 0 at {digits} digits"
            if not settle or all(p.startswith("interval arithmetic has no rule") for p in problems):
                break
            digits *= 2
    finally:
        iv.prec = saved
    return last, problems[0]  # why the difference as written is not settled (what simplify left is a second try)


def _mid(pair: tuple[Any, Any], digits: int) -> Any:
    import mpmath

    with mpmath.workdps(digits + 10):
        return (pair[0] + pair[1]) / 2


def _shown_digits(enclosed: _Enclosed) -> int:
    """Enough significant digits to show where two close sides part (pi and 355/113 at the 7th), at least 20."""
    import mpmath

    with mpmath.workdps(enclosed.digits):
        scale = max([abs(_mid(p, enclosed.digits)) for p in (enclosed.lhs, enclosed.rhs) if p is not None] or [0])
        slack = abs(_mid(enclosed.slack, enclosed.digits))
        agree = 0 if slack == 0 or scale == 0 else max(0, int(mpmath.floor(mpmath.log10(scale / slack))))
    return min(max(20, agree + 8), enclosed.digits - 5)


def _number_text(value: Any, enclosure: tuple[Any, Any] | None, enclosed: _Enclosed | None) -> str:
    """A constant for a reader: as SymPy writes it, with its decimal digits where it is enclosed and not an integer
    (``pi ≈ 3.1415926535897932385``, ``1023/1024 = 0.9990234375``)."""
    import mpmath
    import sympy as sp

    if enclosure is None or enclosed is None or value.is_Integer:
        return str(value)
    decimal = mpmath.nstr(_mid(enclosure, enclosed.digits), _shown_digits(enclosed))
    return f"{value} {'=' if value.is_Rational and sp.Rational(decimal) == value else '≈'} {decimal}"


def _measured(value: Any) -> Any:
    """A number for the Pair line: an int or float where a float shows it, else its digits."""
    import mpmath

    if getattr(value, "is_Integer", False):
        return int(value)
    as_float = float(value)
    if as_float != 0.0 and abs(as_float) != float("inf"):
        return as_float
    return str(value) if getattr(value, "is_Rational", False) else mpmath.nstr(value, 6)


def _exact_value(diff: Any, seconds: float) -> tuple[Any, str, list[str], Any]:
    """SymPy's exact value of ``diff`` where one of :func:`_steps` reduces it to a rational number: ``(value or
    None, how, steps that ran out of time, what simplify left)``."""
    if diff.is_Rational:
        return diff, "exact arithmetic", [], diff
    timed_out: list[str] = []
    residual = None
    for how, step in _steps():
        try:
            got = _time_limited(lambda step=step: step(diff), seconds)
        except _OutOfTime:
            timed_out.append(how)
            continue
        except Exception:  # noqa: BLE001 - SymPy could not do this step: try the next
            continue
        residual = got if residual is None else residual
        if got.is_Rational:
            return got, how, timed_out, got
    return None, "", timed_out, diff if residual is None else residual


def _not_a_number(relation: str, lhs: Any, rhs: Any) -> str:
    """Why the two sides cannot be compared (a side undefined, infinite, or not real in an inequality), or ''."""
    import sympy as sp

    for side, name in ((lhs, "left side"), (rhs, "right side")):
        if side.has(sp.nan, sp.zoo, sp.oo, sp.S.NegativeInfinity):
            return f"the {name} ${sp.latex(side)}$ is not a finite number"
        if relation != "=" and side.is_extended_real is False:
            return f"the {name} ${sp.latex(side)}$ is not a real number (an inequality compares real numbers)"
    return ""


def _decide_constants(formula: Formula, seconds: float) -> Outcome:
    """The verdict on a formula without symbols: SymPy's exact value of the difference where it reduces it to a
    rational number, else the sign of its interval enclosure; ``inconclusive`` with why where neither settles it.
    Never a floating-point comparison."""
    import sympy as sp

    lhs, rhs, _ = formula.sympy_sides(interior=False)
    decimals = sorted(lhs.atoms(sp.Float) | rhs.atoms(sp.Float), key=str)
    lhs, rhs = _exact_decimals(lhs), _exact_decimals(rhs)
    words, slack = _slack(formula.relation, lhs, rhs)
    rel = {"=": "=", "<=": ">=", ">=": ">=", "<": ">", ">": ">"}[formula.relation]
    evidence: dict[str, Any] = {"constants": _CONSTANTS_NOTE}
    if decimals:
        evidence["decimals"] = ("read as the numbers written: " +
                                ", ".join(f"${sp.latex(f)} = {sp.latex(_exact_decimals(f))}$" for f in decimals))
    broken = _not_a_number(formula.relation, lhs, rhs)
    if broken:
        return Outcome("inconclusive", evidence, why=f"the claim is about constants, but {broken}")
    exact, how, timed_out, residual = _exact_value(slack, seconds)
    limit = (f"; SymPy ran out of time ({seconds:g} CPU s) on: {', '.join(timed_out)}" if timed_out else "")
    slacks = [slack] + ([residual] if residual != slack else [])
    try:
        enclosed, problem = _time_limited(
            lambda: _enclose_until_settled(formula.relation, (lhs, rhs), slacks, settle=exact is None), seconds)
    except _OutOfTime:
        enclosed, problem = None, f"interval arithmetic ran out of time ({seconds:g} CPU s)"
    if exact is not None:
        verdict = _settled(formula.relation, exact, exact)
        evidence["SymPy"] = {"verdict": "decided exactly", "how": f"SymPy: {how} of {words} gives ${sp.latex(exact)}$"}
    else:
        evidence["SymPy"] = {"verdict": "no exact value", "difference after simplification": f"${sp.latex(residual)}$",
                             **({"ran out of time": f"{', '.join(timed_out)} (limit {seconds:g} CPU s each)"}
                                if timed_out else {})}
        verdict = None if enclosed is None else enclosed.verdict
        if enclosed is not None:
            evidence["interval arithmetic"] = {
                "digits": enclosed.digits,
                f"{words} lies in (ends to 12 digits)": "[" + ", ".join(_decimal(e) for e in enclosed.slack) + "]",
                "settles it": "yes" if verdict else "no: the enclosure contains 0"}
    shown = {"left side": _number_text(lhs, enclosed and enclosed.lhs, enclosed),
             "right side": _number_text(rhs, enclosed and enclosed.rhs, enclosed)}
    evidence["values"] = {f"left side ${sp.latex(lhs)}$": shown["left side"],
                          f"right side ${sp.latex(rhs)}$": shown["right side"]}
    if verdict is None:
        return Outcome("inconclusive", evidence,
                       why=(f"the claim is about constants (no symbols, so no search); SymPy could not reduce "
                            f"{words} to an exact number{limit}, and {problem}, so its sign is not certain and no "
                            "verdict is given" + (" (the two sides agree to every digit computed; they may be equal, "
                                                  "which only a proof can show)" if "contains 0" in problem else "")))
    if exact is None:
        mid = _mid(enclosed.slack, enclosed.digits)
        value = _decimal(mid)
        how_known = (f"(interval arithmetic at {enclosed.digits} digits encloses it "
                     f"{'above' if mid > 0 else 'below' if mid < 0 else 'at'} 0, so no rounding can account for it)")
        pair = Pair(words, _measured(mid), 0, rel, note=f"interval arithmetic at {enclosed.digits} digits")
    else:
        value, how_known = str(exact), "exactly (SymPy)"
        pair = Pair(words, _measured(exact), 0, rel, note="exact, SymPy")
    if verdict == "holds":
        return Outcome("holds", evidence, pair=pair)
    counter = dict(shown)
    if formula.relation == "=":
        counter["left − right"] = value
        explained = f"The two sides are different numbers: left − right = {value} {how_known}."
    elif (exact == 0) if exact is not None else (enclosed.slack[0] == enclosed.slack[1] == 0):
        by = "SymPy, exact arithmetic" if exact == 0 else "interval arithmetic"
        explained = f"Both sides are exactly equal ({by}), so the strict inequality {formula.relation} fails."
    else:
        explained = f"The inequality is violated: {words} = {value} < 0 {how_known}."
    return Outcome("refuted", evidence, counterexample=counter, counterexample_explained=explained, pair=pair)


def _decimal(value: Any, digits: int = 12) -> str:
    import mpmath

    return mpmath.nstr(value, digits)


# ====================================================================== the builders


def _latex(expr: Any) -> str:
    import sympy as sp

    return sp.latex(expr)


def _statement(formula: Formula, suffix: str = "") -> str:
    rel = {"=": "="} | _OP_LATEX
    where = ", ".join(f"${dom.latex(name)}$" for name, dom in formula.domains.items())
    text = f"${_latex(formula.lhs)} {rel[formula.relation]} {_latex(formula.rhs)}$" + (f" for {where}" if where else "")
    return text + suffix


def _define(claim_id: Any, build: Callable[[], Claim]) -> Claim | None:
    """Build and register; a definition error raises (or, while a claims file loads, is recorded)."""
    if not isinstance(claim_id, str) or not claim_id:
        definition_failed(None, f"a claim id must be a non-empty string; got {claim_id!r}")
        return None
    try:
        c = build()
    except (ValueError, TypeError) as exc:
        definition_failed(claim_id, str(exc))
        return None
    return register(c)


def _common_checks(source: Any) -> None:
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"source= must say where the claim comes from (notes' title and slide, or a paper); "
                         f"got {source!r}")


def _origin() -> str:
    return _caller_module(2) if _LOADING.get() is None else ""


def identity(claim_id: str, lhs: Any, rhs: Any, *, where: Mapping[str, str] | None = None, source: str,
             title: str = "", statement: str = "", topic: str = "", kind: str = "identity", corrected: Any = None,
             explanation: str = "", corrected_tex: str = "", sides: tuple[str, str] = ("left side", "right side"),
             examples: int | None = None, sympy_seconds: float = SYMPY_SECONDS) -> Claim | None:
    r"""Register the claim ``lhs = rhs`` for every point of the domains in ``where``; return the :class:`Claim`.

    ``lhs``, ``rhs``: SymPy strings (``"tanh(x)"``, ``"Sum(i**2, (i, 1, t))"``, ``^`` read as ``**``) or SymPy
    expressions; ``where``: each symbol's domain (:mod:`verify.claims.domains`: ``"real"``, ``"(0, 1)"``,
    ``"integer >= 1"``, ``"simplex(3)"``…; vector components are ``p[1]`` … ``p[n]``); ``source``: where the
    claim comes from; ``topic`` groups claims in a report (default: the id's first part, ``"notes"`` for
    ``"notes.tanh"``). ``kind="as-written"`` marks a formula quoted from notes, whose refutation is a finding
    about the notes rather than a failure; ``corrected`` (with ``explanation`` in words) is the right-hand
    side it should have, itself checked and shown only if it holds (``corrected_tex``: how to typeset it,
    default SymPy's LaTeX). ``sides`` names the two sides in a counterexample; ``title`` and ``statement``
    (LaTeX between ``$``) default to the formula as written.

    A formula without symbols is a claim about constants: leave ``where`` out (or give ``None`` or ``{}``); it
    is decided exactly, by SymPy or by interval arithmetic, with no search (see the module docstring), and
    a refutation shows both sides and their difference with the digits that decide it.

    Raises ``ValueError`` (:class:`ClaimDefinitionError`) naming the claim for an expression that does not
    parse, a symbol without a domain (``where=`` left out for a formula with symbols: "where= must map every
    symbol to its domain…"), a ``where`` that is not a mapping, an unknown domain or a duplicate id (while a
    claims file loads, the error is recorded instead).

    >>> from verify import claims
    >>> claims.run_claim(claims.identity("doc.geometric", "Sum(1/2**k, (k, 1, 10))", "1023/1024",
    ...                                  source="a worked example")).verdict
    'holds'
    >>> record = claims.run_claim(claims.identity("doc.geometric_wrong", "Sum(1/2**k, (k, 1, 10))", "1",
    ...                                           source="a worked example"))
    >>> record.verdict, record.counterexample["left − right"]
    ('refuted', '-1/1024')
    >>> for cid in ("doc.geometric", "doc.geometric_wrong"):
    ...     claims.unregister(cid)
    """
    origin = _origin()

    def build() -> Claim:
        _common_checks(source)
        formula = _build_formula(claim_id, lhs, "=", rhs, where)
        fix = _correction_formula(claim_id, formula, corrected, explanation, corrected_tex)
        return _claim(formula, statement or _statement(formula), source, title or _plain(lhs, "=", rhs), topic, kind,
                      fix, examples, sympy_seconds, origin, sides=sides)

    return _define(claim_id, build)


def inequality(claim_id: str, lhs: Any, op: str, rhs: Any, *, where: Mapping[str, str] | None = None,
               source: str, title: str = "", statement: str = "", topic: str = "", kind: str = "inequality",
               corrected: Any = None, explanation: str = "", corrected_tex: str = "",
               sides: tuple[str, str] = ("left side", "right side"), examples: int | None = None,
               sympy_seconds: float = SYMPY_SECONDS) -> Claim | None:
    r"""Register the claim ``lhs op rhs`` (``op`` one of ``"<="``, ``"<"``, ``">="``, ``">"``, ``"≤"``, ``"≥"``) on
    the domains in ``where``; the rest as :func:`identity` (``corrected`` is a corrected right-hand side).

    Between constants (no symbols, ``where`` left out) the sign of the difference is settled exactly — by
    SymPy, or by an interval enclosure at as many digits as it takes — never by floating point: $\pi$ and
    355/113 part at the 7th digit. Raises ``ValueError`` as :func:`identity`, and for an unknown ``op``.

    >>> from verify import claims
    >>> claims.run_claim(claims.inequality("doc.pi_below", "pi", "<", "355/113", source="Zu Chongzhi")).verdict
    'holds'
    >>> record = claims.run_claim(claims.inequality("doc.pi_above", "pi", ">", "355/113", source="Zu Chongzhi"))
    >>> record.verdict, record.counterexample
    ('refuted', {'left side': 'pi ≈ 3.1415926535897932385', 'right side': '355/113 ≈ 3.1415929203539823009'})
    >>> for cid in ("doc.pi_below", "doc.pi_above"):
    ...     claims.unregister(cid)
    """
    origin = _origin()

    def build() -> Claim:
        _common_checks(source)
        if op not in _OPS:
            raise ValueError(f"op must be one of {sorted(_OPS)}; got {op!r}")
        formula = _build_formula(claim_id, lhs, _OPS[op], rhs, where)
        fix = _correction_formula(claim_id, formula, corrected, explanation, corrected_tex)
        return _claim(formula, statement or _statement(formula), source, title or _plain(lhs, op, rhs), topic, kind,
                      fix, examples, sympy_seconds, origin, sides=sides)

    return _define(claim_id, build)


def derivative(claim_id: str, *, as_written: Any, of: Any, wrt: str, where: Mapping[str, str], source: str,
               title: str = "", statement: str = "", topic: str = "", kind: str = "as-written",
               corrected: Any = None, explanation: str = "", corrected_tex: str = "",
               examples: int | None = None, sympy_seconds: float = SYMPY_SECONDS) -> Claim | None:
    r"""Register the claim $\partial(\text{of})/\partial(\text{wrt}) = \text{as\_written}$ on the domains in ``where``.

    The reference is ``sympy.diff(of, wrt)``; when the formula as written is refuted, the correction shown
    is that derivative, simplified — or ``corrected`` (with ``explanation``, typeset as ``corrected_tex``)
    when given — itself checked against ``sympy.diff`` by the same machinery. ``kind`` defaults to
    ``"as-written"``: a derivative quoted from notes. Errors as :func:`identity`.
    """
    origin = _origin()

    def build() -> Claim:
        import sympy as sp

        _common_checks(source)
        if not isinstance(wrt, str) or wrt not in (where or {}):
            raise ValueError(f"wrt={wrt!r} must name a symbol of where= ({sorted(where or {})})")
        probe = _build_formula(claim_id, as_written, "=", of, where)
        if probe.domains[wrt].is_vector or probe.domains[wrt].kind == "integer":
            raise ValueError(f"wrt={wrt!r}: a derivative needs a real scalar variable; its domain is "
                             f"{probe.domains[wrt].text!r}")
        truth = sp.simplify(sp.diff(probe.rhs, probe.symbols[wrt]))
        formula = dataclasses.replace(probe, rhs=truth)
        of_tex = sp.latex(probe.rhs)
        if probe.rhs.is_Add or probe.rhs.could_extract_minus_sign():
            of_tex = rf"\left({of_tex}\right)"
        d_dw = rf"\frac{{\partial}}{{\partial {sp.latex(probe.symbols[wrt])}}} {of_tex}"
        if corrected is None:
            if explanation or corrected_tex:
                raise ValueError("explanation= or corrected_tex= is given without corrected=")
            fix = (f"{d_dw} = {sp.latex(truth)}", dataclasses.replace(formula, lhs=truth),
                   f"The derivative of ${sp.latex(probe.rhs)}$ with respect to ${sp.latex(probe.symbols[wrt])}$ is "
                   f"${sp.latex(truth)}$ (SymPy's diff, simplified); the formula as written differs from it.")
        else:
            if not explanation:
                raise ValueError("corrected= needs explanation= (a sentence saying what was wrong)")
            fixed_lhs = _parse(claim_id, corrected, "corrected derivative", probe.symbols)
            fix = (corrected_tex or f"{d_dw} = {sp.latex(fixed_lhs)}", dataclasses.replace(formula, lhs=fixed_lhs),
                   explanation)
        where_text = ", ".join(f"${dom.latex(name)}$" for name, dom in probe.domains.items())
        text = statement or (rf"${d_dw} = "
                             rf"{sp.latex(probe.lhs)}$ for {where_text}")
        plain = f"d/d{wrt} [{of}] = {as_written}"
        return _claim(formula, text, source, title or plain, topic, kind, fix, examples, sympy_seconds, origin,
                      reference=f"${sp.latex(truth)}$", sides=("as written there", "right derivative there"))

    return _define(claim_id, build)


def _plain(lhs: Any, op: str, rhs: Any) -> str:
    return f"{lhs} {op} {rhs}"


def _correction_formula(claim_id: str, formula: Formula, corrected: Any, explanation: str,
                        corrected_tex: str = "") -> tuple[str, Formula, str] | None:
    if corrected is None:
        if explanation or corrected_tex:
            raise ValueError("explanation= or corrected_tex= is given without corrected=")
        return None
    if not explanation:
        raise ValueError("corrected= needs explanation= (a sentence saying what was wrong)")
    fixed_rhs = _parse(claim_id, corrected, "corrected right-hand side", formula.symbols,
                       exact_decimals=_is_constant(formula))
    fixed = dataclasses.replace(formula, rhs=fixed_rhs)
    rel = {"=": "="} | _OP_LATEX
    return corrected_tex or f"{_latex(formula.lhs)} {rel[formula.relation]} {_latex(fixed_rhs)}", fixed, explanation


def _claim(formula: Formula, statement: str, source: str, title: str, topic: str, kind: str,
           fix: tuple[str, Formula, str] | None, examples: int | None, sympy_seconds: float, origin: str,
           reference: str = "", sides: tuple[str, str] = ("left side", "right side")) -> Claim:
    if not (isinstance(sides, tuple) and len(sides) == 2 and all(isinstance(x, str) and x for x in sides)):
        raise ValueError(f"sides= must be two names (left, right); got {sides!r}")

    def check(ctx: Context) -> Outcome:
        out = decide(formula, ctx, sympy_seconds=sympy_seconds, examples=examples)
        if reference:
            out.evidence["right derivative"] = reference
        if out.counterexample is not None and sides != ("left side", "right side"):
            out.counterexample[sides[0]] = out.counterexample.pop("left side")
            out.counterexample[sides[1]] = out.counterexample.pop("right side")
            if "left − right" in out.counterexample:
                out.counterexample["difference"] = out.counterexample.pop("left − right")
        if out.verdict == "refuted" and fix is not None:
            tex, fixed, words = fix
            fixed_ctx = dataclasses.replace(ctx, seed=ctx.seed)
            checked = decide(dataclasses.replace(fixed, claim_id=formula.claim_id + ".corrected"), fixed_ctx,
                             sympy_seconds=sympy_seconds, examples=examples)
            out.correction = Correction(tex, words, check=checked,
                                        checked_by="the same exact decision about constants" if _is_constant(fixed)
                                        else "the same SymPy proof and counterexample search")
            out.corrected = tex
        return out

    return Claim(id=formula.claim_id, statement=statement, source=source, kind=kind, check=check,
                 topic=topic or formula.claim_id.split(".")[0], title=title, origin=origin)

