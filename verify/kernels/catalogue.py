"""The catalogue of losses: one record per loss, and everything that is generated from the records.

DESIGN.md, "Write the math once": a loss is a :class:`LossRecord` (its formula, source, arguments with
their shapes and domains, the kinds of target it takes, its kinks, options and conventions, its edge cases)
next to one row function (:mod:`verify.kernels.losses`) and one SymPy builder
(:mod:`verify.symbolic.losses`). From the record come:

- the public function (:func:`public_function`: its signature, its docstring, its validation);
- the serial, parallel and CUDA kernels (:func:`loss_kernels`, compiled by :mod:`verify.kernels._compile`
  with the CUDA signatures the argument kinds imply) and the driver that runs them (:func:`evaluate_loss`);
- the bad-input checks, the same on every backend (:class:`Kind` and the compiled scans of
  :mod:`verify.kernels._finite`);
- the symbolic reference's wiring, the Hypothesis strategies (:func:`verify.strategies.loss_arguments`),
  ``check_loss``'s inputs, the test parametrisation and the README's table (:func:`loss_table`);
- the check at import that the CPU functions, the CUDA functions and the SymPy builders name the same
  losses with the same signatures (:func:`check_agreement`).

Host and device arrays are handled by an *array backend*: :class:`HostArrays` here (``numpy``, ``cpu``,
``parallel``) and ``verify.kernels.cuda._device.DeviceArrays`` (``cuda``, imported on first use), with the
same methods, so that the driver, the validation and the error messages are written once.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from verify._jit import jit
from verify._validate import FLOAT_DTYPES, as_float_array, describe, require_choice, require_scalar
from verify.kernels import _finite
from verify.kernels._backend import resolve_backend
from verify.kernels._compile import Compiled, blockwise, elementwise

__all__ = [
    "SOURCES",
    "REDUCTIONS",
    "KINDS",
    "Kind",
    "Argument",
    "Option",
    "LossRecord",
    "ActivationRecord",
    "HostArrays",
    "SIGNS",
    "CAST",
    "array_backend",
    "loss_kernels",
    "loss_record",
    "public_function",
    "evaluate_loss",
    "reduce_rows",
    "loss_table",
    "check_agreement",
]

SOURCES = {
    "000": "Deep Learning, course slides, University of Milano-Bicocca (2022) (000_42086e2af0f76780.txt)",
    "001": "CS3485 Deep Learning for Computer Vision, Lecture 4: Optimization in Deep Learning "
           "(001_02deb113427fab16.txt)",
    "002": "Diving Into Deep Learning, Part 1: A Deep Learning Crash Course, Emory University "
           "(002_1388b78ad9a2d202.txt)",
}
"""The lecture notes by title, with the file name beside it (the file is not shipped with the package)."""

REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")


# =========================================================================== kinds of argument


@dataclass(frozen=True)
class Kind:
    """A domain of loss arguments: what the entries are, which shape they take, and how they are checked.

    ``floats``: float32/float64 like the prediction (``None``: integers or floats, converted to float64 signs
    ±1 for the kernels); ``per_row``: one entry per row, shape ``(N,)`` (class indices, binary labels), else
    the shape of the prediction. ``rule`` is the scan of :mod:`verify.kernels._finite` its values must pass.
    """

    name: str
    floats: bool | None
    per_row: bool
    description: str
    rule: int | None = None
    message: str = ""


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("reals", True, False, "finite reals"),
    Kind("logits", True, False, "finite logits (any magnitude)"),
    Kind("probabilities", True, False, "probabilities in [0, 1]", _finite.OUTSIDE_UNIT,
         "must be probabilities in [0, 1]"),
    Kind("simplex", True, False, "rows of the probability simplex (non-negative, summing to 1)"),
    Kind("labels", False, True, "integer class indices in [0, K)", _finite.OUTSIDE_RANGE),
    Kind("signs", None, True, "labels in {−1, +1} (integers or floats)", _finite.NOT_SIGN,
         "must contain only -1 and +1"),
    Kind("binary", None, True, "labels in {0, 1} (labels='zero_one') or {−1, +1} (labels='plus_minus_one')",
         _finite.NOT_BINARY, "must contain only 0 and 1 (labels='zero_one'); for ±1 labels pass "
         "labels='plus_minus_one'"),
)}


@dataclass(frozen=True)
class Argument:
    """A positional argument of a loss: its name, the kinds it accepts (the first is the usual one), the
    symbol of the formula and a phrase for the docs; ``like``: another argument it is sometimes drawn equal
    to (``q = p`` for a divergence); ``positive``: the loss divides by its entries (``q``, ``ŷ``), so that
    ``check_loss``'s search keeps them away from 0 (the kernels' own tests do not)."""

    name: str
    kinds: tuple[str, ...]
    symbol: str
    description: str
    like: str | None = None
    positive: bool = False

    def shape(self, kind: str, row: str) -> str:
        return "(N,)" if row == "scalar" or KINDS[kind].per_row else "(N, K)"


@dataclass(frozen=True)
class Option:
    """A keyword option: a named convention (``choices``) or a number in ``interval`` = ``(low, high,
    low_inclusive, high_inclusive)``. ``kernel``: passed to the kernels as a float64 scalar."""

    name: str
    default: object
    description: str
    choices: tuple[str, ...] = ()
    interval: tuple[float, float, bool, bool] | None = None
    kernel: bool = False

    def check(self, value: object) -> object:
        if self.choices:
            return require_choice(value, self.name, self.choices)
        low, high, low_in, high_in = self.interval
        return require_scalar(value, self.name, low=low, high=high, low_inclusive=low_in, high_inclusive=high_in)

    def describe(self) -> str:
        domain = (" or ".join(repr(c) for c in self.choices) if self.choices
                  else _interval_text(self.interval))
        return f"{self.name}={self.default!r}: {self.description} ({domain})"


def _interval_text(interval) -> str:
    low, high, low_in, high_in = interval
    return f"{'[' if low_in else '('}{low:g}, {'∞' if math.isinf(high) else f'{high:g}'}{']' if high_in else ')'}"


# =========================================================================== the record


@dataclass(frozen=True)
class LossRecord:
    """One loss of the catalogue (see the module docstring). ``kernels`` and ``numpy`` map the kind of the
    last argument (the target) to the compiled kernels and to the vectorised NumPy form; both take
    ``(*arguments, values, grad, denom, *kernel options)`` and write the per-row values (float64 for the
    kernels, the prediction's dtype for NumPy) and the gradient of ``Σ_i ℓ_i / denom``.

    ``row``: ``"vector"`` (rows of K entries) or ``"scalar"`` (one entry per example). ``wrt``: the argument
    the gradient is taken with respect to. ``edge_cases(dtype)``: fixed points at the edges of the domain
    (``check_loss`` runs them first); ``kink(args)``: the same arguments moved onto a kink (or ``None``).
    ``checks_finite``: the compiled row functions give the value NaN to a row whose prediction has a NaN or
    an infinity, so that the driver looks for one after the kernel (in the per-row values, which it sums
    anyway) instead of scanning the prediction before it: one pass over the data instead of two.
    """

    name: str
    formula: str
    source: str
    arguments: tuple[Argument, ...]
    kernels: Mapping[str, Compiled]
    numpy: Mapping[str, Callable]
    edge_cases: Callable[[np.dtype], list[tuple]]
    wrt: int = 0
    row: str = "vector"
    options: tuple[Option, ...] = ()
    kinks: str = ""
    conventions: tuple[str, ...] = ()
    min_classes: int = 1
    kink: Callable[[tuple], tuple] | None = None
    checks_finite: bool = False
    example: str = ""
    summary: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        kinds = set(self.arguments[-1].kinds)
        for what, table in (("kernels", self.kernels), ("numpy", self.numpy)):
            if set(table) != kinds:
                raise ValueError(f"{self.name}: {what} must have one entry per kind of "
                                 f"{self.arguments[-1].name} {sorted(kinds)}; got {sorted(table)}")

    @property
    def target_kinds(self) -> tuple[str, ...]:
        return self.arguments[-1].kinds

    @property
    def kernel_options(self) -> tuple[Option, ...]:
        return tuple(o for o in self.options if o.kernel)

    def parameters(self) -> list[inspect.Parameter]:
        """The public function's parameters: the arguments, then keyword-only options, reduction, backend."""
        positional = [inspect.Parameter(a.name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for a in self.arguments]
        keywords = [(o.name, o.default) for o in self.options] + [("reduction", "mean"), ("backend", None)]
        return positional + [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v) for k, v in keywords]

    def signature(self, *, backend: bool = True) -> inspect.Signature:
        parameters = self.parameters()
        return inspect.Signature(parameters if backend else parameters[:-1])

    def check_options(self, options: Mapping[str, object]) -> dict[str, object]:
        return {o.name: o.check(options.get(o.name, o.default)) for o in self.options}

    def describe_arguments(self) -> tuple[str, ...]:
        """One line per argument: ``symbol: shape kind`` (``or`` between its kinds)."""
        return tuple(
            f"{a.symbol}: " + " or ".join(f"{a.shape(k, self.row)} {KINDS[k].description}" for k in a.kinds)
            for a in self.arguments
        )

    def docstring(self) -> str:
        wrt = self.arguments[self.wrt]
        lines = [self.summary or f"``{self.formula}``.", "", f"Source: {self.source}.", "", "Args:"]
        lines += [f"  {a.name}: {a.description}; {text}" for a, text in zip(self.arguments, self.describe_arguments(),
                                                                          strict=True)]
        lines += [f"  {o.describe()}" for o in self.options]
        lines += ['  reduction: "mean" (over the N rows, the default), "sum", or "none" (the (N,) per-row losses, '
                  f"dtype of {self.arguments[0].name}).",
                  '  backend: "numpy", "cpu", "parallel" or "cuda"; None: the default backend.', "",
                  "Returns:",
                  f'  (value, grad): value a Python float ("mean", "sum") or the per-row losses ("none"); grad the '
                  f"gradient of value with respect to {wrt.name} ({wrt.symbol}), with its shape and dtype.", ""]
        if self.kinks:
            lines += [f"Kinks: {self.kinks}", ""]
        lines += [f"Convention: {c}" for c in self.conventions] + ([""] if self.conventions else [])
        lines += list(self.notes) + ([""] if self.notes else [])
        lines += ["Raises:",
                  "  TypeError: an argument of the wrong type or dtype (named, with its value).",
                  "  ValueError: NaN/inf, wrong shapes, values outside their domain, an unknown option or "
                  "reduction (named, with the offending value). Nothing is renormalised, clipped or cast."]
        if self.example:
            lines += ["", "Example:", *(f"  {line}" for line in self.example.strip().splitlines())]
        return "\n".join(lines)


@dataclass(frozen=True)
class ActivationRecord:
    """One elementwise activation: its formula and derivative (as text), source, kinks and conventions, its
    element function ``element(x) -> (a(x), a'(x))`` in float64 (a Numba ``@jit`` function, inlined into the
    activation kernels and the network's layer pass) and its NumPy form ``numpy(x) -> (a(x), a'(x))``."""

    name: str
    formula: str
    derivative: str
    source: str
    element: Callable
    numpy: Callable
    kinks: str = ""
    conventions: tuple[str, ...] = ()


def loss_record(*, name: str, arguments: Sequence[Argument], rows: Mapping[str, tuple[Callable, Callable]],
                row: str = "vector", scratch: int | Mapping[str, int] = 0, rows_per_block: int = 64,
                elements_per_block: int | None = None, **fields) -> LossRecord:
    """A :class:`LossRecord` from its row functions: ``rows[kind] = (row function, NumPy form)`` for each kind of
    the last argument; the kernels are compiled from the row functions (:func:`loss_kernels`, with the record's
    kernel options and ``scratch`` rows of float64 work space, one number or one per kind). ``fields``: the
    record's other fields."""
    options = fields.get("options", ())
    kernels = loss_kernels(name, {kind: pair[0] for kind, pair in rows.items()}, arguments, row=row,
                           kernel_options=tuple(o.name for o in options if o.kernel),
                           rows_per_block=rows_per_block, elements_per_block=elements_per_block, scratch=scratch)
    return LossRecord(name=name, arguments=tuple(arguments), kernels=kernels,
                      numpy={kind: pair[1] for kind, pair in rows.items()}, row=row, **fields)


def loss_kernels(name: str, functions: Mapping[str, Callable], arguments: Sequence[Argument], *,
                 row: str = "vector", kernel_options: Sequence[str] = (), rows_per_block: int = 64,
                 elements_per_block: int | None = None, scratch: int | Mapping[str, int] = 0) -> dict[str, Compiled]:
    """The compiled kernels of a loss, one per kind of its last argument.

    ``functions[kind]``: for ``row="scalar"`` an element function ``(x_i, ..., v_i, g_i, denom, *options) ->
    (v_i, g_i)`` (:func:`verify.kernels._compile.elementwise`), else a block function ``(x[lo:hi], ...,
    v[lo:hi], g[lo:hi], [scratch,] denom, *options)`` (:func:`verify.kernels._compile.blockwise`). The CUDA
    signatures follow from the argument kinds, for float32 and float64 predictions.
    """
    names = tuple(a.name for a in arguments)
    scalars = ("denom", *kernel_options)
    out = {}
    for kind, function in functions.items():
        kinds = [a.kinds[0] for a in arguments[:-1]] + [kind]
        signatures = tuple(_signature(kinds, row, f, len(kernel_options)) for f in ("float32", "float64"))
        if row == "scalar":
            out[kind] = elementwise(function, name=f"loss_{name}_{kind}", arrays=(*names, "values", "grad"),
                                    assigned=("values", "grad"), scalars=scalars, signatures=signatures,
                                    error_model="numpy")
        else:
            out[kind] = blockwise(function, name=f"loss_{name}_{kind}", arrays=(*names, "values", "grad"),
                                  scalars=scalars, rows_per_block=rows_per_block, elements_per_block=elements_per_block,
                                  scratch=scratch if isinstance(scratch, int) else scratch[kind],
                                  signatures=signatures, error_model="numpy")
    return out


def _signature(kinds: Sequence[str], row: str, f: str, n_options: int) -> str:
    def array(kind: str) -> str:
        k = KINDS[kind]
        if k.floats is None:
            return "float64[::1]"  # signs ±1, converted by the driver
        element = f if k.floats else "int64"
        return f"{element}[::1]" if row == "scalar" or k.per_row else f"{element}[:, ::1]"

    grad = f"{f}[::1]" if row == "scalar" else f"{f}[:, ::1]"
    return f"void({', '.join(map(array, kinds))}, float64[::1], {grad}, float64{', float64' * n_options})"


# =========================================================================== host arrays


@jit(forceinline=True, error_model="numpy")
def _sign(out, y, zero_one):
    v = np.float64(y)
    return (2.0 * v - 1.0 if zero_one else v),


@jit(forceinline=True)
def _copy(dst, src):
    return (src,)


SIGNS = elementwise(_sign, name="signs", arrays=("out", "y"), assigned=("out",), scalars=("zero_one",),
                    signatures=tuple(f"void(float64[::1], {t}[::1], boolean)" for t in ("float32", "float64", "int64")))
"""Labels as float64 signs ±1 for the binary losses' kernels (``2y − 1`` for 0/1 labels)."""

CAST = elementwise(_copy, name="cast", arrays=("dst", "src"), assigned=("dst",),
                   signatures=("void(float32[::1], float64[::1])", "void(float64[::1], float64[::1])"))
"""``dst[i] = src[i]`` rounded to ``dst``'s dtype (per-row float64 values to a float32 result)."""


class HostArrays:
    """The array backend of ``numpy``, ``cpu`` and ``parallel``: NumPy arrays, compiled kernels run on the CPU.

    ``run(compiled, rows, *args)`` runs a compiled kernel (on all threads only where ``threaded`` and the
    backend is ``"parallel"``); everything else mirrors ``DeviceArrays``.
    """

    on_device = False

    def __init__(self, backend: str) -> None:
        self.backend = backend

    # ------------------------------------------------------------------ arguments in
    def is_device(self, value: object) -> bool:
        return False

    def floats(self, value: object, name: str, *, ndim=None, dtype=None) -> np.ndarray:
        """A C-contiguous float32/float64 array (copied only when the caller's is not contiguous)."""
        return np.ascontiguousarray(as_float_array(value, name, ndim=ndim, dtype=dtype))

    def numbers(self, value: object, name: str) -> np.ndarray:
        """An integer or float array as given (labels): ``TypeError`` for anything else."""
        arr = value if isinstance(value, np.ndarray) else _asarray(value, name)
        return np.ascontiguousarray(arr)

    # The scans run on one thread on every backend: they are bound by memory (a second thread gains little) and
    # a parallel region costs a scheduling delay whenever the machine's other cores are busy (measured on 2
    # shared cores: 0.2 ms for the labels of 1e6 rows on one thread, up to 11 ms as a parallel region).
    def scan(self, arr, rule: int, bound: int = 0) -> tuple[int, int]:
        return _finite.first_bad(arr, rule, bound)

    def scan_rows(self, arr, tol: float) -> tuple[int, int]:
        return _finite.first_bad_row(arr, tol)

    def entry(self, arr, index: int):
        return arr.reshape(-1)[index].item()

    def row_sum(self, arr, r: int) -> float:
        return _sequential_sum(arr[r])

    def signs(self, arr, zero_one: bool) -> np.ndarray:
        if self.backend == "numpy":
            signs = arr.astype(np.float64)
            return 2.0 * signs - 1.0 if zero_one else signs
        if not zero_one and arr.dtype == np.float64:
            return arr  # already the float64 signs the kernels read (and never write)
        # one pass into one fresh array (NumPy's 2.0 * y − 1.0 made three: half the time of a logistic loss of 1e7)
        out = np.empty(arr.shape[0], dtype=np.float64)
        self.run(SIGNS, arr.shape[0], out, arr, bool(zero_one))
        return out

    def int64(self, arr) -> np.ndarray:
        return arr.astype(np.int64, copy=False)

    # ------------------------------------------------------------------ computing
    def empty(self, shape, dtype) -> np.ndarray:
        return np.empty(shape, dtype=dtype)

    def run(self, compiled: Compiled, rows: int, *args, threaded: bool = True) -> None:
        """Run ``compiled`` on the CPU: its parallel kernel where ``threaded`` and the backend is ``"parallel"``."""
        if threaded and self.backend == "parallel":
            compiled.parallel(*args)
        else:
            compiled.cpu(*args)

    def matmul(self, a, b, *, ta: bool = False, tb: bool = False, add=None) -> np.ndarray:
        """``op(a) @ op(b) [+ add]`` by BLAS."""
        product = np.dot(a.T if ta else a, b.T if tb else b)
        if add is not None:
            product += add
        return product

    def total(self, values, divisor: float = 1.0) -> float:
        """``Σ values / divisor`` in float64 (NumPy's pairwise sum; +∞ where the sum exceeds the largest float)."""
        with np.errstate(over="ignore"):
            if divisor == 1.0:
                return float(np.add.reduce(values, dtype=np.float64))
            return float(np.add.reduce(np.divide(values, divisor, dtype=np.float64), dtype=np.float64))

    def all_finite(self, values) -> bool:
        return _finite.first_bad(np.ascontiguousarray(values), _finite.NONFINITE)[0] == 0

    def cast(self, values, dtype):
        with np.errstate(over="ignore"):  # a float64 row value beyond float32's range is +inf there, no warning
            return values.astype(dtype, copy=False)

    # ------------------------------------------------------------------ results out
    def result(self, arr):
        return arr


def _asarray(value: object, name: str) -> np.ndarray:
    if value is None or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an array; got {value!r}")
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested lists, objects without an array form
        raise TypeError(f"{name} must be an array; got {type(value).__name__} ({exc})") from None


def _sequential_sum(row) -> float:
    total = 0.0
    for v in np.asarray(row, dtype=np.float64).tolist():
        total += v
    return total


def array_backend(backend: str | None):
    """The array backend of ``backend`` (``None``: the default): :class:`HostArrays` or ``DeviceArrays``."""
    name = resolve_backend(backend)
    if name == "cuda":
        from verify.kernels.cuda._device import DeviceArrays

        return DeviceArrays()
    return HostArrays(name)


# =========================================================================== validation from the record


def _index_text(arr, flat: int) -> str:
    return ", ".join(str(int(i)) for i in np.unravel_index(flat, tuple(arr.shape)))


def require_rule(arrays, arr, name: str, rule: int, message: str, bound: int = 0) -> None:
    """``ValueError`` naming the first entry of ``arr`` that breaks ``rule`` (a scan of ``_finite``)."""
    count, first = arrays.scan(arr, rule, bound)
    if count:
        value = arrays.entry(arr, first)
        suffix = f" ({count} non-finite entr{'y' if count == 1 else 'ies'})" if rule == _finite.NONFINITE else ""
        raise ValueError(f"{name} {message}; {name}[{_index_text(arr, first)}] = {value!r}{suffix}")


def _require_simplex(arrays, arr, name: str) -> None:
    require_rule(arrays, arr, name, _finite.NEGATIVE, "must be non-negative")
    tol = max(arr.shape[1], 1) * float(np.finfo(arr.dtype).eps)
    count, first = arrays.scan_rows(arr, tol)
    if count:
        raise ValueError(
            f"{name} rows must sum to 1 (within {tol:.3g}); row [{first}] sums to {arrays.row_sum(arr, first)!r}. "
            "verify never renormalises: pass a distribution."
        )


def _check_floats(arrays, record: LossRecord, value, argument: Argument, kind: str, like=None, finite=True):
    ndim = 1 if record.row == "scalar" else 2
    arr = arrays.floats(value, argument.name, ndim=ndim, dtype=None if like is None else like.dtype)
    if like is not None and tuple(arr.shape) != tuple(like.shape):
        raise ValueError(f"{argument.name} must have shape {tuple(like.shape)}; got {tuple(arr.shape)}")
    if like is None:
        if arr.shape[0] == 0:
            raise ValueError(f"{argument.name} must have at least one row; got shape {tuple(arr.shape)}")
        if ndim == 2 and arr.shape[1] == 0:
            raise ValueError(f"{argument.name} must have at least one column (class); got shape {tuple(arr.shape)}")
        if ndim == 2 and arr.shape[1] < record.min_classes:
            raise ValueError(f"{argument.name} must have at least {record.min_classes} classes (columns) for "
                             f"{record.name}; got shape {tuple(arr.shape)}")
    if finite:
        require_rule(arrays, arr, argument.name, _finite.NONFINITE, "must be finite")
    if kind == "simplex":
        _require_simplex(arrays, arr, argument.name)
    elif KINDS[kind].rule is not None:
        require_rule(arrays, arr, argument.name, KINDS[kind].rule, KINDS[kind].message)
    return arr


def _check_per_row(arrays, value, argument: Argument, kind: str, n: int, k: int, options: Mapping):
    arr = arrays.numbers(value, argument.name)
    dtype = np.dtype(arr.dtype)
    if not dtype.isnative:  # big-endian labels: the same values in the byte order the kernels are compiled for
        dtype = dtype.newbyteorder("=")
        arr = arr.astype(dtype)
    integer = dtype.kind in "iu"
    if kind == "labels" and not integer:
        raise TypeError(f"{argument.name} must be integer class indices; got dtype {dtype} {_shown(arrays, arr)}")
    if not integer and dtype not in FLOAT_DTYPES:
        raise TypeError(f"{argument.name} must be an integer or float array of labels; got dtype {dtype} "
                        f"{_shown(arrays, arr)}")
    if tuple(arr.shape) != (n,):
        raise ValueError(f"{argument.name} must have shape ({n},); got {tuple(arr.shape)}")
    if not integer:
        require_rule(arrays, arr, argument.name, _finite.NONFINITE, "must be finite")
    if kind == "labels":
        if dtype.kind == "u" and dtype.itemsize == 8:  # before the cast to int64, which would wrap 2^63 and above
            _require_below(arrays, arr, argument.name, k)
        arr = arrays.int64(arr)
        require_rule(arrays, arr, argument.name, _finite.OUTSIDE_RANGE, f"must lie in [0, {k})", bound=k)
        return arr
    zero_one = kind == "binary" and options.get("labels", "zero_one") == "zero_one"
    if zero_one:
        require_rule(arrays, arr, argument.name, _finite.NOT_BINARY, KINDS["binary"].message)
    else:
        require_rule(arrays, arr, argument.name, _finite.NOT_SIGN, KINDS["signs"].message)
    return arrays.signs(arr, zero_one)


def _require_below(arrays, arr, name: str, k: int) -> None:
    """``ValueError`` naming the first uint64 label ≥ ``k``, with its own value (host arrays; device arrays are
    checked after their cast)."""
    if isinstance(arr, np.ndarray) and (above := np.flatnonzero(arr >= k)).size:
        raise ValueError(f"{name} must lie in [0, {k}); {name}[{above[0]}] = {int(arr[above[0]])!r}")


def _shown(arrays, arr) -> str:
    return describe(arr) if isinstance(arr, np.ndarray) else f"device array(shape={tuple(arr.shape)})"


def _kind_of(arrays, value, argument: Argument, record: LossRecord, like) -> str:
    """Which of ``argument``'s kinds ``value`` is (by dtype and rank), or a ``TypeError`` listing them."""
    if len(argument.kinds) == 1:
        return argument.kinds[0]
    arr = value if (isinstance(value, np.ndarray) or arrays.is_device(value)) else _asarray(value, argument.name)
    dtype = np.dtype(arr.dtype)
    for kind in argument.kinds:
        k = KINDS[kind]
        if k.floats is False and dtype.kind in "iu":
            return kind
        if k.floats and dtype.kind == "f" and arr.ndim == (1 if record.row == "scalar" or k.per_row else 2):
            return kind
    forms = " or ".join(
        ("integer class indices of shape (N,)" if kind == "labels" else
         f"float {KINDS[kind].description.split(' (')[0]} of shape {argument.shape(kind, record.row)}")
        for kind in argument.kinds)
    raise TypeError(f"{argument.name} must be {forms} with the dtype of {record.arguments[0].name} ({like.dtype}); "
                    f"got {_shown(arrays, arr) if isinstance(arr, np.ndarray) else describe(arr)}")


def validate_arguments(arrays, record: LossRecord, args: Sequence, options: Mapping, *,
                       prediction_finite: bool = True) -> tuple[list, str]:
    """The arguments checked against the record's kinds (first the prediction, which sets N, K and the dtype),
    converted for the kernels; and the kind of the last argument (which kernel to run). With
    ``prediction_finite=False`` the prediction's finiteness is left to the kernel (``checks_finite``)."""
    first = record.arguments[0]
    prediction = _check_floats(arrays, record, args[0], first, first.kinds[0], finite=prediction_finite)
    checked = [prediction]
    n = prediction.shape[0]
    k = prediction.shape[1] if prediction.ndim == 2 else 1
    kind = first.kinds[0]
    for argument, value in zip(record.arguments[1:], args[1:], strict=True):
        kind = _kind_of(arrays, value, argument, record, prediction)
        if KINDS[kind].per_row or KINDS[kind].floats is None:
            checked.append(_check_per_row(arrays, value, argument, kind, n, k, options))
        else:
            checked.append(_check_floats(arrays, record, value, argument, kind, prediction))
    return checked, kind


# =========================================================================== the driver


def evaluate_loss(record: LossRecord, args: Sequence, options: Mapping, reduction: object,
                  backend: str | None):
    """``(value, grad)`` of ``record`` at ``args`` on ``backend`` (see :meth:`LossRecord.docstring`)."""
    require_choice(reduction, "reduction", REDUCTIONS)
    arrays = array_backend(backend)
    options = record.check_options(options)
    deferred = record.checks_finite and arrays.backend != "numpy"
    checked, kind = validate_arguments(arrays, record, args, options, prediction_finite=not deferred)
    wrt = checked[record.wrt]
    n = checked[0].shape[0]
    denom = float(n) if reduction == "mean" else 1.0
    scalars = [float(options[o.name]) for o in record.kernel_options]
    grad = arrays.empty(tuple(wrt.shape), wrt.dtype)
    if arrays.backend == "numpy":
        values = np.empty(n, dtype=wrt.dtype)
        with np.errstate(all="ignore"):  # ±∞ where the math says so (−log 0), never a warning
            record.numpy[kind](*checked, values, grad, denom, *scalars)
    else:
        values = arrays.empty(n, np.float64)
        arrays.run(record.kernels[kind], n, *checked, values, grad, denom, *scalars)
        if deferred:
            total = arrays.total(values)
            if math.isnan(total):  # some row had a NaN or an infinity: name the first
                name = record.arguments[0].name
                require_rule(arrays, checked[0], name, _finite.NONFINITE, "must be finite")
                raise RuntimeError(f"{record.name}: a row's value is NaN although {name} is finite")
            return reduce_rows(arrays, values, reduction, wrt.dtype, total), arrays.result(grad)
    return reduce_rows(arrays, values, reduction, wrt.dtype), arrays.result(grad)


def reduce_rows(arrays, values, reduction: str, dtype, total: float | None = None):
    """The reduced value: per-row values in ``dtype`` (``"none"``), or their sum / mean as a Python float.

    The mean is ``Σ_i ℓ_i / N``; where that sum overflows although every ℓ_i is finite, it is recomputed as
    ``Σ_i (ℓ_i / N)``, which cannot overflow (each term is at most the largest float over N). ``total``: the
    sum, where the caller has it already."""
    if reduction == "none":
        return arrays.result(arrays.cast(values, dtype))
    total = arrays.total(values) if total is None else total
    if reduction == "sum":
        return total
    n = values.shape[0]
    if math.isinf(total) and arrays.all_finite(values):
        return arrays.total(values, divisor=float(n))
    return total / n


# =========================================================================== public functions


def public_function(record: LossRecord, module: str, evaluate: Callable = evaluate_loss) -> Callable:
    """The public function of ``record``: real parameters (so a missing argument is Python's ``TypeError``),
    the record's docstring, and a call of ``evaluate``."""
    arguments = ", ".join(a.name for a in record.arguments)
    keywords = ", ".join([*(f"{o.name}={o.default!r}" for o in record.options), "reduction='mean'", "backend=None"])
    options = ", ".join(f"{o.name!r}: {o.name}" for o in record.options)
    source = (f"def {record.name}({arguments}, *, {keywords}):\n"
              f"    return _evaluate(_record, ({arguments},), {{{options}}}, reduction, backend)\n")
    namespace = {"_evaluate": evaluate, "_record": record, "__name__": module}
    exec(compile(source, f"<catalogue {record.name}>", "exec"), namespace)  # noqa: S102 - generated above
    function = namespace[record.name]
    function.__module__ = module
    function.__doc__ = record.docstring()
    return function


# =========================================================================== generated documentation


def loss_table(records: Sequence[LossRecord]) -> str:
    """The README's table of losses (Markdown), one row per record."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| loss | arguments | ℓ_i | options | source |", "| --- | --- | --- | --- | --- |"]
    for r in records:
        arguments = ", ".join(f"{a.name} ({' or '.join(f'{a.shape(k, r.row)} {k}' for k in a.kinds)})"
                              for a in r.arguments)
        options = ", ".join(f"`{o.name}={o.default!r}`" for o in r.options) or "—"
        lines.append(f"| `{r.name}` | {cell(arguments)} | {cell(r.formula)} | {options} | {cell(r.source)} |")
    return "\n".join(lines)


# =========================================================================== agreement of the registries


def check_agreement(records: Mapping[str, LossRecord], *, cpu: Mapping[str, Callable] | None = None,
                    cuda: Mapping[str, Callable] | None = None, symbolic: Mapping[str, object] | None = None) -> None:
    """Raise ``ImportError`` unless every registry names exactly the records' losses with their signatures.

    ``cpu`` and ``cuda``: public functions (the CUDA ones without ``backend``); ``symbolic``: the SymPy builders
    (names only). Cheap: names and signatures, nothing is compiled.
    """
    problems = []
    names = set(records)
    for label, table in (("cpu", cpu), ("cuda", cuda), ("symbolic", symbolic)):
        if table is None:
            continue
        if set(table) != names:
            problems.append(f"{label} has {sorted(set(table) - names)} without a record and lacks "
                            f"{sorted(names - set(table))}")
        if label == "symbolic":
            continue
        for name in sorted(names & set(table)):
            want = records[name].signature(backend=label == "cpu")
            got = inspect.signature(table[name])
            if got != want:
                problems.append(f"{label} {name}{got} differs from the record's {name}{want}")
    if problems:
        raise ImportError("the loss registries disagree with the catalogue's records: " + "; ".join(problems))


