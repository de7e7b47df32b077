"""Safe arithmetic formulas over table columns, as used in KPI definitions.

A formula such as ``area_ha * (n2000_distance_m <= 1000)`` may use column
names, numbers, strings, arithmetic, comparisons, ``and``/``or``/``not`` and
``in`` with a list. Anything else (calls, attributes, subscripts) is rejected
before evaluation, so a data file cannot run code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

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


def formula_columns(formula: str) -> set[str]:
    """Check ``formula`` and return the column names it uses.

    Raises
    ------
    ConfigError
        If the formula is not valid Python syntax or uses a construct other
        than arithmetic, comparison and boolean logic.
    """
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
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def evaluate(formula: str, table: pd.DataFrame, what: str) -> pd.Series:
    """Evaluate ``formula`` on each row of ``table`` and return a float Series.

    Boolean results become 0.0/1.0. Missing input values stay missing.
    """
    columns = formula_columns(formula)
    _require_columns(columns, table.columns, formula, what)
    frame = pd.DataFrame({name: table[name] for name in columns}, index=table.index)
    result = frame.eval(formula, engine="python")
    if np.isscalar(result):
        result = pd.Series(result, index=table.index)
    return pd.Series(result, index=table.index).astype("float64")


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

