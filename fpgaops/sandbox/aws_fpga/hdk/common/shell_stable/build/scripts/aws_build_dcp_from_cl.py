#!/usr/bin/env python3
"""Build a CL into a DCP tarball for AFI creation (aws-fpga F2 HDK), fpgaops sandbox stand-in.

Same command line, checks, messages and outputs as the HDK's script, run from
$CL_DIR/build/scripts after ``source hdk_setup.sh``:

    ./aws_build_dcp_from_cl.py -c <cl_name> [--mode small_shell|xdma_shell] [--flow BuildAll|SynthCL|ImplCL]
        [--aws_clk_gen --clock_recipe_a A1 --clock_recipe_b B2 --clock_recipe_c C0 --clock_recipe_hbm H2]
        [-p <place directive>] [-o <phys_opt directive>] [-r <route directive>] [-t <tag>]
        [--no-encrypt] [--package-only]

It runs ``vivado -mode batch -source build_all.tcl -log <tag>.vivado.log -tclargs ...`` in the
foreground (detach it with nohup/setsid as with the real one), then packages
``$CL_DIR/build/checkpoints/<tag>.Developer_CL.tar`` holding ./to_aws/<tag>.SH_CL_routed.dcp,
./to_aws/<tag>.debug_probes.ltx and ./to_aws/<tag>.manifest.txt (``key=value`` lines, each
followed by a blank line). The build work itself is the vivado stand-in's (FPGA Developer AMI).

The shells it builds for are the ``<mode>=<id>`` lines of ``hdk/common/shell_stable/shell_version.txt``
(the sandbox writes them from the platform table: ``small_shell``, and ``xdma_shell`` from aws-fpga
v2.4.0 on); ``--mode`` defaults to the first. As in v2.4.0, a failing Vivado stops the build before
anything is packaged.
"""

import datetime
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
from optparse import OptionParser

TIMESTAMP_LOG_FORMAT = "%Y-%m-%d %H:%M:%S"
TIMESTAMP_FILE_FORMAT = "%Y_%m_%d-%H%M%S"
SHELL_VERSION_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))),
                                  "shell_version.txt")
RECIPES = {
    "clock_recipe_a": ("A", ["A0", "A1", "A2"], "A1"),
    "clock_recipe_b": ("B", ["B0", "B1", "B2", "B3", "B4", "B5"], "B2"),
    "clock_recipe_c": ("C", ["C0", "C1", "C2", "C3"], "C0"),
    "clock_recipe_hbm": ("HBM", ["H0", "H1", "H2", "H3", "H4", "H5"], "H2"),
}


def print_error(message):
    """The HDK's error: ``ERROR: <message>``, a blank line, exit 1."""
    print(f"ERROR: {message}\n", flush=True)
    sys.exit(1)


def print_warning(message):
    """The HDK's warning line."""
    print(f"WARNING: {message}\n", flush=True)


def option_on_argv(name):
    """Whether ``name`` was given on the command line (as ``--x`` or ``--x=value``)."""
    return any(arg == name or arg.startswith(name + "=") for arg in sys.argv[1:])


def file_version(directory, name, key):
    """The value of ``key=value`` in ``directory/name``."""
    path = os.path.join(directory, name)
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(key):
                    return line.split("=")[1].strip()
    except OSError as exc:
        print_error(f"Cannot read {path}: {exc.strerror}")
    print_error("Failed to detect the version string")


def pcie_ids(cl_dir):
    """PCIe ids from the CL_SH_ID0/1 defines of design/cl_id_defines.vh."""
    path = os.path.join(cl_dir, "design", "cl_id_defines.vh")
    if not os.path.exists(path):
        print_error('Cannot find "cl_id_defines.vh" file for PCIe ID definitions')
    ids = {}
    with open(path) as handle:
        for line in handle:
            for define, high, low in (
                ("CL_SH_ID0", "pci_device_id", "pci_vendor_id"),
                ("CL_SH_ID1", "pci_subsystem_id", "pci_subsystem_vendor_id"),
            ):
                match = re.search(rf"`define\s+{define}\s+32'h([0-9A-Fa-f]{{4}})_?([0-9A-Fa-f]{{4}})", line)
                if match:
                    ids[high], ids[low] = "0x" + match.group(1), "0x" + match.group(2)
    return ids


def vivado_version():
    """``vivado -version``'s version word (v2024.1)."""
    try:
        output = subprocess.run(["vivado", "-version"], capture_output=True, text=True, check=False).stdout
    except OSError:
        output = ""
    for line in output.splitlines():
        if re.search("vivado", line, re.IGNORECASE):
            version = line.split()[1]
            return {"v2023.2.2": "v2023.2"}.get(version, version)
    print_error("Failed to detect the Vivado version.")


