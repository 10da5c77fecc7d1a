"""What an hls4ml project computes, read from its generated firmware: types, layer order, layer configs.

The fixed-point CPU backend reproduces the C emulation from this description, so it follows the
project actually packaged (its precisions, accumulators, activation formats, table sizes) rather
than assumptions:

- ``firmware/defines.h``: ``typedef ap_fixed<W,I[,Q,O,N]> name;`` / ``ap_ufixed`` -> ``FixedType``;
- ``firmware/parameters.h``: ``struct configN : nnet::dense_config`` / ``nnet::activ_config``
  (``n_in``, ``n_out``, ``table_size``, ``accum_t``/``weight_t``/``bias_t``/``table_t``);
- ``firmware/<project>.cpp``: the top's input/output types and the ``nnet::<layer><data, res, config>``
  calls in order (``dense``, ``relu``, ``linear``, ``sigmoid``; anything else is refused).

Only io_parallel ``Latency`` projects with these layer kinds are supported (what hls_model writes).

Example::

    firmware = read_firmware(Path("hls/hls_project"), "beat_detector")
    [layer.kind for layer in firmware.layers]    # ['dense', 'relu', 'dense', 'relu', 'dense', 'sigmoid']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

SUPPORTED_LAYERS = ("dense", "relu", "linear", "sigmoid")
QUANTIZATION_MODES = ("AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_MIN_INF", "AP_RND_INF", "AP_RND_CONV")
OVERFLOW_MODES = ("AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM")


class FirmwareError(ValueError):
    """An hls4ml project this code cannot read or does not reproduce."""


@dataclass(frozen=True)
class FixedType:
    """An ``ap_fixed``/``ap_ufixed`` type: width, integer bits (sign included), signedness, modes."""

    width: int
    integer: int
    signed: bool = True
    quantization: str = "AP_TRN"
    overflow: str = "AP_WRAP"

    @property
    def fraction(self) -> int:
        """Bits after the binary point."""
        return self.width - self.integer

    @property
    def raw_min(self) -> int:
        """Smallest raw (integer) value."""
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def raw_max(self) -> int:
        """Largest raw (integer) value."""
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @classmethod
    def parse(cls, text: str) -> FixedType:
        """``ap_fixed<16,6>``, ``ap_ufixed<8,3,AP_RND_CONV,AP_SAT,0>`` -> ``FixedType``.

        Example: ``FixedType.parse("ap_ufixed<8,3,AP_RND_CONV,AP_SAT,0>").overflow`` -> ``'AP_SAT'``.
        """
        match = re.fullmatch(r"\s*ap_(u?)fixed\s*<([^>]*)>\s*", text)
        if not match:
            raise FirmwareError(f"not an ap_fixed/ap_ufixed type: {text!r}")
        fields = [f.strip() for f in match.group(2).split(",")]
        quantization = fields[2] if len(fields) > 2 else "AP_TRN"
        overflow = fields[3] if len(fields) > 3 else "AP_WRAP"
        if quantization not in QUANTIZATION_MODES or overflow not in OVERFLOW_MODES:
            raise FirmwareError(f"unsupported quantization/overflow mode in {text!r}")
        if len(fields) > 4 and int(fields[4]) != 0:
            raise FirmwareError(f"saturation bits other than 0 are not supported: {text!r}")
        return cls(int(fields[0]), int(fields[1]), not match.group(1), quantization, overflow)


@dataclass(frozen=True)
class Layer:
    """One ``nnet::`` call of the top function with its resolved types and configuration."""

    kind: str  # dense | relu | linear | sigmoid
    name: str  # the Keras layer name (the call's trailing comment)
    data: FixedType
    result: FixedType
    n_in: int
    n_out: int
    accum: FixedType | None = None  # dense
    weight: FixedType | None = None  # dense
    bias: FixedType | None = None  # dense
    table: FixedType | None = None  # sigmoid
    table_size: int = 0  # sigmoid


@dataclass(frozen=True)
class Firmware:
    """The top's input and output types and its layers in call order."""

    input: FixedType
    output: FixedType
    layers: tuple[Layer, ...]

    @property
    def input_count(self) -> int:
        """How many input values the top takes (its first layer's ``n_in``)."""
        return self.layers[0].n_in


