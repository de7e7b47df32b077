"""Shared fixtures: the project's real layers and a pilot build in a temporary folder."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from geo_dashboard.build import build_area
from geo_dashboard.catalog import Catalog, load_catalog
from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths

REPO = Path(__file__).resolve().parents[1]
PILOT = "noordoostpolder"

# Tests build into temporary folders with their own SQLite store; a store
# URL from the developer's shell must not receive test writes.
os.environ.pop("GEO_DASHBOARD_DB", None)


@pytest.fixture(scope="session")
def repo_paths() -> ProjectPaths:
    """Layers and configs of the repository, with builds in a session temp folder."""
    return ProjectPaths(
        layers=REPO / "layers", configs=REPO / "area_configs", builds=REPO / "build"
    )


@pytest.fixture(scope="session")
def catalog(repo_paths: ProjectPaths) -> Catalog:
    return load_catalog(repo_paths.layers)


@pytest.fixture(scope="session")
def pilot_paths(tmp_path_factory: pytest.TempPathFactory, repo_paths: ProjectPaths) -> ProjectPaths:
    """The real layers and configs, with a private build folder for this session."""
    return ProjectPaths(
        layers=repo_paths.layers,
        configs=repo_paths.configs,
        builds=tmp_path_factory.mktemp("builds"),
    )


@pytest.fixture(scope="session")
def pilot_build(pilot_paths: ProjectPaths) -> BuildOutput:
    """The pilot area built once per session from the real layers."""
    return build_area(PILOT, pilot_paths)


@pytest.fixture()
def sandbox(tmp_path: Path, repo_paths: ProjectPaths) -> ProjectPaths:
    """A writable copy of the layers and configs, for tests that break them."""
    layers = tmp_path / "layers"
    configs = tmp_path / "area_configs"
    shutil.copytree(repo_paths.layers, layers)
    shutil.copytree(repo_paths.configs, configs)
    return ProjectPaths(layers=layers, configs=configs, builds=tmp_path / "build")


@pytest.fixture(scope="session")
def all_builds(tmp_path_factory: pytest.TempPathFactory, repo_paths: ProjectPaths) -> dict[str, BuildOutput]:
    """Every shipped area built once per session, in a builds folder of its own."""
    from geo_dashboard.config import list_areas

    paths = ProjectPaths(
        layers=repo_paths.layers,
        configs=repo_paths.configs,
        builds=tmp_path_factory.mktemp("all_builds"),
    )
    return {area: build_area(area, paths) for area in list_areas(paths.configs)}


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Put ``__main__`` back after a test: Streamlit's AppTest replaces it with
    the page script, and processes started later with spawn would run that."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main
