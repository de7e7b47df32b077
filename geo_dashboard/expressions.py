"""Safe arithmetic formulas over table columns, as used in KPI definitions.

A formula such as ``area_ha * (n2000_distance_m <= 1000)`` may use column
names, numbers, strings, arithmetic, comparisons, ``and``/``or``/``not`` and
``in`` with a list. Anything else (calls, attributes, subscripts) is rejected
before evaluation, so a data file cannot run code.

Formulas are evaluated on numpy arrays with the semantics of
``pandas.DataFrame.eval``: ``and``, ``or`` and ``not`` act element-wise,
``in [..]`` and ``== [..]`` test membership, a comparison chain is the
element-wise ``and`` of its links, and a comparison with a missing value is
false. Columns whose dtype marks missing values as ``pd.NA`` (``Int64``,
``boolean``, ``string``) follow pandas' own rules for them, so formulas on
such a column with a missing value are evaluated by ``DataFrame.eval``
itself, as are formulas that raise on arrays.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo_dashboard.errors import ConfigError

_ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.Mod,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.And,
    ast.Or,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
)

_BINARY: dict[type[ast.operator], Callable] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type[ast.cmpop], Callable] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


@dataclass(frozen=True)
class _Formula:
    tree: ast.Expression
    columns: frozenset[str]


class _Unsupported(Exception):
    """A construct that only ``DataFrame.eval`` evaluates with pandas' semantics."""


@functools.lru_cache(maxsize=4096)
def _parse(formula: str) -> _Formula:
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as err:
        raise ConfigError(
            f"formula {formula!r} is not a valid expression: {err.msg}"
        ) from err
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ConfigError(
                f"formula {formula!r} uses {type(node).__name__}, which is not "
                "allowed. Use column names, numbers, arithmetic, comparisons, "
                "and/or/not and 'in [..]' only."
            )
    columns = frozenset(
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name)
    )
    return _Formula(tree, columns)


def formula_columns(formula: str) -> set[str]:
    """Check ``formula`` and return the column names it uses.

    Raises
    ------
    ConfigError
        If the formula is not valid Python syntax or uses a construct other
        than arithmetic, comparison and boolean logic.
    """
    return set(_parse(formula).columns)


def evaluate(formula: str, table: pd.DataFrame, what: str) -> pd.Series:
    """Evaluate ``formula`` on each row of ``table`` and return a float Series.

    Boolean results become 0.0/1.0. Missing input values stay missing in
    arithmetic and make comparisons false, except in a column whose dtype
    marks them as ``pd.NA``, where pandas keeps the comparison missing.
    """
    parsed = _parse(formula)
    _require_columns(parsed.columns, table.columns, formula, what)
    series = {name: table[name] for name in parsed.columns}
    if not any(has_masked_missing(column) for column in series.values()):
        arrays = {name: column_array(column) for name, column in series.items()}
        result = evaluate_arrays(formula, arrays, len(table))
        if result is not None:
            return pd.Series(result, index=table.index)
    return _evaluate_with_pandas(formula, series, table.index)


def evaluate_arrays(
    formula: str, columns: Mapping[str, np.ndarray], length: int
) -> np.ndarray | None:
    """Evaluate ``formula`` on column arrays of ``length`` rows; return float64.

    ``columns`` maps every column the formula uses to an array from
    :func:`column_array` of a column without ``<NA>``, or for a text column
    to a ``pandas.Categorical`` of it, which compares by codes. Returns None where
    only ``DataFrame.eval`` gives the result or the error that
    :func:`evaluate` would: for ``not`` on numbers, ``in`` without a list,
    or an operation that the column types do not support.
    """
    try:
        with np.errstate(all="ignore"):
            result = np.asarray(_evaluate_node(_parse(formula).tree.body, columns))
        if result.ndim == 0:
            return np.full(length, result, dtype="float64")
        return result.astype("float64")
    except (_Unsupported, TypeError, ValueError):
        return None


def column_array(series: pd.Series) -> np.ndarray:
    """Return a column as a numpy array for :func:`evaluate_arrays`.

    Booleans stay boolean, so that ``and``/``or``/``not`` work on them, and
    other numbers become float64 with NaN for missing values. Text and any
    other type become an object array with NaN for missing values.
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) and not has_masked_missing(series):
        return series.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(dtype):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    return series.to_numpy(dtype=object, na_value=np.nan)


def has_masked_missing(series: pd.Series) -> bool:
    """Return whether a column whose dtype marks missing values as ``pd.NA`` has one.

    Such dtypes (``Int64``, ``boolean``, ``string``, pyarrow types) make a
    comparison with a missing value missing rather than false.
    """
    na_value = getattr(series.dtype, "na_value", None)
    return na_value is pd.NA and bool(series.isna().any())


def _evaluate_node(node: ast.AST, columns: Mapping[str, np.ndarray]):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return columns[node.id]
    if isinstance(node, ast.BinOp):
        left = _evaluate_node(node.left, columns)
        right = _evaluate_node(node.right, columns)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate_node(node.operand, columns)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return +operand
        if not isinstance(operand, np.ndarray) or operand.dtype != bool:
            # pandas inverts the bits of numbers and scalars.
            raise _Unsupported
        return ~operand
    if isinstance(node, ast.BoolOp):
        values = [_evaluate_node(value, columns) for value in node.values]
        combine = operator.and_ if isinstance(node.op, ast.And) else operator.or_
        return functools.reduce(combine, values)
    if isinstance(node, ast.Compare):
        return _compare(node, columns)
    # A list or tuple outside a membership test.
    raise _Unsupported


def _compare(node: ast.Compare, columns: Mapping[str, np.ndarray]):
    left = _evaluate_node(node.left, columns)
    result = None
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        if isinstance(right_node, ast.List | ast.Tuple):
            options = [_evaluate_node(item, columns) for item in right_node.elts]
            if not isinstance(op, ast.In | ast.NotIn | ast.Eq | ast.NotEq):
                raise _Unsupported
            link = _isin(left, options)
            if isinstance(op, ast.NotIn | ast.NotEq):
                link = ~link
            right = None
        elif isinstance(op, ast.In | ast.NotIn):
            raise _Unsupported
        else:
            right = _evaluate_node(right_node, columns)
            link = _COMPARE[type(op)](left, right)
        result = link if result is None else result & link
        left = right
    return result


def _isin(values, options: list) -> np.ndarray:
    if not isinstance(values, np.ndarray | pd.Categorical) or any(
        isinstance(option, np.ndarray | pd.Categorical) for option in options
    ):
        raise _Unsupported
    found = np.zeros(values.shape, dtype=bool)
    for option in options:
        found |= values == option
    return found


def _evaluate_with_pandas(
    formula: str, series: dict[str, pd.Series], index: pd.Index
) -> pd.Series:
    frame = pd.DataFrame(series, index=index)
    result = frame.eval(formula, engine="python")
    if np.isscalar(result):
        result = pd.Series(result, index=index)
    return pd.Series(result, index=index).astype("float64")


def _require_columns(
    columns: Iterable[str], available: Iterable[str], formula: str, what: str
) -> None:
    missing = sorted(set(columns) - set(available))
    if missing:
        raise ConfigError(
            f"{what}: formula {formula!r} uses unknown column(s) "
            f"{', '.join(missing)}. Available columns: "
            f"{', '.join(sorted(available))}."
        )
