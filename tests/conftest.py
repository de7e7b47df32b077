"""Shared fixtures: the project's real layers and a pilot build in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from geo_dashboard.build import build_area
from geo_dashboard.catalog import Catalog, load_catalog
from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths

REPO = Path(__file__).resolve().parents[1]
PILOT = "noordoostpolder"


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
