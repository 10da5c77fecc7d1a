# Amazon FPGA Hardware Development Kit environment set-up (F2), fpgaops sandbox stand-in.
#
# Must be sourced from bash: `source hdk_setup.sh [-d|-debug] [-h|-help]`. Checks that Vivado
# is on PATH and is a version this HDK supports (supported_vivado_versions.txt), exports
# AWS_FPGA_REPO_DIR, HDK_DIR, HDK_COMMON_DIR, HDK_SHELL_DIR, HDK_SHELL_DESIGN_DIR,
# HDK_IP_SRC_DIR, HDK_BD_SRC_DIR, HDK_BD_GEN_DIR, VIVADO_VER, VIVADO_TOOL_VERSION, and puts the
# checkpoint of each shell of shell_version.txt in place. The real script downloads the checkpoint
# from S3; the sandbox has no network, so the stand-in writes a placeholder checkpoint instead.

script=${BASH_SOURCE[0]}
if [ "$script" == "$0" ]; then
  echo "ERROR: You must source this script"
  exit 2
fi

full_script=$(readlink -f "$script")
script_name=$(basename "$full_script")
script_dir=$(dirname "$full_script")
debug=0

source "$script_dir/shared/bin/set_common_functions.sh"
function usage { echo -e "USAGE: source [\$AWS_FPGA_REPO_DIR/]$script_name [-d|-debug] [-h|-help]"; }

for arg in "$@"; do
  case $arg in
    -d|-debug) debug=1 ;;
    -h|-help)
      info_msg "$script_name"
      info_msg "Sets up the environment for AWS FPGA HDK tools."
      info_msg "hdk_setup.sh script will:"
      info_msg "  (1) Check if Xilinx Vivado is installed,"
      info_msg "  (2) Set up key environment variables HDK_*, and"
      info_msg "  (3) Download/update the HDK shell's checkpoint"
      usage
      return 0 ;;
    *)
      err_msg "Invalid option: $arg\n"
      usage
      return 1 ;;
  esac
done

info_msg "Setting up environment variables"
if [[ -z "$AWS_FPGA_REPO_DIR" ]]; then
  debug_msg "AWS_FPGA_REPO_DIR not set so setting to $script_dir"
elif [[ "$AWS_FPGA_REPO_DIR" != "$script_dir" ]]; then
  info_msg "Changing AWS_FPGA_REPO_DIR from $AWS_FPGA_REPO_DIR to $script_dir"
fi
export AWS_FPGA_REPO_DIR=$script_dir
export HDK_DIR=$AWS_FPGA_REPO_DIR/hdk
export HDK_COMMON_DIR=$HDK_DIR/common
export HDK_SHELL_DIR=$(readlink -f "$HDK_COMMON_DIR/shell_stable")
export HDK_SHELL_DESIGN_DIR=$HDK_SHELL_DIR/design
export HDK_IP_SRC_DIR=$HDK_COMMON_DIR/ip/cl_ip/cl_ip.srcs/sources_1/ip
export HDK_BD_SRC_DIR=$HDK_COMMON_DIR/ip/cl_ip/cl_ip.srcs/sources_1/bd
export HDK_BD_GEN_DIR=$HDK_COMMON_DIR/ip/cl_ip/cl_ip.gen/sources_1/bd
export PATH=$(echo "$PATH" | sed -e 's/\(^\|:\)[^:]\+\/hdk\/common\/scripts\(:\|$\)/:/g; s/^://; s/:$//')
PATH=$AWS_FPGA_REPO_DIR/hdk/common/scripts:$PATH

debug_msg "Checking for Vivado install:"
if ! command -v vivado > /dev/null 2>&1; then
  err_msg "Please install/enable Vivado."
  err_msg "  If you are using the FPGA Developer AMI then please request support."
  return 1
fi

export VIVADO_VER=$(vivado -version | grep -i '^vivado' | head -1)
info_msg "Using $VIVADO_VER"
if grep -Fxq "$VIVADO_VER" "$AWS_FPGA_REPO_DIR/supported_vivado_versions.txt" 2>/dev/null; then
  debug_msg "$VIVADO_VER is supported by this HDK release."
else
  err_msg "$VIVADO_VER is not supported by this HDK release."
  err_msg "Supported versions are:"
  cat "$AWS_FPGA_REPO_DIR/supported_vivado_versions.txt" >&2
  return 1
fi
VIVADO_TOOL_VERSION=$(echo "$VIVADO_VER" | sed -E 's/^[Vv]ivado *//; s/ .*$//')
export VIVADO_TOOL_VERSION=${VIVADO_TOOL_VERSION:0:7}
echo "VIVADO_TOOL_VERSION is $VIVADO_TOOL_VERSION"

shell_dcp_dir=$HDK_SHELL_DIR/build/checkpoints/from_aws
mkdir -p "$shell_dcp_dir" || { err_msg "Failed to create $shell_dcp_dir"; return 2; }
# One checkpoint per shell of this release (shell_version.txt: <mode>=<id> lines, the default first).
while IFS='=' read -r shell_mode hdk_shell_version; do
  [ -n "$shell_mode" ] || continue
  info_msg "Using HDK $shell_mode version $hdk_shell_version"
  shell_dcp=$shell_dcp_dir/cl_bb_routed.$shell_mode.dcp
  if [ ! -e "$shell_dcp" ]; then
    info_msg "HDK shell's cl_bb_routed.$shell_mode.dcp hasn't been downloaded yet."
    info_msg "Downloading latest HDK shell cl_bb_routed.$shell_mode.dcp (fpgaops sandbox stand-in: written locally, no network)"
    printf 'fpgaops sandbox stand-in of the AWS shell checkpoint, shell version %s\n' "$hdk_shell_version" > "$shell_dcp" \
      || { err_msg "HDK shell checkpoint download failed"; return 2; }
  fi
done < "$HDK_SHELL_DIR/shell_version.txt"
info_msg "HDK shell is up-to-date"

if [[ -z "$CL_DIR" ]]; then
  info_msg "attention: don't forget to set the CL_DIR variable for the directory of your custom logic."
else
  info_msg "CL_DIR is $CL_DIR"
  if [ ! -d "$CL_DIR" ]; then
    err_msg "CL_DIR doesn't exist. set CL_DIR to a valid directory."
    unset CL_DIR
  fi
fi
info_msg "AWS HDK setup PASSED."
