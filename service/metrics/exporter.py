"""`tutor scheduler`'s own /metrics: prometheus_client's HTTP server, on a thread.

The scheduler serves nothing else over HTTP, so it needs no web framework for this: the
library's server answers every path (`/metrics` included) from the process's registry.
Its thread only reads the metrics, which prometheus_client guards with locks, so the
event loop counts on while a scrape reads.
"""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from service.metrics.registry import ProcessMetrics


class MetricsServer:
    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @classmethod
    def start(cls, metrics: ProcessMetrics, *, host: str, port: int) -> MetricsServer:
        """Listening once this returns; OSError when the address cannot be had."""
        server, thread = start_http_server(port, addr=host, registry=metrics.registry)
        return cls(server, thread)

    @property
    def port(self) -> int:
        return self._server.server_port

    def close(self) -> None:
        """Stops answering and frees the port (blocks for up to half a second)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
