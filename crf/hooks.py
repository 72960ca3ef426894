"""What a higher layer adds to a CRF write (registered in its ``AppConfig.ready()``).

crf cannot import the apps above it; the notifications app registers here what follows a
serious-AE alert (queueing its e-mails in the same transaction). A registered function runs
inside the transaction that records the alert: if it fails, the save fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crf.models import SeriousAeAlert

_sae_alert_raised: list[Callable[[SeriousAeAlert], None]] = []


def on_sae_alert_raised(function: Callable[[SeriousAeAlert], None]) -> None:
    """Register ``function(alert)``, called once per alert raised (idempotent)."""
    if function not in _sae_alert_raised:
        _sae_alert_raised.append(function)


def sae_alert_raised(alert: SeriousAeAlert) -> None:
    for function in _sae_alert_raised:
        function(alert)
