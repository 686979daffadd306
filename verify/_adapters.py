"""What ``verify.torch`` and ``verify.jax`` share: the loop over the differentiated inputs, forward mode
probed before it is checked, failures renamed after the input, and the report.

A framework adapter provides, per differentiated input ("slot"), a *call* object with ``name``,
``reference(*arrays)`` (the function at the judge's points, float64 there), ``vjp(u, *arrays)`` and
``jvp(v, *arrays)`` (the framework's own derivatives at the inputs' dtypes), ``widened()`` (the call with
every floating input at float64: the same derivatives, the same code), ``no_path`` ("" or, when the framework found
no dependence of the output on the input and took its derivative as zeros, what it reported), ``detached(evidence)``
(where ``no_path`` can be set: the error's text when the output's values do change with such an input, the function
having left the framework's graph),
and ``unsupported``: the exception types and the words (lower case) by which an exception of its forward mode means
"not supported by this function".

The float64 twins measure the rounding of a float32 derivative: the checkers count ``|d₃₂ − d₆₄|`` of the
same code at the same point as the float32 derivative's rounding (:class:`verify.checks._probes.Computed`),
where the judge's own terms do not suffice. That is what PyTorch's and JAX's float32 gelu backward needs at
``x = −5``: ``Φ(x) = ½(1 + erf(x/√2))`` keeps one significant bit in float32 (0.3 % of the derivative), a
rounding no perturbation of the point shows (erf is constant over 40,000 float32 ULPs of ``x``). A wrong
rule is wrong at float64 too, where its twin agrees with it, so this excuses no mistake — only the precision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np

from verify.checks.failure import CheckFailure

__all__ = ["SlotReport", "AdapterReport", "Slot", "WithFloat64", "JudgeOptions", "check_slots", "judge_options",
           "differentiated", "refuse_non_finite_inputs"]


def _first(report: Any) -> str:
    """A checker's report in one line: its headline, the share of entries verified, the worst error, the
    references (its first four lines)."""
    return "; ".join(line.strip() for line in str(report).splitlines()[:4])


def _mode_lines(mode: str, report: Any, not_judged: int = 0) -> list[str]:
    """One mode's report in a slot: its first lines (the share of entries verified among them; ``not_judged`` of
    them, where ``f`` jumps, the mode's own count takes for verified), then the judge's notes (the reasons and remedies
    of unverified entries among them), which a one-line summary would drop."""
    jumped = [f"    {not_judged} of its entries NOT judged: f is not continuous there (jumps='allow')"] if not_judged else []
    return [f"  {mode}: " + _first(report), *jumped, *(f"    note: {note}" for note in report.notes)]


@dataclass(frozen=True)
class SlotReport:
    """One differentiated input or parameter: its reverse-mode report (:class:`verify.VJPReport`), and its
    forward-mode report (:class:`verify.JVPReport`) or why there is none (``forward``). With ``jumps="allow"``:
    ``jumps``, the entries of the input (indices in its shape) along which the function is not continuous at the
    point, and ``vjp_jumps`` / ``jvp_jumps``, the entries of each mode's views left unjudged there (counted in
    ``entries``, never as verified)."""

    name: str
    shape: tuple
    dtype: str
    vjp: Any
    jvp: Any | None
    forward: str
    jumps: tuple[tuple[int, ...], ...] = ()
    vjp_jumps: int = 0
    jvp_jumps: int = 0

    @property
    def not_differentiable(self) -> int:
        """Entries of both modes' views not judged because ``f`` jumps there (``jumps="allow"``)."""
        return self.vjp_jumps + self.jvp_jumps

    @property
    def entries(self) -> int:
        """Entries judged over every scalar view of both modes (:attr:`verify.VJPReport.entries`)."""
        return sum(r.entries for r in (self.vjp, self.jvp) if r is not None)

    @property
    def unverified(self) -> int:
        """Entries no reference could resolve, over both modes (their reasons are in the modes' notes)."""
        return sum(int(r.unverified) for r in (self.vjp, self.jvp) if r is not None)

    def __str__(self) -> str:
        forward = (_mode_lines("forward mode", self.jvp, self.jvp_jumps) if self.jvp is not None
                   else [f"  forward mode: {self.forward}"])
        lines = [f"{self.name} {self.shape} {self.dtype}:", *_mode_lines("reverse mode", self.vjp, self.vjp_jumps),
                 *forward]
        if self.not_differentiable:
            where = ", ".join(f"{self.name}{list(j)}" for j in self.jumps) or "along a tangent's line only"
            lines.append(f"  NOT DIFFERENTIABLE (f is not continuous there; allowed by jumps='allow'): {where}")
        return "\n".join(lines)


