#!/bin/bash

#
# fpgaops sandbox stand-in for aws-fpga's mkall_fpga_mgmt_tools.sh.  The real script compiles
# fpga-local-cmd and libfpga_mgmt with make; here fpga-local-cmd is a Python program, so
# "building" checks its syntax with the system python3 and makes the executable from it
# (only when it changed, so a second build changes nothing).
#

TOP=$(pwd)
BUILD_DIR="fpga_mgmt_tools/src"

cd "$TOP/$BUILD_DIR" || { echo "could not cd to $TOP/$BUILD_DIR"; exit 1; }
echo "Entering $TOP/$BUILD_DIR"

if ! /usr/bin/python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' fpga_local_cmd.py; then
	echo "make failed"
	exit 1
fi

if ! cmp -s fpga_local_cmd.py fpga-local-cmd || [ ! -x fpga-local-cmd ]; then
	install -m 0755 fpga_local_cmd.py fpga-local-cmd || { echo "make failed"; exit 1; }
fi
cd "$TOP" || exit 1
