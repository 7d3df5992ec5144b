"""Linear hypotheses written as text: ``"x1 = x2, 2*x3 - x4 = 1"`` → (R, q).

Each comma-separated equation is a linear combination of coefficient names on
either side, with optional numeric multipliers (``2*x1``, ``x1*2``, ``0.5 x1``
is not accepted: write the ``*``).  Names are the coefficients' labels as
``res.params`` shows them (``wool[T.B]``, ``C(cyl)[T.6]``, ``hp:wt``); for a
multinomial model, ``class: term``.  Brackets and parentheses inside a name are
kept whole, so ``I(x - 1)`` is one name.
"""

from __future__ import annotations

import re

import numpy as np

from expfam.errors import InputError

__all__ = ["parse_hypotheses"]

_NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
_SCALED_LEFT = re.compile(rf"^({_NUMBER})\s*\*\s*(.+)$")
_SCALED_RIGHT = re.compile(rf"^(.+?)\s*\*\s*({_NUMBER})$")
_CONSTANT = re.compile(rf"^{_NUMBER}$")


def _split_top(text: str, separators: str) -> list[tuple[str, str]]:
    """Pieces of ``text`` between top-level ``separators`` (outside () and []),
    each with the separator before it ('' for the first)."""
    pieces, depth, start, sep = [], 0, 0, ""
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and ch in separators:
            pieces.append((sep, text[start:i]))
            sep, start = ch, i + 1
    pieces.append((sep, text[start:]))
    return pieces


def _side(text: str, names: list[str], sign: float, row: np.ndarray,
          equation: str) -> float:
    """Add a side's coefficients (times ``sign``) into ``row``; return its constant."""
    constant, carried = 0.0, 1.0
    pieces = _split_top(text, "+-")
    for k, (op, raw) in enumerate(pieces):
        piece = raw.strip()
        factor = carried * (-sign if op == "-" else sign)
        if not piece:
            # A sign before another ("+ -x", "- -x", a leading "-x") carries over.
            if k + 1 < len(pieces):
                carried *= -1.0 if op == "-" else 1.0
                continue
            raise InputError(f"cannot read {equation!r}: a sign with nothing after it")
        carried = 1.0
        if _CONSTANT.match(piece):
            constant += factor * float(piece)
            continue
        name, scale = piece, 1.0
        if (m := _SCALED_LEFT.match(piece)) is not None:
            scale, name = float(m.group(1)), m.group(2).strip()
        elif (m := _SCALED_RIGHT.match(piece)) is not None:
            name, scale = m.group(1).strip(), float(m.group(2))
        if name not in names:
            raise InputError(f"{name!r} in the hypothesis {equation!r} is not a coefficient "
                             f"of the model; coefficients are: {', '.join(names)}")
        row[names.index(name)] += factor * scale
    return constant


def parse_hypotheses(text: str, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """R (r, k) and q (r,) of the equations in ``text`` over coefficient ``names``.

    A negative sign that leads a side (``-x1 = 0``) is read as such; a minus
    inside a name is protected only by parentheses or brackets.
    """
    rows, qs = [], []
    for _, equation in _split_top(text, ","):
        equation = equation.strip()
        if not equation:
            continue
        sides = equation.split("=")
        if len(sides) != 2:
            raise InputError(f"each hypothesis needs one '=': got {equation!r}; write e.g. "
                             "'x1 = x2, x3 = 0'")
        row = np.zeros(len(names))
        left = _side(_leading(sides[0]), names, 1.0, row, equation)
        right = _side(_leading(sides[1]), names, -1.0, row, equation)
        if not row.any():
            raise InputError(f"the hypothesis {equation!r} names no coefficient")
        rows.append(row)
        qs.append(right * -1.0 - left)  # Σ a·β + left = Σ b·β + right  →  (a − b)·β = right − left
    if not rows:
        raise InputError("no hypothesis to test: write e.g. 'x1 = x2, x3 = 0'")
    return np.vstack(rows), np.asarray(qs)


def _leading(side: str) -> str:
    return side.strip()