@dataclass(frozen=True)
class AdapterReport:
    """What an adapter's checker verified: one :class:`SlotReport` per differentiated input or parameter
    (``report["fc.weight"]``, ``report["inputs[0]"]``), notes (copies made, forward mode missing, how to get a verdict
    on unverified entries), seconds. ``entries`` counts the entries judged over every slot, mode and scalar view,
    ``unverified`` those no reference could resolve (each mode's notes give the reasons and remedies),
    ``not_differentiable`` those where ``f`` jumps (with ``jumps="allow"``; each slot's ``jumps`` names the input's
    entries), ``verified`` the rest; the first line of the text says so: ``"… passed: 48 of 50 entries verified,
    2 UNVERIFIED (…)"``."""

    checker: str
    slots: tuple[SlotReport, ...]
    notes: tuple[str, ...]
    seconds: float

    def __getitem__(self, name: str) -> SlotReport:
        for slot in self.slots:
            if slot.name == name:
                return slot
        raise KeyError(f"{name!r} was not checked; checked: {[s.name for s in self.slots]}")

    @property
    def forward_checked(self) -> int:
        return sum(s.jvp is not None for s in self.slots)

    @property
    def entries(self) -> int:
        """Entries judged over every slot, mode and scalar view."""
        return sum(s.entries for s in self.slots)

    @property
    def unverified(self) -> int:
        """Entries no reference could resolve (counted in ``entries``; never failures, never passes)."""
        return sum(s.unverified for s in self.slots)

    @property
    def not_differentiable(self) -> int:
        """Entries left unjudged because ``f`` jumps there (declared with ``jumps="allow"``; counted in ``entries``)."""
        return sum(s.not_differentiable for s in self.slots)

    @property
    def verified(self) -> int:
        return max(self.entries - self.unverified - self.not_differentiable, 0)

    def headline(self) -> str:
        """``"passed: 16 of 28 entries verified, 12 unverified (…)"``: what passing means here, in one line."""
        share = f"{self.verified} of {self.entries} entries verified"
        if self.unverified:
            share += (f", {self.unverified} UNVERIFIED (no reference could resolve them; the reasons and remedies are "
                      "in the notes)")
        if self.not_differentiable:
            share += f", {self.not_differentiable} NOT DIFFERENTIABLE (f jumps there; allowed by jumps='allow')"
        return (f"{self.checker} passed: {share}; {len(self.slots)} input(s)/parameter(s) in {self.seconds:.3g} s "
                f"(reverse mode for all, forward mode for {self.forward_checked})")

    def __str__(self) -> str:
        lines = [self.headline()]
        for slot in self.slots:
            lines.extend("  " + line for line in str(slot).splitlines())
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


@dataclass(frozen=True)
class Slot:
    """A differentiated argument: its index in ``arrays``, its name, its call object, and whether the
    caller's own tensor required grad (a note says when a copy that does was made)."""

    index: int
    name: str
    call: Any
    requires_grad: bool = True


class JudgeOptions(TypedDict, total=False):
    """The keyword options an adapter passes on, as they are, to :func:`verify.check_vjp` and
    :func:`verify.check_jvp`: documented there, and their defaults are theirs (an adapter restates none)."""

    directions: int
    seed: int
    jacobian_max: int
    ulps: float
    atol: float
    worst: int


_INTEGER_OPTIONS = {"directions": 1, "seed": 0, "jacobian_max": 0, "worst": 1}  # the least value each takes
_NUMBER_OPTIONS = ("ulps", "atol")


