"""Commands that add areas and layers: ``new-area`` and ``add-layer``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from geo_dashboard.cli_common import (
    console,
    describe_validation_error,
    error_console,
    fail,
)
from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.layer_import import LayerRequest, import_layer
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.roles import ROLE_KINDS
from geo_dashboard.scaffold import AreaRequest, new_area


@contextmanager
def _progress(title: str) -> Iterator[Callable[[str], None]]:
    """Show a spinner with the current step on stderr, as ``build`` does."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
        console=error_console,
        transient=False,
    )
    with progress:
        task = progress.add_task(title, total=None)

        def on_step(name: str) -> None:
            progress.update(task, description=f"{title}: {name}")

        yield on_step
        progress.update(task, description=f"{title}: done")


def new_area_command(
    area: Annotated[
        str,
        typer.Argument(
            help="Id of the new area: lower-case letters, digits and underscores."
        ),
    ],
    boundary: Annotated[
        Path,
        typer.Option("--boundary", help="Vector file with the area outline (any CRS)."),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Where the boundary comes from; the command stops without it.",
        ),
    ] = None,
    licence: Annotated[
        str | None,
        typer.Option(
            "--licence",
            help="Licence of the boundary data; the command stops without it.",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Display name of the area.")
    ] = None,
    province: Annotated[
        str | None, typer.Option("--province", help="Province name.")
    ] = None,
    publisher: Annotated[
        str | None,
        typer.Option("--publisher", help="Publisher of the boundary data."),
    ] = None,
    year: Annotated[
        int | None,
        typer.Option("--year", help="Year of the boundary data; default: this year."),
    ] = None,
    layer: Annotated[
        str | None,
        typer.Option("--layer", help="Layer in the boundary file, if it has several."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace an existing config and boundary layer."),
    ] = False,
) -> None:
    """Add an area from a boundary file: boundary layer, config, data gaps."""
    paths = ProjectPaths.from_env()
    request = AreaRequest(
        area_id=area,
        boundary_file=boundary,
        source=source,
        licence=licence,
        name=name,
        province=province,
        publisher=publisher,
        year=year,
        layer_name=layer,
        force=force,
    )
    try:
        with _progress(f"new-area {area}") as on_step:
            result = new_area(paths, request, on_step=on_step)
    except GeoDashboardError as err:
        fail(err)
    except ValidationError as err:
        fail(describe_validation_error(err, "new-area"))
    console.print(f"Wrote [bold]{escape(str(result.config_path))}[/]")
    console.print(
        f"Boundary layer {result.boundary.id} -> {escape(result.boundary.file)}"
        + (f" ({result.repairs} geometries repaired)" if result.repairs else "")
    )
    for choice in result.choices:
        console.print(
            f"  {choice.role}: {choice.ref.layer} "
            f"(used in {choice.used_in}; {escape(choice.overlap)})"
        )
    console.print(f"Data gaps: {', '.join(result.data_gaps) or 'none'}")
    console.print(
        f"KPIs: {len(result.kpis_computed)} computed, {len(result.kpis_gaps)} gaps. "
        "Baselines and targets are empty placeholders; fill them in."
    )
    console.print(
        f"Next: geo-dashboard validate {area}, then geo-dashboard build {area}"
    )


def add_layer_command(
    file: Annotated[Path, typer.Argument(help="Vector or raster file to add.")],
    layer_id: Annotated[
        str, typer.Option("--id", help="Catalogue id of the new layer.")
    ],
    role: Annotated[
        str,
        typer.Option("--role", help=f"Role of the layer: {', '.join(ROLE_KINDS)}."),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Where the data comes from; the command stops without it.",
        ),
    ] = None,
    licence: Annotated[
        str | None,
        typer.Option(
            "--licence", help="Licence of the data; the command stops without it."
        ),
    ] = None,
    year: Annotated[
        int | None,
        typer.Option("--year", help="Year the data describes; default: this year."),
    ] = None,
    unit: Annotated[
        str | None,
        typer.Option("--unit", help="Unit of the values, e.g. 'mol N/ha/yr'."),
    ] = None,
    layer: Annotated[
        str | None,
        typer.Option("--layer", help="Layer in the file, if it has several."),
    ] = None,
    area: Annotated[
        str | None,
        typer.Option("--area", help="Area whose config gets the layer in its role."),
    ] = None,
    publisher: Annotated[
        str | None, typer.Option("--publisher", help="Publisher of the data.")
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            help="For role parcels: KEY=NAME sets parcel_fields.KEY of the area to "
            "column NAME (keys parcel_id, crop_code, farm_id, peat_emission_rate). "
            "Repeat for several.",
        ),
    ] = None,
) -> None:
    """Check a layer file and add it to layers/, the catalogue and an area config."""
    columns: dict[str, str] = {}
    for item in column or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            fail(ValueError(f"--column {item!r} is invalid; write KEY=NAME."))
        columns[key] = value
    request = LayerRequest(
        file=file,
        layer_id=layer_id,
        role=role,
        source=source,
        licence=licence,
        year=year,
        unit=unit,
        layer_name=layer,
        area=area,
        publisher=publisher,
        columns=columns,
    )
    try:
        with _progress(f"add-layer {layer_id}") as on_step:
            result = import_layer(ProjectPaths.from_env(), request, on_step=on_step)
    except GeoDashboardError as err:
        fail(err)
    except ValidationError as err:
        fail(describe_validation_error(err, "add-layer"))
    console.print(
        f"Added layer [bold]{result.entry.id}[/] ({result.entry.kind}) -> "
        f"{escape(result.entry.file)}"
    )
    if result.repairs is not None and result.repairs.changed:
        console.print(
            f"  repaired {result.repairs.repaired}, dropped "
            f"{result.repairs.dropped_empty} empty and "
            f"{result.repairs.dropped_non_polygon} non-polygon features"
        )
    if result.config_path is not None:
        gaps = ", ".join(result.removed_gaps) or "none"
        console.print(
            f"Set layers.{role} in {escape(str(result.config_path))}; "
            f"removed from data_gaps: {gaps}"
        )
        console.print(f"Next: geo-dashboard build {area}")
