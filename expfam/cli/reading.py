"""Reading the command line's data: CSV, TSV and other delimited text, Parquet,
standard input, or a bundled dataset."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pandas as pd

from expfam import datasets
from expfam.errors import ExpfamError

__all__ = ["read_table"]

#: File suffixes read as Parquet, and as tab-separated text.
PARQUET = (".parquet", ".pq")
TABBED = (".tsv", ".tab")
#: Delimiters the sniffer chooses among (the first line decides).
DELIMITERS = ",\t;|"
#: Parquet files begin with these four bytes.
PARQUET_MAGIC = b"PAR1"


def _sniff(text: str) -> str:
    """The delimiter of delimited text, from its header line: the candidate that
    occurs most often there (a comma when none does)."""
    header = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(header, delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _parse_text(text: str, sep: str | None, source: str) -> pd.DataFrame:
    delimiter = sep or _sniff(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise ExpfamError(f"cannot read {source} as delimited text: {err}") from None
    if frame.empty:
        raise ExpfamError(f"{source} has no data rows (only a header?)")
    return frame


def _parquet(data: bytes | Path, source: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(io.BytesIO(data) if isinstance(data, bytes) else data)
    except ImportError:
        raise ExpfamError('reading Parquet needs pyarrow: pip install "expfam[parquet]"'
                          ) from None
    except Exception as err:  # pyarrow's errors have no common base worth naming
        raise ExpfamError(f"cannot read {source} as Parquet: {err}") from None
    if frame.empty:
        raise ExpfamError(f"{source} has no data rows")
    return frame


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ExpfamError(f"cannot read {source} as text (UTF-8): {err}") from None


def read_table(source: str, sep: str | None = None) -> pd.DataFrame:
    """The data named by ``source``.

    Parameters
    ----------
    source : str
        ``"-"`` for standard input (Parquet or delimited text, told apart by
        Parquet's magic bytes); a path, read as Parquet for ``.parquet`` and
        ``.pq``, tab-separated for ``.tsv`` and ``.tab``, and otherwise as
        delimited text whose delimiter (comma, tab, semicolon or bar) is read
        from the header line; or the name of a bundled dataset.
    sep : str, optional
        The delimiter of a text file, instead of the detected one.
    """
    if source == "-":
        data = sys.stdin.buffer.read()
        if data.startswith(PARQUET_MAGIC):
            return _parquet(data, "standard input")
        return _parse_text(_decode(data, "standard input"), sep, "standard input")
    path = Path(source)
    suffix = path.suffix.lower()
    if path.exists():
        if suffix in PARQUET:
            return _parquet(path, source)
        text = _decode(path.read_bytes(), source)
        return _parse_text(text, sep or ("\t" if suffix in TABBED else None), source)
    if suffix in (".csv", *TABBED, *PARQUET, ".txt") or "/" in source:
        raise ExpfamError(f"no such file: {source}")
    return datasets.load(source)
