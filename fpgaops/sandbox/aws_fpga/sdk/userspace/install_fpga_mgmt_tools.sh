#!/bin/bash

#
# fpgaops sandbox stand-in for aws-fpga's install_fpga_mgmt_tools.sh: copies fpga-local-cmd
# and the fpga-* wrappers to /usr/local/bin, or /usr/bin when /usr/local/bin is not on the
# (sudo) PATH, re-running itself with sudo -E when not root.
# Differences: sudo must not need a password (it is never left waiting for one), tools
# already in place are left untouched, and there is no shared library nor ldconfig step.
#

if [ -z "$SDK_DIR" ]; then
	echo "Error: SDK_DIR environment variable is not set.  Please 'source sdk_setup.sh' from the aws-fpga directory first."
	exit 1
fi

if [ $EUID != 0 ]; then
	echo ""
	echo "Root privileges are required to install. You may be asked for your password..."
	if ! command -v sudo > /dev/null; then
		echo "Error: sudo is not installed: source sdk_setup.sh as root to install the tools."
		exit 1
	fi
	if ! sudo -n true 2> /dev/null; then
		echo "Error: sudo needs a password for $(whoami) and cannot ask for it here: allow passwordless sudo or source sdk_setup.sh as root."
		exit 1
	fi
	sudo -n -E "$0" "$@"
	exit $?
else
	echo "Executing as root..."
	echo ""
fi

BASE_PATH=/usr/local

# check to see if the /usr/local/bin is on the sudo PATH (is secure_path enabled?)
if [[ ":$PATH:" != *":$BASE_PATH/bin:"* ]]; then
	BASE_PATH=/usr
fi

AFI_MGMT_TOOLS_SRC_DIR=$SDK_DIR/userspace/fpga_mgmt_tools/src
AFI_MGMT_TOOLS_DST_DIR=$BASE_PATH/bin

if [ ! -x "$AFI_MGMT_TOOLS_SRC_DIR/fpga-local-cmd" ]; then
	echo "Error: $AFI_MGMT_TOOLS_SRC_DIR/fpga-local-cmd is not built: run mkall_fpga_mgmt_tools.sh first."
	exit 1
fi

if [ ! -d "$AFI_MGMT_TOOLS_DST_DIR" ]; then
	mkdir -p "$AFI_MGMT_TOOLS_DST_DIR"
fi

# /usr/bin requires sudo permissions
echo "AWS FPGA: Copying Amazon FPGA Image (AFI) Management Tools to $AFI_MGMT_TOOLS_DST_DIR"
for tool in "$AFI_MGMT_TOOLS_SRC_DIR"/fpga-*; do
	installed=$AFI_MGMT_TOOLS_DST_DIR/$(basename "$tool")
	if cmp -s "$tool" "$installed" && [ -x "$installed" ]; then
		continue
	fi
	install -m 0755 "$tool" "$installed" || { echo "Error: could not install $installed"; exit 1; }
done

echo "AWS FPGA: Done with Amazon FPGA Image (AFI) Management Tools install."
