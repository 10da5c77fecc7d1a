"""Facts about what answers on the network, probed from the host itself (one quick try each)."""

from __future__ import annotations

from dataclasses import dataclass
from shlex import quote

from fpgaops.core import Fact

# One HTTP GET, or a loop of them until a deadline: prints the last answer (a status code, or why
# there was none); exits 1, saying so on stderr, unless it is the wanted status.
# urllib, since curl may be absent; an HTTP error status is an answer, not a failure.
HTTP_PROBE = """\
import sys, time, urllib.error, urllib.request
url, wanted, deadline = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
while True:
    try:
        answer = urllib.request.urlopen(url, timeout=5).status
    except urllib.error.HTTPError as error:
        answer = error.code
    except Exception as error:
        answer = f"no answer ({error})"
    if answer == wanted or time.time() >= deadline:
        break
    time.sleep(1)
print(answer)
if answer != wanted:
    sys.exit(f"{url} answered {answer}, not {wanted}")
"""


def tcp_probe(host: str, port: int) -> str:
    """A command that exits 0 when ``host:port`` accepts a TCP connection within 2 s (bash /dev/tcp)."""
    return f"timeout 2 bash -c 'exec 3<>\"/dev/tcp/$0/$1\"' {quote(host)} {port}"


@dataclass(frozen=True)
class PortOpen(Fact[bool]):
    """Whether ``host:port`` accepts a TCP connection from the host now (one try, 2 s at most).

    Args: host, port: the address, as seen from the host.
    Example: ``PortOpen("127.0.0.1", 8080)`` -> True once the service listens
    """

    name = "port_open"
    host: str
    port: int

    def command(self) -> str:
        return f"{tcp_probe(self.host, self.port)} </dev/null"

    def process(self, output: str, status: int) -> bool:
        return status == 0


@dataclass(frozen=True)
class HttpStatus(Fact[int | None]):
    """The HTTP status code a GET of ``url`` gets from the host now, or None when nothing answers.

    Args: url: as seen from the host (python3 urllib: http or https).
    Example: ``HttpStatus("http://127.0.0.1:8080/health")`` -> 200
    """

    name = "http_status"
    url: str

    def command(self) -> str:
        return f"python3 -c {quote(HTTP_PROBE)} {quote(self.url)} 0 0 </dev/null"

    def process(self, output: str, status: int) -> int | None:
        last = output.strip().splitlines()[-1] if output.strip() else ""
        return int(last) if last.isdigit() else None
