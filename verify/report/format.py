"""Numbers, keys and run times as a reader expects them (shared by the HTML and the PDF).

Numbers get 4 significant digits, a true minus sign ``−``, ``0`` for ``−0``, and ``1.2×10⁻⁶`` outside
``[10⁻³, 10⁵)``; ``results.json`` keeps every digit. Booleans read ``yes``/``no``.

>>> format_number(-0.0), format_number(2.5999999999999996), format_number(3.8e-32), format_number(True)
('0', '2.6', '3.8×10⁻³²', 'yes')
>>> key_label("max_abs_difference"), key_label("f(x1) < f(x2)")
('max abs difference', 'f(x1) < f(x2)')
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

__all__ = ["SIGNIFICANT", "format_number", "format_seconds", "key_label", "plain"]

#: Significant digits of a number in the report.
SIGNIFICANT = 4

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9.]+)+")


def plain(value: Any) -> Any:
    """NumPy scalars and arrays as Python numbers and lists (everything else unchanged)."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return value


def _minus(text: str) -> str:
    return text.replace("-", "−")


def format_number(x: Any) -> str:
    """One number as text (see the module docstring)."""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, numbers.Integral):
        return _minus(str(int(x)))
    if isinstance(x, complex):
        return f"{format_number(x.real)} + {format_number(x.imag)}i".replace("+ −", "− ")
    value = float(x)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == 0.0:
        return "0"
    magnitude = abs(value)
    if 10 ** (SIGNIFICANT - 1) <= magnitude < 1e5:  # 4 significant digits, written out: 27800, not 2.78×10⁴
        digits = math.floor(math.log10(magnitude)) - SIGNIFICANT + 1
        return _minus(f"{round(value, -digits):.0f}")
    if 1e-3 <= magnitude < 1e5:
        text = f"{value:.{SIGNIFICANT}g}"
        if "e" not in text:
            return _minus(text)
    mantissa, exponent = f"{value:.{SIGNIFICANT - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    power = str(int(exponent)).translate(_SUPERSCRIPT)
    if mantissa in ("1", "-1"):
        return _minus(mantissa.replace("1", "") + "10" + power)
    return _minus(f"{mantissa}×10{power}")  # no spaces: a number never breaks across lines


def key_label(key: Any) -> str:
    """A record key as a label: a bare snake_case identifier gets spaces, anything else is kept as written."""
    text = str(key)
    if _IDENTIFIER.fullmatch(text):
        return text.replace("_", " ")
    return text


def format_seconds(seconds: float) -> str:
    """``850 ms``, ``12.3 s`` or ``3 min 5 s``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"
