"""Progress of long fits: one call per iteration from the solvers.

A solver takes ``progress=`` and asks :func:`reporter` for a :class:`Progress`;
then, per iteration (IRLS and L-BFGS), per epoch (SGD) or per pass (Dask), it
calls :meth:`Progress.update` with what it knows — ``deviance``,
``decrement``, ``step``, ``grad_norm``, ``loss`` — and at the end
:meth:`Progress.close`.  Within a long epoch it may call :meth:`Progress.tick`
per batch, which only moves the bar.  The interface is the same whatever is
shown:

``progress=False`` (the default)
    Nothing, at the cost of one no-op call per iteration.
``progress=True``
    A tqdm progress bar on standard error when it is a terminal, or in a
    Jupyter notebook; elsewhere (a log file, a pipe) one line per iteration.
``progress="bar"`` or ``"log"``
    Either of those, whatever the output.
a callable
    Called with a dict per iteration (``solver``, ``iteration``, ``time`` in
    seconds since the start, and the solver's values), for programs that keep
    their own records.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any

from expfam.errors import InputError

__all__ = ["Progress", "ProgressOption", "reporter"]

#: What a solver's ``progress=`` takes.
ProgressOption = bool | str | Callable[[dict[str, Any]], Any] | None

#: The values shown in a log line or next to the bar, in this order.
SHOWN = ("deviance", "loss", "decrement", "grad_norm", "step", "computed", "seconds")


def _format(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def _known(value: Any) -> bool:
    """Whether a value is worth showing (solvers fill what they lack with NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _in_notebook() -> bool:
    """Whether we run under a Jupyter kernel (where tqdm draws a widget)."""
    return "ipykernel" in sys.modules


class Progress:
    """Receives one :meth:`update` per iteration; shows nothing itself (the
    quiet default).  Subclasses show the updates."""

    def __init__(self, solver: str, total: int | None = None) -> None:
        self.solver = solver
        self.total = total
        self.iteration = 0
        self.start = time.perf_counter()

    def _record(self, values: dict[str, Any]) -> dict[str, Any]:
        """The row reported: a count of updates (unless the solver keeps its own
        ``iteration``), the time since the start, and the solver's values."""
        self.iteration += 1
        return {"solver": self.solver, "iteration": self.iteration,
                "time": time.perf_counter() - self.start, **values}

    def update(self, **values: Any) -> None:
        """One iteration (or epoch, or pass) is done; ``values`` describe it."""
        self.iteration += 1

    def tick(self, count: int = 1) -> None:
        """Work within an iteration (SGD's batches): moves a bar, logs nothing."""

    def close(self) -> None:
        """The fit is over."""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Callback(Progress):
    def __init__(self, solver: str, total: int | None,
                 callback: Callable[[dict[str, Any]], Any]) -> None:
        super().__init__(solver, total)
        self.callback = callback

    def update(self, **values: Any) -> None:
        self.callback(self._record(values))


class _Log(Progress):
    """One line per iteration on standard error."""

    def update(self, **values: Any) -> None:
        row = self._record(values)
        parts = [f"{self.solver} iteration {row['iteration']}"]
        parts += [f"{k} {_format(row[k])}" for k in SHOWN if _known(row.get(k))]
        parts.append(f"time {row['time']:.3g}s")
        print("  ".join(parts), file=sys.stderr, flush=True)


class _Bar(Progress):
    """A tqdm bar: its count is the iterations (or batches), its postfix the
    latest values."""

    def __init__(self, solver: str, total: int | None) -> None:
        super().__init__(solver, total)
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc=solver, unit="it", file=sys.stderr, leave=True,
                        dynamic_ncols=True)
        self.ticked = False

    def update(self, **values: Any) -> None:
        row = self._record(values)
        self.bar.set_postfix({k: _format(row[k]) for k in SHOWN if _known(row.get(k))},
                             refresh=False)
        if not self.ticked:  # with ticks, the count is of batches
            self.bar.update(1)
        else:
            self.bar.refresh()

    def tick(self, count: int = 1) -> None:
        self.ticked = True
        self.bar.update(count)

    def close(self) -> None:
        self.bar.close()


def reporter(progress: ProgressOption, solver: str,
             total: int | None = None) -> Progress:
    """The :class:`Progress` a solver reports to, from its ``progress=`` option.

    Parameters
    ----------
    progress : bool, "bar", "log", callable or None
        See the module's documentation; False or None: quiet.
    solver : str
        The solver's name, shown in front.
    total : int, optional
        The number of updates (or ticks) expected, for the bar's length;
        None where only a limit is known (IRLS).
    """
    if progress is None or progress is False:
        return Progress(solver, total)
    if callable(progress):
        return _Callback(solver, total, progress)
    if progress is True:
        interactive = _in_notebook() or sys.stderr.isatty()
        return _Bar(solver, total) if interactive else _Log(solver, total)
    if progress == "bar":
        return _Bar(solver, total)
    if progress == "log":
        return _Log(solver, total)
    raise InputError(f"progress must be True, False, 'bar', 'log' or a function; got "
                     f"{progress!r}")
