"""Parcel columns as numpy arrays for the scenario engine, with a scenario's changes.

The engine evaluates KPI and measure formulas many times on the same parcel
table. :class:`BaseColumns` converts each column once and keeps the result
of each formula on the unchanged table. :class:`ScenarioChanges` contains the
changes of one scenario that all effect variants share, and
:class:`VariantColumns` is one effect variant: those changes plus the
variant's own ranged effects. Formula results are kept for the duration of
one scenario evaluation.

Text columns are also kept as codes into their sorted distinct values
(:class:`Labelled`), so that setting a crop on many parcels writes integers,
and grouping by category does not hash the texts again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo_dashboard.expressions import (
    column_array,
    evaluate,
    evaluate_arrays,
    formula_columns,
    has_masked_missing,
)

_NUMERIC_KINDS = "biuf"


@dataclass(frozen=True)
class Labelled:
    """An object column as codes into ``labels``, its sorted distinct values.

    Code -1 is a missing value. ``labels`` may contain values that no row uses.
    """

    codes: np.ndarray
    labels: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> Labelled:
        codes, labels = pd.factorize(values, sort=True)
        return cls(codes, np.asarray(labels, dtype=object))

    def array(self) -> np.ndarray:
        """Return the column as an object array with NaN for missing values."""
        return np.append(self.labels, np.nan).astype(object)[self.codes]

    def categorical(self) -> pd.Categorical:
        """Return the column as a ``pandas.Categorical``, without copying the codes."""
        return pd.Categorical.from_codes(self.codes, self.labels, validate=False)

    def with_value(
        self, rows: np.ndarray, value: object, in_place: bool = False
    ) -> Labelled | None:
        """Return the column with ``value`` on ``rows``, or None if not comparable.

        With ``in_place`` the codes of this instance are changed and reused.
        """
        if pd.isna(value):
            position = -1
            labels = self.labels
        else:
            try:
                position = int(np.searchsorted(self.labels, value))
            except TypeError:
                return None
            labels = self.labels
            if position == len(labels) or labels[position] != value:
                labels = np.insert(labels, position, value).astype(object)
        codes = self.codes if in_place else self.codes.copy()
        if labels is not self.labels:
            codes[codes >= position] += 1
        codes[rows] = position
        return Labelled(codes, labels)


class BaseColumns:
    """The engine's parcel table as read-only arrays, with cached formula results."""

    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table
        self._columns: dict[str, np.ndarray] = {}
        self._labelled: dict[str, Labelled | None] = {}
        self._pandas_only: dict[str, bool] = {}
        self._values: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.table)

    def column(self, name: str) -> np.ndarray:
        """Return column ``name`` as :func:`column_array` does."""
        array = self._columns.get(name)
        if array is None:
            array = column_array(self.table[name])
            array.flags.writeable = False
            self._columns[name] = array
        return array

    def labelled(self, name: str) -> Labelled | None:
        """Return an object column as codes and labels, or None for other columns."""
        if name not in self._labelled:
            array = self.column(name)
            labelled = Labelled.of(array) if array.dtype == object else None
            if labelled is not None:
                labelled.codes.flags.writeable = False
            self._labelled[name] = labelled
        return self._labelled[name]

    def formula_input(self, name: str) -> np.ndarray | pd.Categorical:
        """Return column ``name`` for formula evaluation: text as a Categorical."""
        labelled = self.labelled(name) if name in self.table else None
        return self.column(name) if labelled is None else labelled.categorical()

    def pandas_only(self, name: str) -> bool:
        """Return whether formulas on column ``name`` need ``DataFrame.eval``.

        A column of a masked dtype with ``<NA>`` follows pandas' rules for
        missing values, which the numpy evaluation does not copy.
        """
        if name not in self._pandas_only:
            self._pandas_only[name] = name in self.table and has_masked_missing(
                self.table[name]
            )
        return self._pandas_only[name]

    def values(self, formula: str, what: str) -> np.ndarray:
        """Return the float64 result of ``formula`` on the unchanged table.

        Raises
        ------
        ConfigError
            If the formula uses a column that the table lacks.
        """
        result = self._values.get(formula)
        if result is None:
            result = _evaluate(formula, self, self.formula_input, set(), what)
            result.flags.writeable = False
            self._values[formula] = result
        return result


