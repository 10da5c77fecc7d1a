"""The design behind an AGFI: the model package its AFI was tagged with, unpacked and emulated once.

``DesignCatalogue.prepare(agfi, region)`` starts (in a background thread) or reports the work:
find the package tarball of the AFI (``find_package``: bytes, or None for an AFI without the
``fpgaops:package`` tag), unpack it into ``<cache_dir>/<sha256 of the tarball>/`` (safe extraction,
atomic rename: another endpoint run reuses it), load it with ``ModelPackage.load`` and build its C
emulation (``CsimBackend``, compiled under the same cache folder). Packages with the same bytes share
one emulation. States: ``preparing``, ``ready``, ``no-design`` (untagged AFI), ``failed`` (message says why).

Example::

    catalogue = DesignCatalogue(state_dir / "fpga-card-cache", package_from_moto)
    catalogue.prepare("agfi-0123456789abcdef0", "us-east-1").state     # 'preparing', later 'ready'
    catalogue.design("agfi-0123456789abcdef0", "us-east-1")            # Design, or None
"""

from __future__ import annotations

import hashlib
import io
import logging
import shutil
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fpgaops.sandbox.card.registers import Design
from fpgaops.tarballs import plain_members

log = logging.getLogger(__name__)

PREPARING, READY, NO_DESIGN, FAILED = "preparing", "ready", "no-design", "failed"
RETRY_FAILED_S = 30.0  # a failed preparation is final this long (a load then answers all ones), then retried
PackageFinder = Callable[[str, str], bytes | None]  # (agfi, region) -> tarball bytes | None; LookupError if unknown


@dataclass(frozen=True)
class DesignState:
    """Where the preparation of one AGFI's design stands."""

    state: str
    message: str = ""
    design: Design | None = None
    since: float = field(default_factory=time.monotonic)

    def to_json(self) -> dict[str, str]:
        """What the /_sandbox/ routes answer."""
        return {"state": self.state, "message": self.message}


def unpack_package(tarball: bytes, cache_dir: Path) -> Path:
    """The package folder of a model package tarball, unpacked once into ``cache_dir/<sha256>/``.

    Example: ``unpack_package(data, Path("cache"))`` -> ``cache/<sha256>/beat-model-e6cc243a41685dcb``.
    """
    digest = hashlib.sha256(tarball).hexdigest()
    target = cache_dir / digest
    if not target.is_dir():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=cache_dir))
        try:
            with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:*") as archive:
                archive.extractall(partial / "package", members=plain_members(archive))
            partial.replace(target)
        except FileExistsError:  # another thread unpacked the same bytes first
            shutil.rmtree(partial, ignore_errors=True)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    folders = [p for p in (target / "package").iterdir() if (p / "manifest.json").is_file()]
    if len(folders) != 1:
        raise ValueError("the tarball does not hold exactly one model package folder (with manifest.json)")
    return folders[0]


def emulated_design(folder: Path, build_dir: Path) -> Design:
    """The Design of a model package folder: identity and window from its manifest, compute by its C emulation.

    Example: ``emulated_design(Path("beat-model-e6cc..."), Path("csim")).model_id`` -> ``0xF3DBDB91``.
    """
    from rhythm_service.backends.csim import CsimBackend
    from rhythm_service.model_package import ModelPackage

    package = ModelPackage.load(folder)
    return Design.of_package(package, CsimBackend(package, build_dir=build_dir).predict_one)


class DesignCatalogue:
    """AGFI -> Design, prepared in the background and kept for the life of the process."""

    def __init__(self, cache_dir: Path, find_package: PackageFinder,
                 build_design: Callable[[Path, Path], Design] = emulated_design):
        self.cache_dir = Path(cache_dir)
        self.find_package = find_package
        self.build_design = build_design
        self._lock = threading.Lock()
        self._states: dict[tuple[str, str], DesignState] = {}
        self._by_content: dict[str, Design] = {}  # tarball sha256 -> Design

    def prepare(self, agfi: str, region: str) -> DesignState:
        """The state of the AGFI's design; starts preparing it if nobody has (a failure, after RETRY_FAILED_S)."""
        key = (agfi, region)
        with self._lock:
            state = self._states.get(key)
            if state is not None and (state.state != FAILED or time.monotonic() - state.since < RETRY_FAILED_S):
                return state
            state = self._states[key] = DesignState(PREPARING, f"preparing the design of {agfi}")
        threading.Thread(target=self._prepare, args=key, name=f"card-design:{agfi}", daemon=True).start()
        return state

    def state(self, agfi: str, region: str) -> DesignState | None:
        """The state of the AGFI's design, without starting anything."""
        with self._lock:
            return self._states.get((agfi, region))

    def wait(self, agfi: str, region: str, timeout_s: float) -> DesignState:
        """Prepare and wait (polling) until the state is not ``preparing`` or the time is over."""
        deadline = time.monotonic() + timeout_s
        state = self.prepare(agfi, region)
        while state.state == PREPARING and time.monotonic() < deadline:
            time.sleep(0.02)
            state = self.state(agfi, region) or state
        return state

    def _prepare(self, agfi: str, region: str) -> None:
        try:
            tarball = self.find_package(agfi, region)
            if tarball is None:
                result = DesignState(NO_DESIGN, f"{agfi} has no model package tag: its BAR reads 0xFFFFFFFF")
            else:
                digest = hashlib.sha256(tarball).hexdigest()
                with self._lock:
                    design = self._by_content.get(digest)
                if design is None:
                    folder = unpack_package(tarball, self.cache_dir)
                    design = self.build_design(folder, self.cache_dir / "csim")
                    with self._lock:
                        design = self._by_content.setdefault(digest, design)
                result = DesignState(READY, f"{agfi}: {design.name}", design)
        except Exception as error:  # reported to the tool and the log; the next prepare retries
            log.exception("preparing the design of %s failed", agfi)
            result = DesignState(FAILED, f"{agfi}: {type(error).__name__}: {error}")
        with self._lock:
            self._states[(agfi, region)] = result
