"""Measures, what-if scenarios, goal/measure relations and the least-cost optimiser.

- :mod:`.library`: the measure library (``data/measures.yaml`` plus area overrides);
- :mod:`.scenario`: scenarios as data (rules, parcel selections);
- :mod:`.engine`: KPI recomputation on the per-parcel table, low/mid/high;
- :mod:`.relations`: goal -> KPI -> measure graph and trade-off matrix;
- :mod:`.optimiser`: least-cost plan with HiGHS, and a greedy baseline;
- :mod:`.store`: saved scenarios as YAML files next to the builds;
- :mod:`.diffmap`: folium map of the per-parcel difference.
"""

from geo_dashboard.measures.engine import ScenarioEngine, ScenarioError, ScenarioResult
from geo_dashboard.measures.library import Measure, MeasureLibrary
from geo_dashboard.measures.loader import load_measure_library
from geo_dashboard.measures.optimiser import (
    OptimiserOptions,
    Plan,
    Target,
    greedy_plan,
    optimise,
    target_options,
)
from geo_dashboard.measures.scenario import ParcelStep, RuleStep, Scenario

__all__ = [
    "Measure",
    "MeasureLibrary",
    "OptimiserOptions",
    "ParcelStep",
    "Plan",
    "RuleStep",
    "Scenario",
    "ScenarioEngine",
    "ScenarioError",
    "ScenarioResult",
    "Target",
    "greedy_plan",
    "load_measure_library",
    "optimise",
    "target_options",
]
