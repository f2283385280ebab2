"""A daemon thread doing one step every few seconds for the life of the process (live feed, hourly forecasts)."""
from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)


class Periodic(threading.Thread):
    """Calls tick() every check_every_s seconds; a failing tick is logged and the next one still runs."""

    def __init__(self, name: str, check_every_s: float) -> None:
        super().__init__(name=name, daemon=True)
        self.check_every_s = check_every_s

    def tick(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # one bad step must not end the thread
                log.exception("%s failed; trying again in %s s", self.name, self.check_every_s)
            time.sleep(self.check_every_s)
