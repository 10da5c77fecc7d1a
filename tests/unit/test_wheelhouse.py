"""Wheelhouses built by the real pip, offline, from wheels these tests make (no index is reached).

pip runs with ``PIP_NO_INDEX=1`` and ``PIP_FIND_LINKS`` pointing at a folder of wheels made here,
so the tests never download anything.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fpgaops.wheelhouse import (
    WheelhouseError,
    ensure_wheelhouse,
    failed_requirement,
    failed_source_build,
    wheelhouse_key,
)


def make_wheel(folder: Path, name: str, version: str = "1.0", body: str = "") -> Path:
    """A pure-python wheel ``<name>-<version>-py3-none-any.whl`` with one module ``<name>.py`` (``VERSION``, body).

    Example: ``make_wheel(tmp_path, "tinypkg")`` -> ``tmp_path/tinypkg-1.0-py3-none-any.whl``
    """
    folder.mkdir(parents=True, exist_ok=True)
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": f"VERSION = {version!r}\n{body}",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": ("Wheel-Version: 1.0\nGenerator: fpgaops-tests\nRoot-Is-Purelib: true\n"
                               "Tag: py3-none-any\n"),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist_info}/RECORD,,")
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return wheel


BACKEND = """\
import base64, hashlib, zipfile

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if {fail!r}:
        raise RuntimeError("this sdist does not build")
    name = "{name}-1.0-py3-none-any.whl"
    files = {{"{name}.py": "VERSION = '1.0'\\n",
             "{name}-1.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: {name}\\nVersion: 1.0\\n",
             "{name}-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}}
    digests = {{path: base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
               for path, text in files.items()}}
    record = [f"{{path}},sha256={{digests[path]}},{{len(text)}}" for path, text in files.items()]
    record.append("{name}-1.0.dist-info/RECORD,,")
    with zipfile.ZipFile(wheel_directory + "/" + name, "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)
        wheel.writestr("{name}-1.0.dist-info/RECORD", "\\n".join(record) + "\\n")
    return name
"""


def make_sdist(folder: Path, name: str, fail: bool = False) -> Path:
    """A source-only package ``<name>-1.0.zip`` whose in-tree build backend needs nothing from an index."""
    sdist = folder / f"{name}-1.0.zip"
    with zipfile.ZipFile(sdist, "w") as archive:
        archive.writestr(f"{name}-1.0/pyproject.toml", '[build-system]\nrequires = []\nbuild-backend = "backend"\n'
                                                         'backend-path = ["."]\n')
        archive.writestr(f"{name}-1.0/backend.py", BACKEND.format(name=name, fail=fail))
        archive.writestr(f"{name}-1.0/PKG-INFO", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    return sdist


@pytest.fixture
def wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip's only source: tinypkg 1.0 and 2.0 wheels, a source-only package, a source-only package that fails."""
    folder = tmp_path / "links"
    make_wheel(folder, "tinypkg", "1.0")
    make_wheel(folder, "tinypkg", "2.0")
    make_sdist(folder, "sdistonly")
    make_sdist(folder, "brokensdist", fail=True)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def requirements(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    return path


def test_the_wheels_of_a_requirements_file_land_in_a_folder_keyed_by_its_sha256(tmp_path: Path, wheels: Path) -> None:
    pinned = requirements(tmp_path, "tinypkg==1.0\n")
    root = tmp_path / "wheelhouse"

    folder = ensure_wheelhouse(pinned, root)

    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    assert folder == root / f"{hashlib.sha256(pinned.read_bytes()).hexdigest()[:16]}-{tag}"
    assert folder.name == wheelhouse_key(pinned, tag)
    assert [path.name for path in folder.iterdir()] == ["tinypkg-1.0-py3-none-any.whl"]
    assert [path.name for path in root.iterdir()] == [folder.name]  # no partial folder left


def test_an_existing_wheelhouse_is_reused_without_pip(tmp_path: Path, wheels: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pinned = requirements(tmp_path, "tinypkg==1.0\n")
    first = ensure_wheelhouse(pinned, tmp_path / "wheelhouse")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nothing-here"))  # pip could not find anything now

    assert ensure_wheelhouse(pinned, tmp_path / "wheelhouse") == first


def test_a_changed_requirements_file_gets_its_own_wheelhouse(tmp_path: Path, wheels: Path) -> None:
    one = ensure_wheelhouse(requirements(tmp_path, "tinypkg==1.0\n"), tmp_path / "wheelhouse")
    two = ensure_wheelhouse(requirements(tmp_path, "tinypkg==2.0\n"), tmp_path / "wheelhouse")

    assert one != two and [path.name for path in two.iterdir()] == ["tinypkg-2.0-py3-none-any.whl"]


def test_a_source_only_dependency_is_built_into_a_wheel(tmp_path: Path, wheels: Path) -> None:
    folder = ensure_wheelhouse(requirements(tmp_path, "tinypkg==1.0\nsdistonly==1.0\n"), tmp_path / "wheelhouse")
    assert sorted(path.name for path in folder.iterdir()) == [
        "sdistonly-1.0-py3-none-any.whl", "tinypkg-1.0-py3-none-any.whl"]


@pytest.mark.parametrize("line, message", [
    ("nosuchpkg==1.0", "pip found no distribution of nosuchpkg==1.0"),
    ("brokensdist==1.0", "brokensdist-1.0.zip has no wheel and building one failed:\n(.|\n)*does not build"),
])
def test_a_requirement_that_cannot_be_had_as_a_wheel_is_named_and_nothing_is_left_behind(
        tmp_path: Path, wheels: Path, line: str, message: str) -> None:
    root = tmp_path / "wheelhouse"
    with pytest.raises(WheelhouseError, match=message):
        ensure_wheelhouse(requirements(tmp_path, f"tinypkg==1.0\n{line}\n"), root)
    assert list(root.iterdir()) == []


def test_for_another_platform_source_only_packages_are_refused(tmp_path: Path, wheels: Path) -> None:
    with pytest.raises(WheelhouseError, match=r"no distribution of sdistonly==1.0 as a wheel \(--only-binary"):
        ensure_wheelhouse(requirements(tmp_path, "sdistonly==1.0\n"), tmp_path / "wheelhouse",
                          platforms=["manylinux2014_x86_64"], python_version="3.11")


def test_a_missing_requirements_file_or_python_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WheelhouseError, match="not found"):
        ensure_wheelhouse(tmp_path / "missing.txt", tmp_path / "wheelhouse")
    with pytest.raises(WheelhouseError, match="cannot run the python"):
        ensure_wheelhouse(requirements(tmp_path, "tinypkg==1.0\n"), tmp_path / "w", python="/nonexistent/python3")
    with pytest.raises(WheelhouseError, match="needs platforms"):
        ensure_wheelhouse(requirements(tmp_path, "tinypkg==1.0\n"), tmp_path / "w", python_version="3.11")


def test_wheels_for_another_platform_are_keyed_by_it(tmp_path: Path, wheels: Path) -> None:
    folder = ensure_wheelhouse(requirements(tmp_path, "tinypkg==1.0\n"), tmp_path / "wheelhouse",
                               platforms=["manylinux2014_x86_64"], python_version="3.11")
    assert folder.name.endswith("-cp311-manylinux2014_x86_64")
    assert [path.name for path in folder.iterdir()] == ["tinypkg-1.0-py3-none-any.whl"]


def test_the_failed_requirement_is_read_from_pips_own_words() -> None:
    assert failed_source_build("Collecting a==1\nProcessing ./links/b-1.0.zip\nerror: metadata-generation-failed") == (
        "b-1.0.zip")
    assert failed_source_build("Collecting a==1\nERROR: network is down") is None
    assert failed_requirement("ERROR: No matching distribution found for numpy==9.9\n") == "numpy==9.9"
    assert failed_requirement("ERROR: Could not find a version that satisfies the requirement x>=1 (from "
                              "versions: none)") == "x>=1"
    assert failed_requirement("ERROR: network is down") is None


def test_a_made_wheel_installs_with_pip(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "tinypkg", "1.0", body="def hello():\n    return 'hi'\n")
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, capture_output=True)
    assert (target / "tinypkg.py").read_text().startswith("VERSION = '1.0'")
