"""Running the app under uvicorn, with the app told when the server begins to stop.

uvicorn on SIGTERM stops accepting, waits for running requests up to its graceful
timeout, then cancels them: a request cancelled that way can only answer a bare 500.
Here the app hears the signal as it arrives (`InFlight.request_stop`), so an answer
still running at the end of its grace period ends itself, saved and explained, before
uvicorn's cancellation would come.
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from service.inflight import InFlight

# uvicorn's own exit status for a server that never started (a port in use, say).
_STARTUP_FAILURE = 3


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, in_flight: InFlight) -> None:
        super().__init__(config)
        self._in_flight = in_flight

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._in_flight.request_stop()
        super().handle_exit(sig, frame)


def run(app: FastAPI, **options: Any) -> None:
    """uvicorn.run(app, **options) for one process, with the app told of the stop."""
    server = _Server(uvicorn.Config(app, **options), app.state.in_flight)
    server.run()
    if not server.started:
        sys.exit(_STARTUP_FAILURE)