def read_types(defines_h: str) -> dict[str, FixedType]:
    """The fixed-point typedefs of ``defines.h`` (other typedefs are skipped).

    Example: ``read_types("typedef ap_fixed<16,6> input_t;")`` -> ``{"input_t": FixedType(16, 6)}``.
    """
    types = {}
    for text, name in re.findall(r"typedef\s+(ap_u?fixed\s*<[^>]*>)\s+(\w+)\s*;", defines_h):
        types[name] = FixedType.parse(text)
    return types


def read_configs(parameters_h: str) -> dict[str, dict[str, str]]:
    """``{struct name: {member: value}}`` of the layer configs of ``parameters.h`` (values as text).

    Example: ``read_configs(text)["config3"]["accum_t"]`` -> ``'dense_1_accum_t'``.
    """
    configs = {}
    for name, body in re.findall(r"struct\s+(\w+)\s*:\s*nnet::\w+\s*\{(.*?)\n\};", parameters_h, flags=re.S):
        members = dict(re.findall(r"static const \w+(?: \w+)?\s+(\w+)\s*=\s*([^;]+);", body))
        members.update({alias: target for target, alias in re.findall(r"typedef\s+(\w+)\s+(\w+)\s*;", body)})
        configs[name] = members
    return configs


def read_firmware(project: Path, project_name: str) -> Firmware:
    """Read an hls4ml project's firmware folder into a ``Firmware`` (raises ``FirmwareError``).

    Args:
        project: the hls4ml project folder (holding ``firmware/``).
        project_name: the top function's name (``beat_detector``).

    Example: ``read_firmware(package.hls_project, package.project_name).output``.
    """
    firmware = Path(project) / "firmware"
    try:
        defines = (firmware / "defines.h").read_text()
        parameters = (firmware / "parameters.h").read_text()
        top = (firmware / f"{project_name}.cpp").read_text()
    except OSError as error:
        raise FirmwareError(f"cannot read the hls4ml project in {project}: {error}") from error
    types = read_types(defines)
    configs = read_configs(parameters)

    def fixed(name: str, where: str) -> FixedType:
        if name not in types:
            raise FirmwareError(f"{firmware}/defines.h: type {name} (used by {where}) is not an ap_fixed typedef")
        return types[name]

    signature = re.search(rf"void\s+{re.escape(project_name)}\s*\(\s*(\w+)\s+\w+\[[^\]]*\]\s*,\s*(\w+)\s+\w+\[", top)
    if not signature:
        raise FirmwareError(f"{firmware}/{project_name}.cpp: top function {project_name}(input[], output[]) not found")
    layers = []
    calls = re.findall(r"nnet::(\w+)<\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*>\([^;]*\);\s*//\s*(\w+)", top)
    for kind, data, result, config_name, name in calls:
        if kind not in SUPPORTED_LAYERS:
            raise FirmwareError(f"layer {name}: nnet::{kind} is not supported by the fixed-point CPU backend")
        config = configs.get(config_name)
        if config is None:
            raise FirmwareError(f"{firmware}/parameters.h: no struct {config_name} (layer {name})")
        n_in = int(config["n_in"])
        layer = Layer(kind, name, fixed(data, name), fixed(result, name), n_in, int(config.get("n_out", n_in)))
        if kind == "dense":
            dense_types = {k: fixed(config[f"{k}_t"], name) for k in ("accum", "weight", "bias")}
            layer = replace(layer, **dense_types)
        elif kind == "sigmoid":
            layer = replace(layer, table=fixed(config["table_t"], name), table_size=int(config["table_size"]))
        layers.append(layer)
    if not layers:
        raise FirmwareError(f"{firmware}/{project_name}.cpp: no nnet:: layer calls found")
    return Firmware(fixed(signature.group(1), "the input"), fixed(signature.group(2), "the output"), tuple(layers))
