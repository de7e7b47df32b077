"""Exception and warning classes of geo_dashboard.

Each error also inherits the matching built-in, so callers that catch
``ValueError`` or ``OSError`` keep working. Messages name the file, layer,
field or value that is wrong and say what to do about it.
"""

from __future__ import annotations


class GeoDashboardError(Exception):
    """Base class of all errors raised by geo_dashboard."""


class ConfigError(GeoDashboardError, ValueError):
    """An area config, KPI definition or catalogue entry is invalid."""


class UnknownIdError(ConfigError, KeyError):
    """A config refers to a layer, KPI or area id that does not exist."""

    def __str__(self) -> str:
        # KeyError quotes its message; show it as plain text instead.
        return str(self.args[0]) if self.args else ""


class LayerError(GeoDashboardError, ValueError):
    """A layer file is readable but its content cannot be used."""


class LayerNotFoundError(GeoDashboardError, FileNotFoundError):
    """A layer file named in the catalogue does not exist."""


class LayerReadError(GeoDashboardError, OSError):
    """A layer file exists but cannot be opened or decoded."""


class BuildNotFoundError(GeoDashboardError, FileNotFoundError):
    """An area has no build output yet."""


class GeoDashboardWarning(UserWarning):
    """Warning about input that was repaired or partly ignored."""
