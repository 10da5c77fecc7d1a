"""hls4ml conversion of the trained network, its compiled C emulation, and how well the two agree.

The project is written for the platform's part and HLS tool (F2: xcvu47p, Vitis backend; F1:
xcvu9p, Vivado backend), io_parallel, a 4 ns clock (the shell's 250 MHz ``clk_main_a0``), the
configured precision and reuse factor; weights, biases and activations keep their QKeras
quantizers' exact formats (``granularity="name"``). ``compile()`` builds the bit-accurate C
emulation with g++; its decisions are compared with Keras' on the test windows.

The project is written from inside its parent folder with a relative path, so nothing in it
(``hls4ml_config.yml`` included) names the machine's directories; the compiled ``.so`` does (it
embeds the weights path) and is left out of the package.

Example::

    from hls_model.convert import convert
    hls = convert(model, config.convert, Path("build/hls_project"), test_windows[:200])
    report = agreement(keras_probabilities, hls.predict(test_windows))
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import hls4ml
import numpy as np
import tensorflow as tf

from hls_model.config import ConvertConfig
from hls_model.ip_interface import IpInterface
from rhythm_service.register_map import FixedPoint


def hls_config(model: tf.keras.Model, config: ConvertConfig) -> dict:
    """hls4ml's per-layer configuration: model defaults from ``config``, layer formats from QKeras.

    Example: ``hls_config(model, ConvertConfig())["Model"]["Precision"]`` -> ``'ap_fixed<16,6>'``.
    """
    settings = hls4ml.utils.config_from_keras_model(
        model,
        granularity="name",
        default_precision=config.precision,
        default_reuse_factor=config.reuse_factor,
        backend=config.backend,
    )
    settings["Model"]["Strategy"] = config.strategy
    return settings


def convert(
    model: tf.keras.Model, config: ConvertConfig, project_dir: Path, testbench_windows: np.ndarray
) -> hls4ml.model.ModelGraph:
    """Write the hls4ml project to ``project_dir`` (replaced) and compile its C emulation.

    ``testbench_windows`` (and Keras' outputs for them) become the project's C simulation data.

    Example: ``convert(model, ConvertConfig(platform="f1"), Path("out/hls_project"), x[:100])``.
    """
    project_dir = Path(project_dir).resolve()
    project_dir.parent.mkdir(parents=True, exist_ok=True)
    testbench_input = project_dir.parent / "testbench_input.npy"
    testbench_output = project_dir.parent / "testbench_output.npy"
    np.save(testbench_input, testbench_windows.astype(np.float32))
    np.save(testbench_output, np.asarray(model(testbench_windows, training=False)))
    with contextlib.chdir(project_dir.parent):
        graph = hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=hls_config(model, config),
            output_dir=project_dir.name,
            project_name=config.project_name,
            backend=config.backend,
            part=config.part,
            clock_period=config.clock_period_ns,
            io_type="io_parallel",
            input_data_tb=testbench_input.name,
            output_data_tb=testbench_output.name,
        )
        graph.compile()
    for path in (testbench_input, testbench_output):
        path.unlink()
    return graph


def emulate(graph: hls4ml.model.ModelGraph, windows: np.ndarray) -> np.ndarray:
    """The C emulation's beat probabilities (n,) for ``windows`` (n, frames, 3).

    Example: ``emulate(graph, x[:10])``.
    """
    contiguous = np.ascontiguousarray(windows.reshape(len(windows), -1), dtype=np.float32)
    return np.asarray(graph.predict(contiguous), dtype=np.float32).reshape(-1)


def agreement(reference: np.ndarray, emulated: np.ndarray, threshold: float = 0.5) -> dict:
    """How often the emulation takes Keras' decision (``p >= threshold``), and the largest difference.

    Example: ``agreement(np.array([.2, .7]), np.array([.21, .69]))`` -> ``{"agreement": 1.0, ...}``.
    """
    same = (reference >= threshold) == (emulated >= threshold)
    return {
        "windows": len(reference),
        "agreement": float(np.mean(same)),
        "disagreements": int(np.sum(~same)),
        "max_abs_diff": float(np.max(np.abs(reference - emulated))),
        "mean_abs_diff": float(np.mean(np.abs(reference - emulated))),
    }


def _port_suffix(backend: str) -> str:
    """Vivado HLS names array ports ``<name>_V``; Vitis HLS drops the ``_V``."""
    return "" if backend == "Vitis" else "_V"


def ip_interface(graph: hls4ml.model.ModelGraph, config: ConvertConfig) -> IpInterface:
    """The port names and formats of the top the HLS tool will generate for ``graph``.

    Example: ``ip_interface(graph, ConvertConfig()).output_port`` -> ``'layer11_out_0'``.
    """
    (inputs,), (outputs,) = graph.get_input_variables(), graph.get_output_variables()
    suffix = _port_suffix(config.backend)

    def format_of(variable) -> str:
        precision = variable.type.precision
        return str(FixedPoint(precision.width, precision.integer))

    if outputs.size() != 1:
        raise ValueError(f"the wrapper expects one output, {outputs.name} has {outputs.size()}")
    return IpInterface(
        top=config.project_name,
        input_port=f"{inputs.name}{suffix}",
        input_count=int(inputs.size()),
        input_format=format_of(inputs),
        output_port=f"{outputs.name}_0{suffix}",
        output_format=format_of(outputs),
    )


def compiled_libraries(project_dir: Path) -> list[Path]:
    """The compiled emulation libraries in a project (machine-specific, never packaged)."""
    return sorted(Path(project_dir, "firmware").glob("*.so"))


def recompile(project_dir: Path) -> None:
    """Rebuild the C emulation of a project that was moved (the ``.so`` embeds the weights path).

    Example: ``recompile(Path("artifact/hls_project"))``.
    """
    for library in compiled_libraries(project_dir):
        library.unlink()
    with contextlib.chdir(project_dir):
        status = os.system("bash build_lib.sh > /dev/null")
    if status != 0:
        raise RuntimeError(f"{project_dir}/build_lib.sh failed with status {status}")
