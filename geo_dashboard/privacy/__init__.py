"""Privacy of farm data: viewers, consent purposes and disclosure control.

- :mod:`.viewer`: roles, the viewer of a page or export, consent purposes;
- :mod:`.disclosure`: :func:`disclose`, which filters a build for a viewer;
- :mod:`.aggregates`: aggregates over consenting farms with suppression;
- :mod:`.own_farm`: measures, effects and costs on one visible farm.

The package has no Streamlit code, so every access path can be tested
without the app.
"""

from geo_dashboard.privacy.aggregates import SuppressionReason, suppression_reason
from geo_dashboard.privacy.disclosure import (
    OTHER_FARMS,
    Disclosure,
    disclose,
    visible_farms,
)
from geo_dashboard.privacy.viewer import (
    NO_CONSENTS,
    PUBLIC,
    PURPOSES,
    ROLES,
    AccessDeniedError,
    Consents,
    Purpose,
    Role,
    Viewer,
    granted,
)

__all__ = [
    "NO_CONSENTS",
    "OTHER_FARMS",
    "PUBLIC",
    "PURPOSES",
    "ROLES",
    "AccessDeniedError",
    "Consents",
    "Disclosure",
    "Purpose",
    "Role",
    "SuppressionReason",
    "Viewer",
    "disclose",
    "granted",
    "suppression_reason",
    "visible_farms",
]