def judge_options(checker: str, options: dict[str, Any]) -> JudgeOptions:
    """``options`` (an adapter's ``**options``) when each is one of :class:`JudgeOptions` with a value of its type and
    range, else an error that names the checker called, the option and the value: a TypeError for an unknown keyword
    or a value of the wrong type (``directions="3"``), a ValueError for one out of range (``ulps=-1``).

    >>> judge_options("verify.torch.check_function", {"ulps": 64.0})
    {'ulps': 64.0}
    >>> judge_options("verify.torch.check_function", {"ulp": 64.0})
    Traceback (most recent call last):
    TypeError: verify.torch.check_function got an unexpected keyword argument 'ulp'; its options for check_vjp and check_jvp: directions, seed, jacobian_max, ulps, atol, worst
    >>> judge_options("verify.jax.check_function", {"directions": "3"})
    Traceback (most recent call last):
    TypeError: verify.jax.check_function: directions must be an integer >= 1; got '3' (a str)
    """
    for name, value in options.items():
        if name not in JudgeOptions.__annotations__:
            raise TypeError(f"{checker} got an unexpected keyword argument {name!r}; its options for check_vjp and "
                            f"check_jvp: {', '.join(JudgeOptions.__annotations__)}")
        if name in _INTEGER_OPTIONS:
            what = f"an integer >= {_INTEGER_OPTIONS[name]}"
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{checker}: {name} must be {what}; got {value!r} (a {type(value).__name__})")
            if value < _INTEGER_OPTIONS[name]:
                raise ValueError(f"{checker}: {name} must be {what}; got {value!r}")
        elif name in _NUMBER_OPTIONS:
            what = "a finite number >= 0"
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"{checker}: {name} must be {what}; got {value!r} (a {type(value).__name__})")
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{checker}: {name} must be {what}; got {value!r}")
    return JudgeOptions(**options)


def refuse_non_finite_inputs(checker: str, named: Sequence[tuple[str, Any]]) -> None:
    """The checkers' rule for a user's point (:func:`verify._validate.refuse_non_finite`) on a framework's inputs,
    under the adapter's name: a NaN in any floating input is a ``ValueError`` naming the input and its index; ±inf is
    allowed (``f`` may be finite there, a masked logit). A torch tensor or jax array is viewed as a NumPy array; a
    value that has none (a bfloat16 tensor, a non-array) is left to the adapter's type checks."""
    from verify._validate import refuse_non_finite

    for name, value in named:
        try:
            array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        except (TypeError, ValueError, RuntimeError):
            continue
        refuse_non_finite(checker, name, array, allowed_infinities=(-np.inf, np.inf))


def differentiated(checker: str, wrt: object, floating: Sequence[bool], kind: str,
                   why_not: Callable[[int], str]) -> list[int]:
    """The indices of the inputs to check: ``wrt`` (an index or a sequence of them, each a floating input) or,
    when it is None, every floating input. ``kind`` names what a floating input is ("tensor", "array");
    ``why_not(i)`` says why input ``i`` cannot be differentiated."""
    if wrt is None:
        indices = [i for i, f in enumerate(floating) if f]
        if not indices:
            raise TypeError(f"{checker}: no float32/float64 {kind} among the inputs; there is nothing to differentiate")
        return indices
    if isinstance(wrt, (int, np.integer)) and not isinstance(wrt, bool):
        indices = [wrt]
    elif isinstance(wrt, (Sequence, np.ndarray)) and not isinstance(wrt, (str, bytes)):
        indices = list(wrt)
    else:
        raise TypeError(f"{checker}: wrt must be an input's index or a sequence of them; got {wrt!r} "
                        f"(a {type(wrt).__name__})")
    if not indices:
        raise ValueError(f"{checker}: wrt=[] names no input, so nothing would be checked; give at least one index "
                         "(or leave wrt=None for every float input)")
    for i in indices:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"{checker}: wrt holds {i!r} (a {type(i).__name__}); an input's index is an integer")
        if not 0 <= i < len(floating):
            raise ValueError(f"{checker}: wrt={i!r} is not an index of the {len(floating)} inputs")
        if not floating[i]:
            raise TypeError(f"{checker}: inputs[{i}] {why_not(i)}")
    return indices


def _says_unsupported(exc: Exception, unsupported: tuple[tuple[type, ...], tuple[str, ...]]) -> bool:
    """Whether ``exc`` is one of the types and its message holds one of the words of ``unsupported``."""
    types, words = unsupported
    text = str(exc).lower()
    return isinstance(exc, types) and any(word in text for word in words)


def _forward_support(slot: Slot, arrays: tuple, checker: str) -> str:
    """"" when forward mode runs at the point, else "forward mode not supported by this function (…)"."""
    x = np.asarray(arrays[slot.index])
    try:
        slot.call.jvp(np.full(x.shape, 0.75, dtype=x.dtype), *arrays)
    except Exception as exc:  # noqa: BLE001 - classified by the adapter; anything else is re-raised
        text = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if _says_unsupported(exc, slot.call.unsupported):
            return f"forward mode not supported by this function ({text[:200]})"
        raise ValueError(f"{checker}: forward-mode AD of {slot.name} raised {text}") from exc
    return ""