def sha256(path):
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package(cl, tag, recipes):
    """The DCP tarball, from build/checkpoints' post-route checkpoint (the VIOLATED one when timing failed)."""
    cl_dir = os.environ["CL_DIR"]
    checkpoints = os.path.join(cl_dir, "build", "checkpoints")
    routed = os.path.join(checkpoints, f"{cl}.{tag}.post_route.dcp")
    violated = os.path.join(checkpoints, f"{cl}.{tag}.post_route.VIOLATED.dcp")
    probes = os.path.join(checkpoints, f"{tag}.debug_probes.ltx")
    if os.path.exists("to_aws"):
        suffix = datetime.datetime.now().strftime(TIMESTAMP_FILE_FORMAT)
        os.rename("to_aws", "to_aws_backup_" + suffix)
        print(f"Save the existing to_aws/ to to_aws_backup_{suffix}/")
    os.mkdir("to_aws")
    if not (os.path.exists(violated) or os.path.exists(routed)):
        print_error(f"Did not find the post-route DCP file from {cl_dir}/build/checkpoints/")
    manifest = pcie_ids(cl_dir)
    manifest["manifest_format_version"] = 2
    source = routed
    if os.path.exists(violated):
        print_warning(
            "\nDetected a post-route DCP with timing failure for AFI creation. "
            "Design functionalities are NOT guranteed.\n"
        )
        source = violated
    dcp_name = f"{tag}.SH_CL_routed.dcp"
    shutil.copy(source, os.path.join("to_aws", dcp_name))
    manifest["dcp_hash"] = sha256(source)
    print(f"{manifest['dcp_hash']}  {source}\n")
    if os.path.exists(probes):
        shutil.copy(probes, "to_aws")
    manifest["shell_version"] = file_version(os.environ["HDK_SHELL_DIR"], "shell_version.txt", os.environ["SHELL_MODE"])
    manifest["hdk_version"] = file_version(os.environ["AWS_FPGA_REPO_DIR"], "release_version.txt", "RELEASE_VERSION")
    manifest["tool_version"] = vivado_version()
    manifest["date"] = tag
    manifest.update(recipes)
    manifest["dcp_file_name"] = dcp_name
    with open(os.path.join("to_aws", f"{tag}.manifest.txt"), "w") as handle:
        for key, value in manifest.items():
            handle.write(f"{key}={value}\n\n")
    with tarfile.open(os.path.join(checkpoints, f"{tag}.Developer_CL.tar"), "w", format=tarfile.GNU_FORMAT) as tar:
        tar.add("to_aws", arcname="./to_aws")
    shutil.rmtree("to_aws")


def shell_modes():
    """The shell modes of this release: the keys of shell_version.txt, the default first."""
    try:
        with open(SHELL_VERSION_FILE) as handle:
            return [line.split("=")[0].strip() for line in handle if "=" in line] or ["small_shell"]
    except OSError:
        return ["small_shell"]


def parse_options():
    """The HDK script's options."""
    modes = shell_modes()
    parser = OptionParser()
    parser.add_option("-c", "--cl", dest="cl", help="CL module name", default="cl_dram_hbm_dma")
    parser.add_option(
        "-m",
        "--mode",
        dest="mode",
        default=modes[0],
        help=f"Mode of shell. Supported value{'s are' if len(modes) > 1 else ' is'}: {', '.join(modes)}. "
        f"Default to <{modes[0]}>",
    )
    parser.add_option(
        "-f",
        "--flow",
        dest="flow",
        default="BuildAll",
        help="Build flow. Supported values are: SynthCL, ImplCL, BuildAll. Default to <BuildAll>.",
    )
    parser.add_option(
        "--aws_clk_gen",
        action="store_true",
        help="Set this flag to enable custom clock recipes (only functions with aws_)",
    )
    for name, (group, choices, default) in RECIPES.items():
        parser.add_option(
            f"--{name}",
            dest=name,
            default=default,
            help=f"Select Clock Recipe for Clock Group {group} ({' | '.join(choices)})",
        )
    parser.add_option(
        "-p",
        "--place",
        dest="place_direct",
        metavar="DIRECT",
        default="SSI_SpreadLogic_high",
        help="Placement directive. Default to <SSI_SpreadLogic_high>.",
    )
    parser.add_option(
        "-o",
        "--phy_opt",
        dest="phy_opt_direct",
        metavar="DIRECT",
        default="AggressiveExplore",
        help="Physical Optimization directive. Default to <AggressiveExplore>.",
    )
    parser.add_option(
        "-r",
        "--route",
        dest="route_direct",
        metavar="DIRECT",
        default="AggressiveExplore",
        help="Routing directive. Default to <AggressiveExplore>.",
    )
    parser.add_option("-t", "--tag", dest="build_tag", help="Build tag. Default to <YYYY_mm_dd-HHMMSS>.")
    parser.add_option(
        "--no-encrypt",
        dest="encrypt",
        action="store_false",
        default=True,
        help="Disable source code and DCP encryption.",
    )
    parser.add_option(
        "--package-only",
        dest="package_only",
        action="store_true",
        default=False,
        help="Skip Vivado and package an existing post-route DCP. Requires --tag and all four "
        "--clock_recipe_a/b/c/hbm.",
    )
    return parser.parse_args()[0]


