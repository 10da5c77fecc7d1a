"""The local AWS endpoint as a background process of the sandbox (started by ``up``).

It listens on 127.0.0.1 (for the toolkit) and on the bridge's gateway address (for the hosts,
whose FPGA tool stand-ins ask it about AGFIs), and it launches instance hosts, so it runs as
root and outlives the command that started it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from fpgaops.sandbox.config import SandboxConfig
from fpgaops.sandbox.errors import SandboxError
from fpgaops.sandbox.processes import end_process, listening, read_pid

MODULE = "fpgaops.sandbox.cloud"
READY_TIMEOUT_S = 60.0


class EndpointError(SandboxError):
    """The local AWS endpoint could not be started."""


class EndpointProcess:
    """Start, find and stop the endpoint process of one sandbox, by its PID file."""

    def __init__(self, cfg: SandboxConfig):
        self.cfg = cfg
        self.pid_file = cfg.state_dir / "endpoint.pid"
        self.log_file = cfg.state_dir / "endpoint.log"
        self._child: subprocess.Popen | None = None

    @property
    def _markers(self) -> tuple[str, str]:
        return MODULE, str(self.cfg.state_dir)

    def pid(self) -> int | None:
        return read_pid(self.pid_file, *self._markers)

    def start(self) -> None:
        """Start the endpoint unless it runs already; returns at once (see wait_ready)."""
        if self.pid() is not None:
            return
        port = self.cfg.endpoint_port
        if listening("127.0.0.1", port):
            raise EndpointError(f"port {port} on 127.0.0.1 is taken by another program: "
                                f"choose another with --port")
        cmd = [sys.executable, "-m", MODULE,
               "--listen", f"127.0.0.1:{port}", "--listen", f"{self.cfg.gateway}:{port}",
               "--state-dir", str(self.cfg.state_dir),
               "--host-provider", "fpgaops.sandbox.instance_hosts:provider_for_state_dir",
               "--afi-pending-seconds", str(self.cfg.timings.afi_pending_s)]
        with open(self.log_file, "wb") as log:
            self._child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True, cwd=Path(__file__).resolve().parents[2])
        self.pid_file.write_text(f"{self._child.pid}\n")

    def wait_ready(self) -> None:
        """Return once both addresses accept connections; raise with the log's tail if it died."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        port = self.cfg.endpoint_port
        while not (listening("127.0.0.1", port) and listening(self.cfg.gateway, port)):
            if self.pid() is None or time.monotonic() > deadline:
                tail = self.log_file.read_text(errors="replace").strip().splitlines()[-20:]
                self.stop()
                raise EndpointError("the local AWS endpoint did not start:\n" + "\n".join(tail))
            time.sleep(0.05)

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            end_process(pid, *self._markers)
        if self._child is not None:
            self._child.wait()
            self._child = None
        self.pid_file.unlink(missing_ok=True)
