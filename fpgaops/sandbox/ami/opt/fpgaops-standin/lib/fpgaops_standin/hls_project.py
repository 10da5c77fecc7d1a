"""Reading an hls4ml project the way its build_prj.tcl drives the HLS tool.

hls4ml 1.3.0 writes, in its output directory: project.tcl (``set project_name "..."``, part,
clock_period, clock_uncertainty, version), build_prj.tcl (the flow, sourcing project.tcl and,
for the Vitis backend, build_opt.tcl), hls4ml_config.yml (InputShapes/OutputShapes),
firmware/<project>.cpp/.h (the top function), firmware/defines.h (typedefs),
firmware/parameters.h (one config struct per layer), firmware/weights/ and <project>_test.cpp.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .console import ToolError

BUILD_STEPS = ("reset", "csim", "synth", "cosim", "validation", "export", "vsynth", "fifo_opt")
BUILD_DEFAULTS = {
    "reset": False,
    "csim": True,
    "synth": True,
    "cosim": True,
    "validation": True,
    "export": False,
    "vsynth": False,
    "fifo_opt": False,
}
TCL_TRUE = {"1", "true", "yes", "on"}
TCL_FALSE = {"0", "false", "no", "off"}


@dataclass
class Port:
    """One argument of the top function: an array (io_parallel) or a stream (io_stream)."""

    name: str
    c_type: str
    elements: int
    element_bits: int
    is_output: bool
    is_stream: bool
    interface: str = "ap_vld"  # from the INTERFACE pragma
    reshaped: bool = True  # ARRAY_RESHAPE (one wide port) vs ARRAY_PARTITION (one port per element)

    @property
    def bits(self) -> int:
        """Total width of the argument."""
        return self.elements * self.element_bits


@dataclass
class Layer:
    """One layer config struct of parameters.h."""

    name: str
    kind: str  # dense | activation | other
    n_in: int
    n_out: int
    reuse_factor: int = 1
    n_zeros: int = 0
    strategy: str = "latency"
    weight_bits: int = 16
    table: bool = False  # activation computed with a lookup table (sigmoid, tanh, softmax...)


@dataclass
class HlsProject:
    """The parts of an hls4ml project the HLS tool reads."""

    root: Path
    script: Path
    name: str
    backend: str
    part: str
    clock_period: float
    clock_uncertainty_ns: float
    version: str
    tcl_vars: dict[str, str]
    ports: list[Port] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)
    pragmas: str = ""

    @property
    def top(self) -> str:
        """The top function (hls4ml names it after the project)."""
        return self.name

    @property
    def source(self) -> Path:
        """firmware/<project>.cpp."""
        return self.root / "firmware" / f"{self.name}.cpp"

    @property
    def testbench(self) -> Path:
        """<project>_test.cpp."""
        return self.root / f"{self.name}_test.cpp"


def read_tcl_sets(path: Path) -> dict[str, str]:
    """The ``set name value`` lines of a Tcl file, quotes and braces removed."""
    values = {}
    for line in path.read_text().splitlines():
        match = re.match(r"\s*set\s+(\w+)\s+(.+?)\s*$", line)
        if match:
            values[match.group(1)] = match.group(2).strip('"{}')
    return values


def parse_bool(name: str, text: str) -> bool:
    """A Tcl boolean (hls4ml passes Python's True/False)."""
    if text.lower() in TCL_TRUE:
        return True
    if text.lower() in TCL_FALSE:
        return False
    raise ToolError(f"ERROR: [HLS 200-101] expected boolean value for option '{name}' but got \"{text}\"")


def options_from_argv(args: list[str]) -> dict[str, bool]:
    """Build steps from vivado_hls arguments ``"reset=False csim=True ..."`` (build_prj.tcl's regexp)."""
    options = dict(BUILD_DEFAULTS)
    for arg in args:
        for step in BUILD_STEPS:
            match = re.search(rf"{step}=+(\w+)", arg)
            if match:
                options[step] = parse_bool(step, match.group(1))
    return options


def options_from_tcl(path: Path) -> dict[str, bool]:
    """Build steps from build_opt.tcl's ``array set opt {...}`` (Vitis backend)."""
    if not path.is_file():
        raise ToolError(f'ERROR: couldn\'t read file "{path}": no such file or directory')
    body = re.search(r"array\s+set\s+opt\s*\{(.*?)\}", path.read_text(), re.DOTALL)
    if not body:
        raise ToolError(f"ERROR: [HLS 200-101] {path.name}: no 'array set opt {{...}}' found")
    options = dict(BUILD_DEFAULTS)
    for name, value in re.findall(r"(\w+)\s+(\S+)", body.group(1)):
        if name in options:
            options[name] = parse_bool(name, value)
    return options


def read_project(script: Path, cwd: Path) -> HlsProject:
    """Read the project driven by ``script`` (build_prj.tcl) run in ``cwd``; ToolError when it cannot be run.

    As in Tcl, project.tcl is found beside the script and the project's files relative to ``cwd``.
    """
    if not script.is_file():
        raise ToolError(f'ERROR: couldn\'t read file "{script}": no such file or directory')
    text = script.read_text()
    project_tcl = script.resolve().parent / "project.tcl"
    if "project.tcl" not in text or "csynth_design" not in text:
        raise ToolError(
            f"ERROR: [HLS 200-101] '{script.name}' is not an hls4ml build script: the fpgaops "
            "sandbox stand-in only runs hls4ml's build_prj.tcl"
        )
    if not project_tcl.is_file():
        raise ToolError(f'ERROR: couldn\'t read file "{project_tcl}": no such file or directory')
    values = read_tcl_sets(project_tcl)
    for key in ("project_name", "part", "clock_period"):
        if key not in values:
            raise ToolError(f'ERROR: can\'t read "{key}": no such variable')
    period = _number(values["clock_period"], "clock_period")
    return HlsProject(
        root=cwd,
        script=script.resolve(),
        name=values["project_name"],
        backend=values.get("backend", "vivado"),
        part=values["part"],
        clock_period=period,
        clock_uncertainty_ns=_uncertainty(values.get("clock_uncertainty", "12.5%"), period),
        version=values.get("version", "1.0.0"),
        tcl_vars=values,
    )


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ToolError(f"ERROR: [SYN 201-202] Invalid value '{text}' for {name}: expected a positive number of ns.")
    return value


def _uncertainty(text: str, period: float) -> float:
    if text.endswith("%"):
        return period * _number(text[:-1], "clock_uncertainty") / 100
    return _number(text, "clock_uncertainty")


def source_files(project: HlsProject) -> list[tuple[Path, bool]]:
    """The ``add_files`` of the build script as (path, is_testbench), ${project_name} expanded, each once."""
    files = []
    for flags, name in re.findall(r"^\s*add_files\s+(-tb\s+)?(\S+)", project.script.read_text(), re.MULTILINE):
        path = project.root / name.replace("${project_name}", project.name).replace("$project_name", project.name)
        if all(path != known for known, _ in files):
            files.append((path, bool(flags)))
    return files


def read_design(project: HlsProject) -> None:
    """Fill in the top function's ports, the pragmas and the layers from the firmware sources."""
    source = project.source.read_text()
    match = re.search(rf"\bvoid\s+{re.escape(project.top)}\s*\(([^)]*)\)\s*\{{", source)
    if not match:
        raise ToolError(
            f"ERROR: [HLS 200-1703] Cannot find the top function '{project.top}' in the design. "
            "Possible causes are: (1) the top function name is misspelled; (2) the top function "
            "is nonexistent or declared as static."
        )
    project.pragmas = source[match.end() :]
    widths = _typedef_widths(project.root / "firmware" / "defines.h")
    outputs = _yaml_section_keys(project.root / "hls4ml_config.yml", "OutputShapes")
    arguments = _split_arguments(match.group(1))
    project.ports = [
        _port(arg, widths, outputs, last=i == len(arguments) - 1, pragmas=project.pragmas)
        for i, arg in enumerate(arguments)
    ]
    project.layers = _layers(project.root / "firmware" / "parameters.h", widths)


def _split_arguments(text: str) -> list[str]:
    args, depth, current = [], 0, ""
    for char in text:
        depth += {"<": 1, ">": -1}.get(char, 0)
        if char == "," and depth == 0:
            args.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        args.append(current.strip())
    return args


def _port(arg: str, widths: dict[str, tuple[int, int]], outputs: list[str] | None, last: bool, pragmas: str) -> Port:
    stream = re.fullmatch(r"hls::stream<\s*(\w+)\s*>\s*&\s*(\w+)", arg)
    array = re.fullmatch(r"(\w+)\s+(\w+)\s*\[([\d\s*]+)\]", arg)
    if stream:
        c_type, name = stream.groups()
        elements = widths.get(c_type, (16, 1))[1]
    elif array:
        c_type, name, size = array.groups()
        elements = math.prod(int(n) for n in size.split("*"))
    else:
        raise ToolError(f"ERROR: [HLS 214-100] Unsupported top-level argument '{arg}'.")
    is_output = name in outputs if outputs is not None else last
    interface = re.search(rf"#pragma\s+HLS\s+INTERFACE\s+(\w+)\s+port=[\w,]*\b{name}\b", pragmas)
    partitioned = re.search(rf"#pragma\s+HLS\s+ARRAY_PARTITION\s+variable={name}\b", pragmas)
    return Port(
        name=name,
        c_type=c_type,
        elements=elements,
        element_bits=widths.get(c_type, (16, 1))[0],
        is_output=is_output,
        is_stream=bool(stream),
        interface=interface.group(1) if interface else ("axis" if stream else "ap_vld"),
        reshaped=not partitioned,
    )


TYPE_RE = r"ap_u?(?:fixed|int)<\s*(\d+)[^>]*>"


def _typedef_widths(defines: Path) -> dict[str, tuple[int, int]]:
    """typedef name -> (bits of one element, elements): ``ap_fixed<16,6>`` or ``nnet::array<ap_fixed<16,6>, 30*1>``."""
    widths = {}
    if not defines.is_file():
        return widths
    for line in defines.read_text().splitlines():
        array = re.match(rf"\s*typedef\s+nnet::array<\s*{TYPE_RE}\s*,\s*([\d\s*]+)>\s*(\w+)\s*;", line)
        scalar = re.match(rf"\s*typedef\s+{TYPE_RE}\s+(\w+)\s*;", line)
        if array:
            widths[array.group(3)] = (int(array.group(1)), math.prod(int(n) for n in array.group(2).split("*")))
        elif scalar:
            widths[scalar.group(2)] = (int(scalar.group(1)), 1)
    return widths


def _yaml_section_keys(path: Path, section: str) -> list[str] | None:
    """The keys directly under a top-level section of hls4ml_config.yml (no YAML library on the hosts)."""
    if not path.is_file():
        return None
    keys, inside = [], False
    for line in path.read_text().splitlines():
        if not line.startswith(" "):
            inside = line.rstrip() == f"{section}:"
            continue
        match = re.match(r"  (\w+):", line)
        if inside and match:
            keys.append(match.group(1))
    return keys


def _layers(parameters: Path, widths: dict[str, tuple[int, int]]) -> list[Layer]:
    if not parameters.is_file():
        raise ToolError(f"ERROR: [HLS 214-124] firmware/{parameters.name}: file not found (included by the design)")
    layers = []
    for name, base, body in re.findall(
        r"struct\s+(\w+)\s*:\s*nnet::(\w+)\s*\{(.*?)\n\};", parameters.read_text(), re.DOTALL
    ):
        values = dict(re.findall(r"static\s+const\s+\w+\s+(\w+)\s*=\s*([^;]+);", body))
        types = dict((alias, real) for real, alias in re.findall(r"typedef\s+(\w+)\s+(\w+)\s*;", body))
        number = _int_or(values)
        kind = {"dense_config": "dense", "activ_config": "activation"}.get(base, "other")
        layers.append(
            Layer(
                name=name,
                kind=kind,
                n_in=number("n_in", 1),
                n_out=number("n_out", number("n_in", 1)),
                reuse_factor=max(1, number("reuse_factor", 1)),
                n_zeros=number("n_zeros", 0),
                strategy="resource" if "resource" in values.get("strategy", "") else "latency",
                weight_bits=widths.get(types.get("weight_t", ""), (16, 1))[0],
                table="table_t" in types and not name.startswith("relu"),
            )
        )
    return layers


def _int_or(values: dict[str, str]):
    def number(key: str, default: int) -> int:
        text = values.get(key, "").strip()
        return int(text) if text.isdigit() else default

    return number
