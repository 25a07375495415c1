"""moto's server on 127.0.0.1 (a real HTTP endpoint for boto3 clients in this process and in subprocesses)."""

from __future__ import annotations

import logging

from moto.server import ThreadedMotoServer


class MotoServer:
    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.url = ""

    def start(self) -> MotoServer:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """Forget every bucket, secret and object (moto's reset endpoint)."""
        import requests

        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