class WithFloat64:
    """A derivative under test, ``rule(direction, *arrays)`` at the inputs' dtypes, with its float64 twin as
    ``.float64`` (the same code at float64), which :class:`verify.checks._probes.Computed` uses to measure the
    rounding of a float32 derivative."""

    def __init__(self, rule: Callable[..., np.ndarray], float64: Callable[..., np.ndarray]) -> None:
        self.rule = rule
        self.float64 = float64

    def __call__(self, direction: np.ndarray, *arrays: Any) -> np.ndarray:
        return self.rule(direction, *arrays)


_MODES = {"vjp": "the reverse-mode (backward)", "jvp": "the forward-mode (jvp)"}


def _jumped(failure: CheckFailure) -> bool:
    """The judge found ``f`` not continuous at the point along some entry of the view that failed."""
    return bool(np.any(failure.details.get("jumps", False)))


def _rename(failure: CheckFailure, checker: str, name: str, mode: str, jumps_allowed: bool = False) -> CheckFailure:
    """A checker's failure headed by the slot and the mode. With ``jumps_allowed`` the judge fails only entries where
    ``f`` is continuous, though the checker's own first line may still speak of the jumps it was told to allow."""
    details = dict(failure.details)
    details.update({"slot": name, "mode": mode})
    if jumps_allowed and _jumped(failure):
        return CheckFailure(f"{checker}: {mode} derivative w.r.t. {name} is wrong at entries where the function is "
                            "continuous (where it jumps, allowed by jumps='allow', nothing is judged: the 'not "
                            f"continuous' below names those entries, not the failing ones).\n{failure}", details=details)
    if _jumped(failure):
        return CheckFailure(f"{checker}: the function is not continuous at the point along {name}, so {mode} "
                            f"derivative cannot be right there.\n{failure}", details=details)
    return CheckFailure(f"{checker}: {mode} derivative w.r.t. {name} is wrong.\n{failure}", details=details)


def _evidence(failure: CheckFailure, name: str, shape: tuple) -> str:
    """Where the judge saw the output change, from a failure's details: the entry of the view judged (the output
    projected on a cotangent, or one of its entries) whose derivative is furthest from the zeros taken, and the
    reference that measured it."""
    d = failure.details
    expected = np.asarray(d.get("expected", np.nan), dtype=np.float64)
    ratio = np.nan_to_num(np.asarray(d.get("ratio", 0.0), dtype=np.float64), nan=0.0)
    j = int(np.argmax(ratio)) if ratio.size == expected.size else 0
    where = f" along {name}{[int(i) for i in np.unravel_index(j, shape)]}" if expected.shape == shape else ""
    return (f"the judge measures, by {d.get('reference', 'its reference')}, a derivative of "
            f"{float(expected.flat[j]):.6g}{where} where autodiff's is 0")


def _refused(failure: CheckFailure, checker: str, slot: Slot, kind: str, arrays: tuple,
             jumps_allowed: bool = False) -> Exception:
    """What a failed check of ``slot`` raises: the failure renamed after the slot and the mode, or, where the
    framework found no path from the input to the output (its derivative taken as zeros) and the values of the output
    change with it all the same, a ValueError saying that the function leaves the framework's graph. Not a
    CheckFailure: the derivative is missing, not computed wrongly, and the remedy lies in the function's code; not a
    TypeError: the function and its output have the right types, and what is wrong shows in the output's values (as
    for an ``f`` that is not deterministic, which check_vjp refuses with a ValueError). A jump
    stays a jump (zeros are right on either side of a step), unless ``jumps_allowed``: then the judge failed entries
    where ``f`` is continuous."""
    if slot.call.no_path and (jumps_allowed or not _jumped(failure)):
        evidence = _evidence(failure, slot.name, np.shape(arrays[slot.index]))
        return ValueError(f"{checker}: {slot.call.detached(evidence)}")
    return _rename(failure, checker, slot.name, _MODES[kind], jumps_allowed)


