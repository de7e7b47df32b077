"""Default locations of layers, area configs and build output.

Each location can be set with an environment variable. Without one, the
folders next to the package are used when the package runs from a source
checkout (the usual editable install), and the current directory otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _project_root() -> Path:
    checkout = _PACKAGE_DIR.parent
    if (checkout / "layers" / "catalog.yaml").is_file():
        return checkout
    return Path.cwd()


@dataclass(frozen=True)
class ProjectPaths:
    """Folders the build and the app read from and write to."""

    layers: Path
    configs: Path
    builds: Path

    @classmethod
    def from_env(cls) -> ProjectPaths:
        """Resolve the folders from ``GEO_DASHBOARD_*`` variables or defaults."""
        root = _project_root()
        return cls(
            layers=Path(os.environ.get("GEO_DASHBOARD_LAYERS", root / "layers")),
            configs=Path(
                os.environ.get("GEO_DASHBOARD_CONFIGS", root / "area_configs")
            ),
            builds=Path(os.environ.get("GEO_DASHBOARD_BUILDS", root / "build")),
        )


def package_data(name: str) -> Path:
    """Return the path of a data file shipped inside the package."""
    return _PACKAGE_DIR / "data" / name
