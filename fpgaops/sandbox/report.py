"""How the sandbox's state is shown to a person (rich tables)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from fpgaops.sandbox.lifecycle import STAND_IN_NOTICE, SandboxStatus


def show_status(st: SandboxStatus, console: Console | None = None) -> None:
    """Print the endpoint, the hosts and the network of a sandbox."""
    console = console or Console()
    cfg = st.cfg
    console.print(f"[bold]{STAND_IN_NOTICE}[/bold]")
    endpoint = (f"[green]up[/green] {cfg.endpoint_url} (hosts reach it at {cfg.endpoint_url_for_hosts}), "
                f"pid {st.endpoint_pid}" if st.endpoint_pid else "[dim]down[/dim]")
    console.print(f"AWS endpoint: {endpoint}")
    table = Table("host", "role", "address", "user", "FPGA", "instance", "state", title="sandbox hosts")
    for h in st.hosts:
        spec = h.spec
        fpga = f"{spec.fpga_platform} x{spec.fpga_slots}" if spec.fpga_platform else "-"
        state = "[green]running[/green]" if h.running else "[yellow]stopped[/yellow]"
        table.add_row(spec.name, spec.role, spec.address, spec.login_user, fpga, spec.instance_id or "-", state)
    console.print(table if st.hosts else "no hosts")
    console.print(f"network: bridge {cfg.bridge} {cfg.subnet_prefix}.0/24, "
                  f"{len(st.namespaces)} namespaces, links: {', '.join(st.links) or 'none'}")
    if st.hosts:
        console.print(f"inventory: {cfg.inventory_path}   ssh by hand: ssh -F {cfg.ssh_config} <host>")
