"""UI texts of the scenario page, from ``data/messages_scenarios.yaml``.

The file has the structure of the main message catalogue (one key, a Dutch
and an English text) and is checked by the same loader.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from geo_dashboard.errors import UnknownIdError
from geo_dashboard.i18n import check_language, load_messages
from geo_dashboard.paths import package_data

CATALOGUE = "messages_scenarios.yaml"


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, dict[str, str]]:
    return load_messages(package_data(CATALOGUE))


def scenario_text(key: str, language: str, **params: Any) -> str:
    """Return the text of ``key`` in ``language``, with ``params`` filled in.

    Raises
    ------
    UnknownIdError
        If the catalogue has no message ``key``.
    """
    check_language(language)
    texts = _catalogue().get(key)
    if texts is None:
        raise UnknownIdError(
            f"message key {key!r} is not in geo_dashboard/data/{CATALOGUE}; "
            "add it there in every language"
        )
    text = texts[language]
    return text.format(**params) if params else text