class ScenarioChanges:
    """The changes of one scenario that every effect variant has in common.

    Each changed column is copied from the base once. An object column stays
    in codes until something reads it as an array.
    """

    def __init__(self, base: BaseColumns) -> None:
        self.base = base
        self._arrays: dict[str, np.ndarray] = {}
        self._labelled: dict[str, Labelled] = {}
        self._owned: set[str] = set()
        self.memo: dict[str, np.ndarray] = {}

    @property
    def names(self) -> set[str]:
        """Names of the changed columns."""
        return self._arrays.keys() | self._labelled.keys()

    def put(self, column: str, rows: np.ndarray, value: object) -> None:
        """Set ``column`` to ``value`` on ``rows``.

        ``value`` is a scalar or an array aligned to the rows of the table.
        The column widens to a numeric or object dtype that can store the value.
        """
        if column not in self._arrays and not isinstance(value, np.ndarray):
            labelled = self._labelled.get(column) or self.base.labelled(column)
            owned = column in self._labelled
            updated = labelled.with_value(rows, value, owned) if labelled else None
            if updated is not None:
                self._labelled[column] = updated
                return
        current = self.column(column)
        dtype = _result_dtype(current, value)
        if column not in self._owned or current.dtype != dtype:
            current = current.astype(dtype, copy=True)
            self._arrays[column] = current
            self._owned.add(column)
        self._labelled.pop(column, None)
        current[rows] = value[rows] if isinstance(value, np.ndarray) else value

    def column(self, name: str) -> np.ndarray:
        """Return column ``name`` with the changes, or the base column."""
        array = self._arrays.get(name)
        if array is not None:
            return array
        labelled = self._labelled.get(name)
        if labelled is None:
            return self.base.column(name)
        # Read-only and not owned, so that a later put copies it.
        array = labelled.array()
        array.flags.writeable = False
        self._arrays[name] = array
        return array

    def labelled(self, name: str) -> Labelled | None:
        """Return a changed or base object column as codes, or None for others."""
        if name in self._labelled:
            return self._labelled[name]
        return None if name in self._arrays else self.base.labelled(name)


class VariantColumns:
    """One effect variant: its ranged changes over :class:`ScenarioChanges`.

    This class is a :class:`~geo_dashboard.kpis.FormulaSource`.
    """

    def __init__(
        self, common: ScenarioChanges, ranged: dict[str, np.ndarray], what: str
    ) -> None:
        self.common = common
        self.ranged = ranged
        self._own: dict[str, np.ndarray] = {}
        self._what = what

    def column(self, name: str) -> np.ndarray:
        array = self.ranged.get(name)
        return self.common.column(name) if array is None else array

    def _formula_input(self, name: str) -> np.ndarray | pd.Categorical:
        labelled = None if name in self.ranged else self.common.labelled(name)
        return self.column(name) if labelled is None else labelled.categorical()

    def values(self, formula: str) -> np.ndarray:
        names = formula_columns(formula)
        if names & self.ranged.keys():
            memo = self._own
        elif names & self.common.names:
            memo = self.common.memo
        else:
            return self.common.base.values(formula, self._what)
        result = memo.get(formula)
        if result is None:
            changed = self.common.names | self.ranged.keys()
            result = _evaluate(
                formula, self.common.base, self._formula_input, changed, self._what
            )
            memo[formula] = result
        return result

    def categories(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Return codes into the sorted distinct values of ``name`` (-1 if missing)."""
        labelled = None if name in self.ranged else self.common.labelled(name)
        if labelled is None:
            labelled = Labelled.of(self.column(name))
        return labelled.codes, labelled.labels

    def changes(self) -> dict[str, np.ndarray]:
        """Return every changed column of this variant."""
        arrays = {name: self.common.column(name) for name in self.common.names}
        arrays.update(self.ranged)
        return arrays


def _evaluate(
    formula, base: BaseColumns, column, changed: set[str], what: str
) -> np.ndarray:
    names = formula_columns(formula)
    available = names <= (set(base.table.columns) | changed)
    if available and not any(base.pandas_only(name) for name in names):
        arrays = {name: column(name) for name in names}
        result = evaluate_arrays(formula, arrays, len(base))
        if result is not None:
            return result
    # evaluate() raises the ConfigError for a missing column, and gives
    # pandas' result where the numpy evaluation does not apply.
    changes = {name: np.asarray(column(name)) for name in changed}
    return evaluate(formula, changed_frame(base.table, changes), what).to_numpy()


def changed_frame(
    table: pd.DataFrame,
    changes: dict[str, np.ndarray],
    float_columns: set[str] | frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Return ``table`` with ``changes`` assigned, as a shallow copy.

    A changed column keeps the dtype of the original where that dtype
    represents the new values exactly (for example ``Int64`` crop codes), as
    ``Series.where`` would. Columns in ``float_columns`` become float64.
    """
    if not changes:
        return table
    result = table.copy(deep=False)
    for name, values in changes.items():
        if name in float_columns:
            result[name] = pd.Series(values, index=table.index, dtype="float64")
        else:
            result[name] = _as_series(table[name], values)
    return result


def _as_series(original: pd.Series, values: np.ndarray) -> pd.Series:
    series = pd.Series(values, index=original.index, name=original.name)
    dtype = original.dtype
    if series.dtype == dtype:
        return series
    if pd.api.types.is_string_dtype(dtype) and values.dtype == object:
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            return series.astype(dtype)
        return series
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(
        dtype
    )
    if numeric and values.dtype.kind in _NUMERIC_KINDS:
        try:
            restored = series.astype(dtype)
        except (TypeError, ValueError):
            return series
        same = np.array_equal(
            restored.to_numpy(dtype="float64", na_value=np.nan),
            values.astype("float64"),
            equal_nan=True,
        )
        return restored if same else series
    return series


def _result_dtype(current: np.ndarray, value: object) -> np.dtype:
    if current.dtype == object:
        return current.dtype
    value_dtype = (
        value.dtype if isinstance(value, np.ndarray) else np.asarray(value).dtype
    )
    if current.dtype.kind in _NUMERIC_KINDS and value_dtype.kind in _NUMERIC_KINDS:
        return np.result_type(current.dtype, value_dtype)
    return np.dtype(object)