def _judged(kind: str, checker: str, slot: Slot, arrays: tuple, rule: Callable, opts: JudgeOptions, jumps: str,
            jumps_known: bool = False) -> tuple[Any, int, np.ndarray | None]:
    """One mode (``kind``: "vjp" or "jvp") of one slot judged: ``(report, view entries not judged because f jumps
    there, the judge's jump mask over the failing view or None)``.

    With ``jumps="allow"`` the mode is first checked as by default, and only where that finds ``f`` not continuous
    is it checked again with the judge allowing jumps (at once when ``jumps_known``: the reverse mode found them): a
    function without jumps is checked exactly as by default, and the entries reported are those the judge named."""
    __tracebackhide__ = True
    from verify.checks.vjp import check_jvp, check_vjp

    public = check_vjp if kind == "vjp" else check_jvp
    mask = None
    if not (jumps == "allow" and jumps_known):
        try:
            return public(slot.call.reference, rule, arrays, wrt=slot.index, **opts), 0, None
        except CheckFailure as failure:
            if jumps != "allow" or not _jumped(failure):
                raise _refused(failure, checker, slot, kind, arrays) from None
            mask = np.asarray(failure.details["jumps"])
    try:
        report = public(slot.call.reference, rule, arrays, wrt=slot.index, jumps="allow", **opts)
    except CheckFailure as failure:
        raise _refused(failure, checker, slot, kind, arrays, jumps_allowed=True) from None
    return report, report.jumps, mask


def check_slots(checker: str, arrays: tuple, slots: Sequence[Slot], forward: bool | str, opts: JudgeOptions,
                notes: list[str] | None = None, jumps: str = "fail") -> AdapterReport:
    """Every slot through ``check_vjp`` (reverse mode) and, where the function supports it and ``forward``
    is not False, ``check_jvp``; ``forward=True`` makes missing forward mode an error. ``jumps`` is
    :func:`verify.check_gradient`'s (validated by :func:`verify.checks.gradient.jumps_choice`)."""
    __tracebackhide__ = True
    if forward not in (True, False, "auto"):
        raise ValueError(f"{checker}: forward must be True, False or 'auto'; got {forward!r}")
    notes = [] if notes is None else notes
    start = time.perf_counter()
    reports = []
    for slot in slots:
        if not slot.requires_grad:
            notes.append(f"{slot.name} did not require grad: checked on a copy that does")
        slot.call.reference(*arrays)  # a floating array at the point, else a TypeError naming the function
        wide = slot.call.widened()
        x = np.asarray(arrays[slot.index])
        vjp_report, vjp_jumps, mask = _judged("vjp", checker, slot, arrays, WithFloat64(slot.call.vjp, wide.vjp), opts,
                                            jumps)
        jumped_at = () if mask is None or mask.shape != x.shape else \
            tuple(tuple(int(i) for i in j) for j in np.argwhere(mask))
        if slot.call.no_path:
            notes.append(f"autodiff found no path from {slot.name} to the output ({slot.call.no_path}): its derivative "
                         "was taken as zeros, and the output does not change with it at the point")
        jvp_report, jvp_jumps, why = None, 0, "not asked for (forward=False)"
        if forward:
            why = _forward_support(slot, arrays, checker)
            if why and forward is True:
                raise ValueError(f"{checker}: forward=True but {why}")
            if not why:
                jvp_report, jvp_jumps, _ = _judged("jvp", checker, slot, arrays, WithFloat64(slot.call.jvp, wide.jvp),
                                                   opts, jumps, jumps_known=mask is not None)
        reports.append(SlotReport(name=slot.name, shape=x.shape, dtype=str(x.dtype), vjp=vjp_report, jvp=jvp_report,
                                  forward=why, jumps=jumped_at, vjp_jumps=vjp_jumps, jvp_jumps=jvp_jumps))
        if reports[-1].unverified:
            remedy = unverified_remedy(checker, x.dtype)
            if remedy not in notes:
                notes.append(remedy)
    return AdapterReport(checker=checker, slots=tuple(reports), notes=tuple(notes), seconds=time.perf_counter() - start)


def unverified_remedy(checker: str, dtype: np.dtype) -> str:
    """How a user of an adapter gets a verdict on entries the judge left unverified: the adapter takes no reference
    of its own (``sympy_expr=`` is :func:`verify.check_gradient`'s), so the remedies the judge names are reached
    through the point, the dtype, or a NumPy twin of the output concerned."""
    wider = "in float64 (the float32 derivatives have float64 twins), " if np.dtype(dtype) == np.float32 else ""
    return (f"to get a verdict on the UNVERIFIED entries: {checker} takes no reference of its own, so check them "
            f"{wider}at a point where f keeps its digits (away from saturation and exact constants), or write the "
            "output concerned as a NumPy function that takes complex input, or check it with "
            "verify.check_gradient(f_k, grad_k, inputs, sympy_expr=...) against its exact SymPy derivative")
