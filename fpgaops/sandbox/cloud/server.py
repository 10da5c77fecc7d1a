"""The local AWS endpoint: moto, with the FPGA extensions of this package, served over HTTP.

One process, one shared moto state, any number of listening addresses (the sandbox listens on
127.0.0.1 for the toolkit and on the bridge's gateway for the hosts). Each address is a werkzeug
server running moto's own WSGI app (what ``moto.server.ThreadedMotoServer`` runs) behind
``SandboxRoutes``, which answers ``/_sandbox/...`` itself.

In-process use (tests)::

    with CloudEndpoint([("127.0.0.1", 0)], host_provider=provider, afi_pending_seconds=0.3) as cloud:
        ec2 = boto3.client("ec2", endpoint_url=cloud.endpoints[0], region_name="us-east-1")

Command line (``python -m fpgaops.sandbox.cloud --help``)::

    python -m fpgaops.sandbox.cloud --listen 127.0.0.1:5000 --listen 10.77.0.1:5000 \\
        --state-dir .sandbox --afi-pending-seconds 5 [--host-provider MODULE:CALLABLE]

prints ``listening <url>`` per address then ``ready``, writes ``<state-dir>/endpoint.ready`` (JSON:
pid, endpoints), and on SIGTERM or SIGINT stops listening, removes that file and exits 0.
With ``--state-dir`` it also serves the FPGA cards of that sandbox's hosts (``fpgaops.sandbox.card``;
packages cached in ``<state-dir>/fpga-card-cache``).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path

import click
from moto import settings as moto_settings
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from fpgaops.sandbox.card.cards import FpgaCards
from fpgaops.sandbox.card.designs import DesignCatalogue
from fpgaops.sandbox.cloud.amis import install_fpga_developer_amis
from fpgaops.sandbox.cloud.console_output import install_console_output
from fpgaops.sandbox.cloud.fpga_images import install_fpga_image_actions
from fpgaops.sandbox.cloud.host_provider import InstanceHostProvider
from fpgaops.sandbox.cloud.ingestion import DEFAULT_PENDING_SECONDS, set_pending_seconds
from fpgaops.sandbox.cloud.instances import install_instance_hosts
from fpgaops.sandbox.cloud.sandbox_routes import SandboxRoutes, package_from_moto
from fpgaops.sandbox.cloud.spot_prices import install_spot_prices

READY_FILE_NAME = "endpoint.ready"
CARD_CACHE_DIR_NAME = "fpga-card-cache"
SHUTDOWN_POLL_SECONDS = 0.1  # how often a serving thread checks for a shutdown request
log = logging.getLogger(__name__)


def install_cloud_extensions(host_provider: InstanceHostProvider | None, afi_pending_seconds: float) -> None:
    """Extend moto (this process) with FPGA images, FPGA Developer AMIs, instance hosts, host keys
    in the console output and FPGA spot prices; keep moto's instance type validation off (it
    rejects f1.*) and its default AMIs unloaded (each new region is ~10x faster to create)."""
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    moto_settings.EC2_ENABLE_INSTANCE_TYPE_VALIDATION = False
    set_pending_seconds(afi_pending_seconds)
    install_fpga_image_actions()
    install_fpga_developer_amis()
    install_instance_hosts(host_provider)
    install_console_output()
    install_spot_prices()


class CloudEndpoint:
    """moto with the sandbox's extensions, listening on several addresses that share its state."""

    def __init__(self, listen: Sequence[tuple[str, int]], *, host_provider: InstanceHostProvider | None = None,
                 afi_pending_seconds: float = DEFAULT_PENDING_SECONDS, cards: FpgaCards | None = None):
        self.listen = list(listen)
        self.cards = cards
        self.host_provider = host_provider
        self.afi_pending_seconds = afi_pending_seconds
        self._servers: list[BaseWSGIServer] = []
        self._threads: list[threading.Thread] = []

    @property
    def endpoints(self) -> list[str]:
        """The endpoint URL of each listening address, e.g. ``http://127.0.0.1:5000`` (port 0 resolved)."""
        return [f"http://{server.server_address[0]}:{server.server_address[1]}" for server in self._servers]

    def start(self) -> None:
        """Install the extensions, bind every address, and serve each from a daemon thread."""
        install_cloud_extensions(self.host_provider, self.afi_pending_seconds)
        app = SandboxRoutes(DomainDispatcherApplication(create_backend_app), self.cards)
        try:
            for host, port in self.listen:
                self._servers.append(make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler))
        except OSError:
            self.stop()
            raise
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
                                      name=f"cloud-endpoint:{server.server_port}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.cards is not None:
            self.cards.start()

    def stop(self) -> None:
        """Stop serving, close every listening socket, and leave instances to plain moto again."""
        for server in self._servers[:len(self._threads)]:
            server.shutdown()
        for thread in self._threads:
            thread.join()
        for server in self._servers:
            server.server_close()
        self._servers, self._threads = [], []
        if self.cards is not None:
            self.cards.stop()
        install_instance_hosts(None)

    def __enter__(self) -> CloudEndpoint:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parse_listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:5000`` for IPv6) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def load_host_provider(spec: str, state_dir: Path | None) -> InstanceHostProvider:
    """The provider made by ``MODULE:CALLABLE``, called with the state directory (or None)."""
    module_name, sep, attribute = spec.partition(":")
    if not sep:
        raise ValueError(f"{spec!r} is not MODULE:CALLABLE")
    factory = getattr(importlib.import_module(module_name), attribute)
    return factory(state_dir)