def check(options):
    """The HDK script's checks, in its order; returns the CL name."""
    if options.flow not in ("SynthCL", "ImplCL", "BuildAll"):
        print_error(f"Unsupported build flow value: {options.flow}. Build terminated")
    if options.mode not in shell_modes():
        if options.mode == "xdma_shell":
            print_warning("XDMA shell is not supported at this time. See ERRATA for details.")
        print_error(f"Unsupported mode value: {options.mode}. Build terminated")
    for name, (_group, choices, _default) in RECIPES.items():
        if getattr(options, name) not in choices:
            print_error(f"Unsupported {name.replace('clock_', 'clk_')}: {getattr(options, name)}. Build terminated")
    if os.getenv("CL_DIR") is None:
        print_error("$CL_DIR environment variable not set. Please set by running 'export CL_DIR=<path to CL>'")
    if os.path.realpath(os.environ["CL_DIR"]) not in os.path.realpath(os.getcwd()):
        print_error("$CL_DIR path is not in current build dir. Expecting $CL_DIR @ $CWD/../../../<CL_NAME>")
    cl_name = os.path.realpath(os.environ["CL_DIR"]).split("/")[-1]
    if options.cl != cl_name:
        print_error(
            f"{options.cl} does not match CL_DIR env variable. Please provide correct names for --cl and CL_DIR"
        )
    return cl_name


def main():
    """Build, then package (BuildAll)."""
    options = parse_options()
    print("==================================================")
    print("Running CL builds")
    print("==================================================")
    for name, value in options.__dict__.items():
        print(f"{name:16s} : {value!s:16s}")
    print("==================================================", flush=True)
    cl_name = check(options)
    tag = options.build_tag or datetime.datetime.now().strftime(TIMESTAMP_FILE_FORMAT)
    os.environ.update(
        CL=options.cl,
        SHELL_MODE=options.mode,
        BUILD_FLOW=options.flow,
        ENCRYPT=str(int(options.encrypt)),
        BUILD_TAG=tag,
    )
    if not options.package_only and not options.aws_clk_gen and "clock_recipe" in str(sys.argv):
        print_error(
            "The aws_clk_gen IP is required for setting custom clock recipes.\n\n"
            "            Custom `clock_recipe` arguments were detected, please add `--aws_clk_gen` to continue."
        )
    start = datetime.datetime.now()
    print(f"\nAWS FPGA: {start.strftime(TIMESTAMP_LOG_FORMAT)} - Build starts\n", flush=True)
    recipes = {name: getattr(options, name) for name in RECIPES}
    if options.package_only:
        if not options.build_tag:
            print_error(
                "--package-only requires --tag matching an existing post-route DCP (for example -t YYYY_MM_DD-HHMMSS)"
            )
        if not all(option_on_argv(f"--{name}") for name in RECIPES):
            print_error(
                "--package-only requires all four clock recipes to be passed explicitly "
                "(--clock_recipe_a, --clock_recipe_b, --clock_recipe_c, and --clock_recipe_hbm)"
            )
        print(f"AWS FPGA: --package-only set, skipping Vivado and packaging tag {tag}\n", flush=True)
    else:
        command = [
            "vivado",
            "-mode",
            "batch",
            "-source",
            "build_all.tcl",
            "-log",
            f"{tag}.vivado.log",
            "-tclargs",
            options.place_direct,
            options.phy_opt_direct,
            options.route_direct,
            *recipes.values(),
        ]
        print(" ".join(command), flush=True)
        try:
            status = subprocess.run(command, check=False).returncode
        except OSError:
            print("sh: 1: vivado: not found", flush=True)
            status = 127
        if status != 0:
            print_error(f"Vivado exited with status {status}. Build terminated")
    if options.flow == "BuildAll":
        package(cl_name, tag, recipes)
    finish = datetime.datetime.now()
    print(f"\nAWS FPGA: {finish.strftime(TIMESTAMP_LOG_FORMAT)} - Build completes\n")
    print(f"\nAWS FPGA: Build Time = {finish - start}. \n")


if __name__ == "__main__":
    main()
