"""The Verilog Custom Logic around the hls4ml IP, rendered from ``templates/hls_model/``.

Two files, both generated (never edited by hand):

- ``beat_ocl_accelerator.sv``: an AXI-Lite slave implementing ``rhythm_service.register_map``
  (inputs, start, status, output, ids) and driving the HLS top (``ap_ctrl_hs`` handshake,
  ``ap_vld`` data ports) named by an ``IpInterface``. Its INPUT registers and INPUT_COUNT are the
  IP's ``input_count`` (the model's window, frames x features), anything from 1 to the map's
  ``MAX_INPUTS`` (960): the block decodes 12 address bits (the 4 KiB span) and the input index is
  sized to the count;
- ``<cl_name>.sv``: the F2 small-shell CL top (a renamed ``CL_TEMPLATE``'s top, same tie-offs and
  ``sh_ddr``), with the accelerator on the OCL interface.

Templates render with ``StrictUndefined``: a missing value is an error naming it.

Example::

    from hls_model.cl_wrapper import render_cl
    paths = render_cl(interface, model_id=0x1234ABCD, cl_name="cl_beat", out_dir=Path("artifact/cl"))
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from hls_model.ip_interface import IpInterface
from rhythm_service import register_map

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "hls_model"
ACCELERATOR = "beat_ocl_accelerator"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_accelerator(ip: IpInterface, model_id: int) -> str:
    """The register block + HLS instance module's Verilog.

    Example: ``render_accelerator(interface, register_map.model_id(weights_sha256))``.
    """
    input_format = register_map.FixedPoint.parse(ip.input_format)
    output_format = register_map.FixedPoint.parse(ip.output_format)
    try:
        register_map.check_input_count(ip.input_count)
    except ValueError as error:
        raise ValueError(f"IP {ip.top} ({ip.input_port}): {error}") from error
    return _environment().get_template(f"{ACCELERATOR}.sv.j2").render(
        module=ACCELERATOR,
        ip=ip,
        regs=register_map.REGISTERS,
        map_version=register_map.REGISTER_MAP_VERSION,
        design_id=register_map.DESIGN_ID,
        model_id=model_id,
        format_word=register_map.format_word(input_format, output_format),
        input_bits=input_format.total,
        output_bits=output_format.total,
        input_base=register_map.INPUT_BASE,
        index_bits=input_index_bits(ip.input_count),
        address_span=register_map.ADDRESS_SPAN,
    )


def input_index_bits(count: int) -> int:
    """Width of the INPUT register index of ``count`` inputs (at least 1 bit).

    Example: ``input_index_bits(48)`` -> 6; ``input_index_bits(64)`` -> 6; ``input_index_bits(65)`` -> 7.
    """
    return max(1, (count - 1).bit_length())


def render_cl_top(cl_name: str) -> str:
    """The CL top module ``cl_name`` with the accelerator on OCL.

    Example: ``render_cl_top("cl_beat")``.
    """
    if not cl_name.isidentifier():
        raise ValueError(f"CL name {cl_name!r} is not a Verilog identifier")
    return _environment().get_template("cl_top.sv.j2").render(cl_name=cl_name, accelerator=ACCELERATOR)


def render_cl(ip: IpInterface, model_id: int, cl_name: str, out_dir: Path) -> list[Path]:
    """Write ``<cl_name>.sv`` and ``beat_ocl_accelerator.sv`` into ``out_dir``; returns their paths.

    Example: ``render_cl(interface, 0x1234ABCD, "cl_beat", Path("artifact/cl"))``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {f"{cl_name}.sv": render_cl_top(cl_name), f"{ACCELERATOR}.sv": render_accelerator(ip, model_id)}
    for name, text in files.items():
        (out_dir / name).write_text(text)
    return [out_dir / name for name in files]
