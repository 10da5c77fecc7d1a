"""A minimal hls4ml 1.3.0 project for the 30-16-8-1 dense network, written file by file.

The files the HLS stand-ins read, as hls4ml writes them (io_parallel, ap_fixed<16,6>, reuse
factor 1): project.tcl, build_prj.tcl (the lines that drive the tool), build_opt.tcl (Vitis),
hls4ml_config.yml, firmware/<name>.cpp/.h, defines.h, parameters.h and weights headers.
No nnet_utils/ap_types: it cannot be compiled, so C simulation is tested with hls4ml itself.
"""

from __future__ import annotations

import itertools
from pathlib import Path

SIZES = (30, 16, 8, 1)
ACTIVATIONS = ("relu", "relu", "sigmoid")

BUILD_PRJ = """#################
#    HLS4ML
#################
array set opt {
    reset      0
    csim       1
    synth      1
    cosim      1
    validation 1
    export     0
    vsynth     0
    fifo_opt   0
}

set tcldir [file dirname [info script]]
source [file join $tcldir project.tcl]
%(build_opt)s
file mkdir tb_data
if {$opt(reset)} {
    open_project -reset ${project_name}_prj
} else {
    open_project ${project_name}_prj
}
set_top ${project_name}
add_files firmware/${project_name}.cpp -cflags "-std=c++0x"
add_files -tb ${project_name}_test.cpp -cflags "-std=c++0x"
add_files -tb firmware/weights
add_files -tb tb_data
open_solution "solution1"
set_part $part
create_clock -period $clock_period -name default
set_clock_uncertainty $clock_uncertainty default
if {$opt(csim)} { csim_design }
if {$opt(synth)} { csynth_design }
if {$opt(export)} { export_design -format ip_catalog -version $version }
if {$opt(vsynth)} { exec vivado -mode batch -source vivado_synth.tcl >@ stdout }
exit
"""

VIVADO_SYNTH = """set tcldir [file dirname [info script]]
source [file join $tcldir project.tcl]

add_files ${project_name}_prj/solution1/syn/verilog
synth_design -top ${project_name} -part $part
opt_design -retarget -propconst -sweep -bram_power_opt -shift_register_opt
report_utilization -file vivado_synth.rpt
"""


def build_options(**steps: bool) -> str:
    """build_opt.tcl as hls4ml's Vitis backend writes it before calling vitis-run."""
    values = {"reset": 0, "csim": 0, "synth": 1, "cosim": 0, "validation": 0, "export": 0, "vsynth": 0, "fifo_opt": 0}
    values.update({k: int(v) for k, v in steps.items()})
    return "array set opt {\n" + "".join(f"    {k:<10} {v}\n" for k, v in values.items()) + "}\n"


def write_project(
    root: Path, backend: str = "vitis", name: str = "myproject", part: str = "xcvu47p-fsvh2892-2-e"
) -> Path:
    """Write the project in ``root``; returns root."""
    firmware = root / "firmware"
    (firmware / "weights").mkdir(parents=True)
    (root / "project.tcl").write_text(
        f'variable project_name\nset project_name "{name}"\nvariable backend\nset backend "{backend}"\n'
        f'variable part\nset part "{part}"\nvariable clock_period\nset clock_period 4\n'
        'variable clock_uncertainty\nset clock_uncertainty 12.5%\nvariable version\nset version "1.0.0"\n'
    )
    source_opt = "source [file join $tcldir build_opt.tcl]\n" if backend == "vitis" else ""
    (root / "build_prj.tcl").write_text(BUILD_PRJ % {"build_opt": source_opt})
    (root / "vivado_synth.tcl").write_text(VIVADO_SYNTH)
    (root / "hls4ml_config.yml").write_text(
        f"Backend: {backend.capitalize()}\nClockPeriod: 4\nHLSConfig:\n  Model:\n    Precision: ap_fixed<16,6>\n"
        f"    ReuseFactor: 1\n    Strategy: Latency\nIOType: io_parallel\nInputShapes:\n  input_1:\n  - 30\n"
        f"OutputDir: {root}\nOutputShapes:\n  layer7_out:\n  - 1\nPart: {part}\nProjectName: {name}\n"
    )
    signature = f"void {name}(\n    input_t input_1[30],\n    result_t layer7_out[1]\n)"
    (firmware / f"{name}.h").write_text(f'#include "defines.h"\n\n{signature};\n')
    calls = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(SIZES)):
        layer = 2 * i + 2
        src = "input_1" if i == 0 else f"layer{layer - 1}_out"
        calls.append(
            f"    nnet::dense<input_t, layer{layer}_t, config{layer}>({src}, layer{layer}_out, w{layer}, b{layer});"
        )
        (firmware / "weights" / f"w{layer}.h").write_text(f"model_default_t w{layer}[{n_in * n_out}];\n")
        (firmware / "weights" / f"b{layer}.h").write_text(f"model_default_t b{layer}[{n_out}];\n")
    (firmware / f"{name}.cpp").write_text(
        f'#include "{name}.h"\n#include "parameters.h"\n\n{signature} {{\n'
        "    #pragma HLS ARRAY_RESHAPE variable=input_1 complete dim=0\n"
        "    #pragma HLS ARRAY_PARTITION variable=layer7_out complete dim=0\n"
        "    #pragma HLS INTERFACE ap_vld port=input_1,layer7_out \n    #pragma HLS PIPELINE\n\n"
        + "\n".join(calls)
        + "\n}\n"
    )
    typedefs = ["input_t", "model_default_t", "layer2_t", "layer3_t", "layer4_t", "layer5_t", "layer6_t", "result_t"]
    (firmware / "defines.h").write_text("".join(f"typedef ap_fixed<16,6> {t};\n" for t in typedefs))
    configs = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(SIZES)):
        layer = 2 * i + 2
        configs.append(
            f"struct config{layer} : nnet::dense_config {{\n    static const unsigned n_in = {n_in};\n"
            f"    static const unsigned n_out = {n_out};\n    static const unsigned strategy = nnet::latency;\n"
            f"    static const unsigned reuse_factor = 1;\n    static const unsigned n_zeros = 0;\n"
            f"    typedef model_default_t weight_t;\n}};\n"
        )
        configs.append(
            f"struct {ACTIVATIONS[i]}_config{layer + 1} : nnet::activ_config {{\n"
            f"    static const unsigned n_in = {n_out};\n    static const unsigned table_size = 1024;\n"
            f"    typedef ap_fixed<18,8> table_t;\n}};\n"
        )
    (firmware / "parameters.h").write_text("\n".join(configs))
    (root / f"{name}_test.cpp").write_text(f'#include "firmware/{name}.h"\nint main() {{ return 0; }}\n')
    return root