def _listen_addresses(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[tuple[str, int]]:
    try:
        return [parse_listen_address(value) for value in values]
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@click.command()
@click.option("--listen", "listen", multiple=True, default=("127.0.0.1:5000",), show_default=True,
              metavar="HOST:PORT", callback=_listen_addresses,
              help="An address to serve on (repeatable; all share one state). Port 0 picks a free port.")
@click.option("--afi-pending-seconds", type=click.FloatRange(min=0), default=DEFAULT_PENDING_SECONDS,
              show_default=True, help="How long a new or copied AFI stays pending before it settles.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Where to write {READY_FILE_NAME} once listening (created if missing).")
@click.option("--host-provider", metavar="MODULE:CALLABLE", default=None,
              help="Makes the InstanceHostProvider (called with the state directory) that runs the hosts "
                   "of EC2 instances; without it, instances are plain moto instances.")
def main(listen: list[tuple[str, int]], afi_pending_seconds: float, state_dir: Path | None,
         host_provider: str | None) -> None:
    """Run the sandbox's local AWS endpoint until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    provider = load_host_provider(host_provider, state_dir) if host_provider else None
    endpoint = CloudEndpoint(listen, host_provider=provider, afi_pending_seconds=afi_pending_seconds,
                             cards=fpga_cards(state_dir) if state_dir else None)
    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    signal.signal(signal.SIGINT, lambda *_: stop_requested.set())
    endpoint.start()
    ready_file = _write_ready_file(state_dir, endpoint.endpoints) if state_dir else None
    for url in endpoint.endpoints:
        print(f"listening {url}", flush=True)
    print("ready", flush=True)
    stop_requested.wait()
    log.info("stopping")
    endpoint.stop()
    if ready_file is not None:
        ready_file.unlink(missing_ok=True)


def fpga_cards(state_dir: Path) -> FpgaCards:
    """The FPGA cards of the sandbox in ``state_dir``: designs from the AFIs' package tags in this moto."""
    return FpgaCards(state_dir / "hosts", DesignCatalogue(state_dir / CARD_CACHE_DIR_NAME, package_from_moto))


def _write_ready_file(state_dir: Path, endpoints: list[str]) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    ready_file = state_dir / READY_FILE_NAME
    partial = ready_file.with_suffix(".partial")
    partial.write_text(json.dumps({"pid": os.getpid(), "endpoints": endpoints}) + "\n")
    partial.replace(ready_file)
    return ready_file
