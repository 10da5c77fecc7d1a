"""Where a sandbox keeps its state and which addresses it uses.

One sandbox = one state directory, one bridge and one /24 inside 10.200.0.0/16 (the whole /16
is blackholed so nothing addressed there ever leaves the machine).  Tests run their own
sandboxes beside a user's by choosing another ``network_index`` and state directory.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

SANDBOX_SUPERNET = "10.200.0.0/16"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = PROJECT_ROOT / ".sandbox"
DEFAULT_INVENTORY = PROJECT_ROOT / "inventory" / "sandbox.yml"
CONFIG_FILE = "sandbox.json"


@dataclass(frozen=True)
class Timings:
    """How long the stand-ins take, in seconds: short, but long enough to be seen."""

    fpga_busy_s: float = 2.0  # an -A load/clear leaves the slot busy this long
    hls_synth_s: float = 3.0  # the HLS synthesis stand-in
    dcp_build_s: float = 5.0  # the HDK DCP build stand-in
    afi_pending_s: float = 8.0  # an AFI stays pending this long before ingestion


@dataclass(frozen=True)
class SandboxConfig:
    """A sandbox's fixed settings, saved in its state directory by ``up``."""

    state_dir: Path = DEFAULT_STATE_DIR
    inventory_path: Path = DEFAULT_INVENTORY
    network_index: int = 0
    endpoint_port: int = 4566
    region: str = "us-east-1"
    timings: Timings = field(default_factory=Timings)

    def __post_init__(self) -> None:
        if not 0 <= self.network_index <= 255:
            raise ValueError(f"network_index must be 0..255, not {self.network_index}")

    @property
    def subnet_prefix(self) -> str:
        return f"10.200.{self.network_index}"

    @property
    def gateway(self) -> str:
        """The bridge's address: the laptop side, where the local AWS endpoint also listens."""
        return f"{self.subnet_prefix}.1"

    @property
    def bridge(self) -> str:
        return f"fpgaops{self.network_index}"

    @property
    def endpoint_url(self) -> str:
        """The local AWS endpoint as the toolkit on this machine reaches it."""
        return f"http://127.0.0.1:{self.endpoint_port}"

    @property
    def endpoint_url_for_hosts(self) -> str:
        """The local AWS endpoint as sandbox hosts reach it (through the bridge)."""
        return f"http://{self.gateway}:{self.endpoint_port}"

    @property
    def hosts_dir(self) -> Path:
        return self.state_dir / "hosts"

    @property
    def client_key(self) -> Path:
        """The private key the toolkit logs in with (its .pub is authorized on static hosts)."""
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def ssh_config(self) -> Path:
        return self.state_dir / "ssh_config"

    @property
    def artifacts_dir(self) -> Path:
        return self.state_dir / "artifacts"

    def is_saved(self) -> bool:
        """True once ``up`` has saved this sandbox's config in its state directory."""
        return (self.state_dir / CONFIG_FILE).exists()

    def save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data["state_dir"] = str(self.state_dir)
        data["inventory_path"] = str(self.inventory_path)
        (self.state_dir / CONFIG_FILE).write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, state_dir: Path) -> SandboxConfig:
        """The config saved by ``up`` in ``state_dir`` (defaults when there is none yet)."""
        path = Path(state_dir) / CONFIG_FILE
        if not path.exists():
            return cls(state_dir=Path(state_dir))
        data = json.loads(path.read_text())
        data["state_dir"] = Path(data["state_dir"])
        data["inventory_path"] = Path(data["inventory_path"])
        data["timings"] = Timings(**data["timings"])
        return cls(**data)
