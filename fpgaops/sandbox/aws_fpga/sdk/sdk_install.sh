#!/bin/bash

#
# fpgaops sandbox stand-in for aws-fpga's sdk/sdk_install.sh: builds and installs the
# AFI Management Tools; run by sdk_setup.sh (see its header for what differs from AWS's).
#

script=${BASH_SOURCE[0]}
if [ "$script" != "$0" ]; then
  echo "ERROR: You must execute this script instead of sourcing!"
  return
fi

if [ -z "$SDK_DIR" ]; then
    echo "Error: SDK_DIR environment variable is not set.  Please use 'source sdk_setup.sh' from the aws-fpga directory."
    exit 1
fi

# The real script checks gcc here; the stand-in's tools need the system python3.
if ! /usr/bin/python3 --version &> /dev/null; then
    echo "Error: /usr/bin/python3 is not installed."
    exit 1
fi

SDK_USERSPACE_DIR=$SDK_DIR/userspace

# Build the Amazon FPGA Image (AFI) Management Tools
(cd "$SDK_USERSPACE_DIR" && ./mkall_fpga_mgmt_tools.sh)
RET=$?
if [ $RET != 0 ]; then
    echo "Error: mkall_fpga_mgmt_tools.sh returned $RET"
    exit $RET
fi
echo "Build complete."

# Install the Amazon FPGA Image (AFI) Management Tools
"$SDK_USERSPACE_DIR/install_fpga_mgmt_tools.sh"
RET=$?
if [ $RET != 0 ]; then
    echo "Error: install_fpga_mgmt_tools.sh returned $RET"
    exit $RET
fi

# Add udev rules if asked for non root access
if allow_non_root ; then
	  sudo -n "$SDK_USERSPACE_DIR/add_udev_rules.sh"
	  RET=$?
	  if [ $RET != 0 ]; then
				 echo "Error: $SDK_USERSPACE_DIR/add_udev_rules.sh returned $RET"
				 exit $RET
	  fi
fi

echo "Done with SDK install."
