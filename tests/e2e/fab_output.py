"""Reading what `fab` printed: its recap tables (used by the e2e tests and bench/deploy)."""

from __future__ import annotations


def recap(stdout: str) -> dict[str, dict[str, str]]:
    """The (first) recap table's rows: host -> {column: value}."""
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in stdout.splitlines() if line.startswith("│")]
    header = [cell.strip() for cell in next(line for line in stdout.splitlines() if "┃ host" in line).split("┃")[1:-1]]
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}


def recaps(stdout: str) -> list[dict[str, dict[str, str]]]:
    """Every recap table a multi-step task printed, in order."""
    return [recap(part) for part in stdout.split("RECAP")[1:]]


def changed(stdout: str) -> dict[str, int]:
    """Changes per host summed over every recap of the run."""
    total: dict[str, int] = {}
    for table in recaps(stdout):
        for host, row in table.items():
            total[host] = total.get(host, 0) + int(row["changed"])
    return total
