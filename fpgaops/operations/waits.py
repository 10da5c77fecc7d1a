"""Waits: until a port accepts connections or a URL answers a status, checked from the host itself.

A wait first reads a quick probe as a fact (read again when an earlier step of the role changed
something): when the host already answers there is nothing to do; otherwise its Change is a
non-mutating command looping on the host until the answer or the deadline.
"""

from __future__ import annotations

from collections.abc import Iterable
from shlex import quote

from fpgaops.core import Change, Command, Operation
from fpgaops.facts import HttpStatus, PortOpen
from fpgaops.facts.network import HTTP_PROBE, tcp_probe
from fpgaops.operations.operation import declare

__all__ = ["http_status", "port_open"]


def port_open(
    host: str, port: int, *, timeout_s: float = 60, tags: Iterable[str] = (), notify: Iterable[str] = ()
) -> Operation:
    """Wait until ``host:port`` accepts TCP connections from the host (bash ``/dev/tcp``), at most ``timeout_s``.

    Args: host, port: the address, as seen from the host; timeout_s: the deadline in seconds.
    tags, notify: as for ``files.file``.
    Example: ``port_open("127.0.0.1", 8080, timeout_s=30)``
    """
    port = int(port)
    probe = PortOpen(host, port)
    deadline = int(timeout_s)
    message = quote(f"{host}:{port} still closed after {deadline} s")
    loop = (f"deadline=$(( $(date +%s) + {deadline} )); until {tcp_probe(host, port)} </dev/null 2>/dev/null;"
            f" do [ $(date +%s) -lt $deadline ] || {{ echo {message} >&2; exit 1; }}; sleep 1; done")
    return declare(f"wait for {host}:{port}", [probe],
                   lambda values: None if values[probe] else Change(
                       description=f"wait up to {deadline} s for {host}:{port}",
                       commands=(Command(shell=loop, mutating=False),)),
                   tags=tags, notify=notify, reread=True)


def http_status(
    url: str, status: int = 200, *, timeout_s: float = 60, tags: Iterable[str] = (), notify: Iterable[str] = ()
) -> Operation:
    """Wait until a GET of ``url`` from the host answers ``status`` (python3 urllib), at most ``timeout_s``.

    Args: url: as seen from the host; status: the wanted HTTP status; timeout_s: the deadline in seconds.
    tags, notify: as for ``files.file``.
    Example: ``http_status("http://127.0.0.1:8080/health", timeout_s=30)``
    """
    probe = HttpStatus(url)
    loop = f"python3 -c {quote(HTTP_PROBE)} {quote(url)} {int(status)} {float(timeout_s)} </dev/null"
    return declare(f"wait for {url} to answer {status}", [probe],
                   lambda values: None if values[probe] == status else Change(
                       description=f"wait up to {timeout_s:g} s for {url} to answer {status}",
                       commands=(Command(shell=loop, mutating=False),)),
                   tags=tags, notify=notify, reread=True)
