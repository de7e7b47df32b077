"""Builds of several areas at once, each filtered for the viewer.

The planner pages compare areas, so they cannot use
:func:`geo_dashboard.app.common.require_build`, which reads the one area of
the URL. Each build here goes through the same cached reading and the same
disclosure filter (:func:`geo_dashboard.app.common.disclose_for`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from geo_dashboard.app import common
from geo_dashboard.config import list_areas
from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.output import BuildOutput, current_build_folder
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.privacy import Viewer

logger = logging.getLogger(__name__)


@dataclass
class AreaBuilds:
    """The viewer's builds by area id, the areas without a build, and failures."""

    builds: dict[str, BuildOutput] = field(default_factory=dict)
    unbuilt: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def unbuilt_areas(paths: ProjectPaths) -> list[str]:
    """Return the areas that have a config but no current build, sorted."""
    built = set(common.areas_with_build(paths))
    return [area for area in list_areas(paths.configs) if area not in built]


def viewer_builds(
    paths: ProjectPaths, viewer: Viewer, areas: list[str] | None = None
) -> AreaBuilds:
    """Read the current builds of ``areas`` (all built areas when None) for ``viewer``.

    An area whose disclosure rules cannot be read is left out and listed in
    ``failed`` with the error, because without its rules no farm data may
    be shown.
    """
    result = AreaBuilds(unbuilt=unbuilt_areas(paths))
    for area_id in areas if areas is not None else common.areas_with_build(paths):
        try:
            folder = current_build_folder(paths.builds, area_id)
            raw = common.load_build(str(paths.builds), area_id, str(folder))
            context = common.AppContext(
                common.language(), paths, area_id, None, viewer=viewer
            )
            result.builds[area_id] = common.disclose_for(context, raw).build
        except GeoDashboardError as err:
            logger.warning("area %s left out of the comparison: %s", area_id, err)
            result.failed[area_id] = str(err)
    return result
