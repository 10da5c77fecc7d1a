#!/bin/bash

#
# fpgaops sandbox stand-in for aws-fpga's sdk/userspace/add_udev_rules.sh (run as root by
# sdk_install.sh when AWS_FPGA_ALLOW_NON_ROOT is set): creates AWS_FPGA_SDK_GROUP, adds
# SDK_NON_ROOT_USER to it, installs /opt/aws/bin/change-fpga-perm.sh and a udev rule per FPGA
# PCI function that runs it, so the group gets rw on a slot's device files (resource0 included).
# Differences: the PCI functions come from fpga-describe-local-image-slots -M (there is no lspci
# of FPGAs here); udevadm is not called (the sandbox's fpga-* tools run matching rules when a
# device appears); change-fpga-perm.sh leaves /sys/bus/pci/rescan alone (it is this machine's).
#

source /tmp/sdk_root_env.exp
rm -f /tmp/sdk_root_env.exp
echo "Creating group ${AWS_FPGA_SDK_GROUP}"
if getent group "${AWS_FPGA_SDK_GROUP}" >/dev/null 2>&1; then
	if [ -z "${AWS_FPGA_SDK_OVERRIDE_GROUP}" ] ; then
		echo "Group ${AWS_FPGA_SDK_GROUP} already exists. Please export a non existent group name  to AWS_FPGA_SDK_GROUP or export AWS_FPGA_SDK_OVERRIDE_GROUP=y"
		exit 1
	fi
	echo "${AWS_FPGA_SDK_GROUP} already exists, will grant FPGA resource access to this group"
elif ! groupadd "${AWS_FPGA_SDK_GROUP}"; then
	echo "Could not group ${AWS_FPGA_SDK_GROUP}"
	exit 1
fi

echo "Adding user ${SDK_NON_ROOT_USER} into group ${AWS_FPGA_SDK_GROUP}"
if id -nG "${SDK_NON_ROOT_USER}" 2>/dev/null | grep -qw "${AWS_FPGA_SDK_GROUP}"; then
	echo "${SDK_NON_ROOT_USER} is already in group ${AWS_FPGA_SDK_GROUP}"
elif ! usermod -a -G "${AWS_FPGA_SDK_GROUP}" "${SDK_NON_ROOT_USER}"; then
	echo "Could not add user ${SDK_NON_ROOT_USER} to group ${AWS_FPGA_SDK_GROUP}"
	exit 1
fi

# Fail on any unsucessful command
set -e
mkdir -p /opt/aws/bin
echo "Installing permission fix script for udev"
cat >/opt/aws/bin/change-fpga-perm.sh <<EF
#!/bin/bash
setperm () {
  chmod g=u \$1
  if [[ x\$2 != "x" ]] ; then
    chmod a=u \$1
  fi
}
setgrp() {
  chown root:${AWS_FPGA_SDK_GROUP} \$1
}
setfpgaperm () {
  for f in \$1/*; do
    setperm \$f;
    setgrp \$f
  done
}

devicePath=/sys/bus/pci/devices/\$1
grep -q "0x058000" \$devicePath/class && setfpgaperm "\$devicePath"
exit 0
EF
chmod 544 /opt/aws/bin/change-fpga-perm.sh

DBDFs=$(fpga-describe-local-image-slots -M | awk '$1 == "AFIDEVICE" {print $5}' | tr '\n' ' ')

rm -f /tmp/9999-presistent-fpga.rules
touch /tmp/9999-presistent-fpga.rules
for d in $DBDFs ; do
	echo "KERNEL==\"*${d}*\", RUN+=\"/opt/aws/bin/change-fpga-perm.sh '${d}'\"" >> /tmp/9999-presistent-fpga.rules
done
for d in $DBDFs ; do
	echo "KERNEL==\"*${d}*\", ACTION==\"add\", RUN+=\"/opt/aws/bin/change-fpga-perm.sh '${d}'\"" >> /tmp/9999-presistent-fpga.rules
done
echo "Adding udev rule: 9999-presistent-fpga.rules"
mkdir -p /etc/udev/rules.d
cp /tmp/9999-presistent-fpga.rules /etc/udev/rules.d/9999-presistent-fpga.rules
