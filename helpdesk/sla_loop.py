"""The SLA ticker as a worker loop: warnings and breaches every second, re-matches after edits."""

from __future__ import annotations

import logging

from .worker import Loop

log = logging.getLogger(__name__)


class SlaTicker(Loop):
    """Fires due SLA warnings and breaches; after a policy change, re-matches open tickets.

    One pass reads only the targets whose time has come (an index range), so it runs every
    second. It returns True while there is more to do, and the runner calls it again at once.
    """

    name = "sla-ticker"
    interval = 1.0

    def run_once(self) -> bool:
        from .services import sla_ticker

        fired = sla_ticker.tick()
        if fired.warnings or fired.breaches:
            log.info(
                "SLA: %d warnings, %d breaches on %d tickets",
                fired.warnings,
                fired.breaches,
                len(fired.tickets),
            )
        rematched = sla_ticker.rematch()
        return bool(fired.tickets) or rematched > 0
