"""``fab benchmark``'s report on the laptop: one table of every FPGA host's backends, the JSON, a chart.

Example::

    show_report({"f1-a": report}, console)
    save_report({"f1-a": report}, Path("build/deploy/benchmark"))   # -> [hosts.json, hosts.png]
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table


def rows(reports: dict[str, dict]) -> list[tuple[str, str, dict]]:
    """``(host, backend, measurements)`` for every backend of every host, in order."""
    return [(host, label, row) for host, report in reports.items() for label, row in report["backends"].items()]


def show_report(reports: dict[str, dict], console: Console) -> None:
    """Print the table: p50, p99 and windows/s per host and backend, or why a backend was skipped."""
    table = Table("host", "backend", "p50 (us)", "p99 (us)", "windows/s", title="inference on the FPGA hosts")
    for host, label, row in rows(reports):
        if "skipped" in row:
            table.add_row(host, label, "-", "-", f"skipped: {row['skipped'][:60]}")
        else:
            table.add_row(host, label, f"{row['p50_us']:.1f}", f"{row['p99_us']:.1f}", f"{row['windows_per_s']:,.0f}")
    console.print(table)


def save_report(reports: dict[str, dict], folder: Path) -> list[Path]:
    """Write ``hosts.json`` and a log-scale bar chart ``hosts.png`` (p50 latency per host and backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "hosts.json"
    data.write_text(json.dumps(reports, indent=2) + "\n")
    measured = [(f"{host}\n{label}", row["p50_us"]) for host, label, row in rows(reports) if "p50_us" in row]
    figure, axes = plt.subplots(figsize=(max(4, 1.2 * len(measured)), 4))
    axes.bar([name for name, _ in measured], [value for _, value in measured])
    axes.set_yscale("log")
    axes.set_ylabel("p50 latency per window (us, log scale)")
    axes.set_title("fab benchmark: inference on the FPGA hosts")
    figure.tight_layout()
    chart = folder / "hosts.png"
    figure.savefig(chart, dpi=100)
    plt.close(figure)
    return [data, chart]
