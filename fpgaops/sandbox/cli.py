"""``python -m fpgaops.sandbox up|status|down``: the same commands as ``fab sandbox.*``."""

from __future__ import annotations

from pathlib import Path

import click

from fpgaops.platforms import DEFAULT_PLATFORM, PLATFORMS
from fpgaops.sandbox import lifecycle
from fpgaops.sandbox.config import DEFAULT_INVENTORY, DEFAULT_STATE_DIR, SandboxConfig
from fpgaops.sandbox.errors import SandboxError
from fpgaops.sandbox.report import show_status
from fpgaops.sandbox.topology import parse_hosts


def run_or_explain(action):
    """Run ``action``; expected failures become a one-paragraph error and exit status 1."""
    try:
        return action()
    except SandboxError as err:
        raise click.ClickException(str(err)) from None


state_dir_option = click.option("--state-dir", type=click.Path(path_type=Path), default=DEFAULT_STATE_DIR,
                                show_default=True, help="Where the sandbox keeps keys, hosts and logs.")


@click.group()
def main() -> None:
    """The fpgaops sandbox: a local stand-in for AWS with real SSH hosts (needs root)."""


@main.command()
@click.option("--hosts", "hosts_value", default="", help="Static hosts, e.g. dev,f1-a,f1-b,errgen "
              "(name:f1 picks a host's platform).")
@click.option("--platform", type=click.Choice(sorted(PLATFORMS)), default=DEFAULT_PLATFORM.name,
              show_default=True, help="Default FPGA platform of static hosts.")
@click.option("--cloud/--no-cloud", default=True, show_default=True, help="Run the local AWS endpoint.")
@click.option("--port", type=int, default=4566, show_default=True, help="Port of the local AWS endpoint.")
@click.option("--network-index", type=click.IntRange(0, 255), default=0, show_default=True,
              help="Use 10.200.N.0/24 (run several sandboxes side by side).")
@click.option("--inventory", type=click.Path(path_type=Path), default=DEFAULT_INVENTORY, show_default=True)
@state_dir_option
def up(hosts_value: str, platform: str, cloud: bool, port: int, network_index: int, inventory: Path,
       state_dir: Path) -> None:
    """Bring the sandbox up (hosts, endpoint); rerunning it changes nothing."""
    cfg = SandboxConfig(state_dir=state_dir.resolve(), inventory_path=inventory.resolve(),
                        network_index=network_index, endpoint_port=port)
    show_status(run_or_explain(lambda: lifecycle.up(cfg, parse_hosts(hosts_value, platform), cloud=cloud)))


@main.command()
@state_dir_option
def status(state_dir: Path) -> None:
    """Show the sandbox's endpoint, hosts and network."""
    show_status(lifecycle.status(SandboxConfig.load(state_dir.resolve())))


@main.command()
@state_dir_option
def down(state_dir: Path) -> None:
    """Stop every host and the endpoint, remove namespaces, links and written files."""
    show_status(run_or_explain(lambda: lifecycle.down(SandboxConfig.load(state_dir.resolve()))))
