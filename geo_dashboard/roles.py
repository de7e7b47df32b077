"""Inputs a build can have: layer roles and parcel-layer columns."""

from __future__ import annotations

from typing import Literal

# Each role a layer can play in a build, and the kind of file it must be.
ROLE_KINDS: dict[str, Literal["vector", "raster"]] = {
    "parcels": "vector",
    "natura2000": "vector",
    "nnn": "vector",
    "peat_soil": "vector",
    "surface_water": "vector",
    "peat_emission": "vector",
    "municipalities": "vector",
    "nh3_concentration": "raster",
    "n_deposition": "raster",
}

# Inputs a KPI can require that are columns of the parcel layer, not layers,
# mapped to the ``parcel_fields`` key that names the column.
FIELD_INPUTS: dict[str, str] = {"crop_codes": "crop_code", "farm_ids": "farm_id"}

KPI_INPUTS: frozenset[str] = frozenset(ROLE_KINDS) | frozenset(FIELD_INPUTS)

# Unit a layer in these roles must have, as written in the catalogue.
ROLE_UNITS: dict[str, str] = {
    "nh3_concentration": "µg/m³",
    "n_deposition": "mol N/ha/yr",
    "peat_emission": "kg CO2-eq/ha/yr",
}


def normalise_unit(unit: str) -> str:
    """Return a unit in a canonical spelling, so 'ug/m3' equals 'µg/m³'."""
    text = unit.strip().lower().replace(" ", "")
    for old, new in (("ug", "µg"), ("μg", "µg"), ("m3", "m³"), ("/jr", "/yr"), ("/jaar", "/yr")):
        text = text.replace(old, new)
    return text
