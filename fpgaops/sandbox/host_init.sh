#!/bin/sh
# PID 1 of a sandbox host: runs inside fresh mount/uts/ipc/pid namespaces (and the host's own
# network namespace), turns this machine's base system into the host's own, then becomes sshd.
#   host_init.sh HOSTDIR
# HOSTDIR (prepared by fpgaops.sandbox.hosts) holds host.env, host.json, authorized_keys,
# sshd_config, the host key, and up/ wk/ (the overlays' writable layers, kept across a stop).
set -eu
H=$1
. "$H/host.env"   # HOST_NAME LOGIN_USER OVERLAY_DIRS AMI_LAYERS SYSTEMCTL_PY FPGA_SLOTS
hostname "$HOST_NAME"
ip link set lo up

# /run first: a private tmpfs, with the host dir bound under it so it stays reachable
# once the overlays and the /tmp tmpfs hide the sandbox's state directory.
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
mkdir -p /run/sandbox-host /run/sshd /run/lock /run/systemd /run/sandbox
mount --bind "$H" /run/sandbox-host
chmod 700 /run/sandbox-host
H=/run/sandbox-host

for d in $OVERLAY_DIRS; do
  mkdir -p "$H/up/$d" "$H/wk/$d"
  lower=""
  for layer in $AMI_LAYERS; do   # the AMI's own layer, then the shared one (top first)
    [ -d "$layer/$d" ] && lower="$lower$layer/$d:"
  done
  lower="$lower/$d"
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$H/up/$d,workdir=$H/wk/$d" "/$d"
done

if [ -n "$SYSTEMCTL_PY" ]; then   # systemd is not PID 1 here: docker-systemctl-replacement is
  lib=/usr/local/lib/fpgaops-sandbox
  mkdir -p "$lib"
  cp "$SYSTEMCTL_PY" "$lib/systemctl3.pyc"   # compiled with its timings adjusted (systemctl_standin.py)
  cat >"$lib/systemctl" <<SH
#!/bin/sh
# fpgaops sandbox: systemd is not PID 1 on this host; docker-systemctl-replacement runs units.
[ "\$1" = daemon-reload ] && exit 0
[ "\$(id -u)" = 0 ] || case "\$1" in is-*|status|show|list-*|cat) exec sudo -n /usr/bin/python3 $lib/systemctl3.pyc "\$@";; esac
exec /usr/bin/python3 $lib/systemctl3.pyc "\$@"
SH
  chmod 755 "$lib/systemctl"
  mount --bind "$lib/systemctl" /usr/bin/systemctl
  install -m 755 "$JOURNALCTL_SH" "$lib/journalctl"   # reads the unit logs the systemctl stand-in writes
  mount --bind "$lib/journalctl" /usr/bin/journalctl
fi

# FPGA hosts: /sys/bus/pci/devices lists the loaded slots' application PFs (created by the fpga-*
# tools, served by the FPGA card stand-in), not this machine's PCI devices; empty at boot.
if [ "${FPGA_SLOTS:-0}" -gt 0 ]; then
  rm -rf "$H/fpga-card"
  mkdir -p "$H/fpga-card/devices"
  chmod 755 "$H/fpga-card" "$H/fpga-card/devices"
  mount --bind "$H/fpga-card/devices" /sys/bus/pci/devices
fi

# Everything at / that is not part of a base system (the laptop's work trees, mounts) is hidden.
for p in /*; do
  case "$p" in
    /bin|/boot|/dev|/etc|/home|/lib|/lib32|/lib64|/libx32|/opt|/proc|/root|/run|/sbin|/srv|/sys|/tmp|/usr|/var) ;;
    *) [ -d "$p" ] && ! [ -L "$p" ] && mount -t tmpfs -o ro,mode=755,size=4k tmpfs "$p" ;;
  esac
done
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm

install -m 644 "$H/host.json" /run/sandbox/host.json
echo "$HOST_NAME" >/etc/hostname
grep -q " $HOST_NAME\$" /etc/hosts || echo "127.0.1.1 $HOST_NAME" >>/etc/hosts

if ! id "$LOGIN_USER" >/dev/null 2>&1; then
  useradd -m -s /bin/bash -U "$LOGIN_USER"
  usermod -p '*' "$LOGIN_USER"   # no password, but not "locked": sshd (UsePAM no) lets keys in
fi
echo "$LOGIN_USER ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/90-cloud-init-users
chmod 440 /etc/sudoers.d/90-cloud-init-users
home=$(getent passwd "$LOGIN_USER" | cut -d: -f6)
install -d -m 700 -o "$LOGIN_USER" -g "$LOGIN_USER" "$home/.ssh"
install -m 600 -o "$LOGIN_USER" -g "$LOGIN_USER" "$H/authorized_keys" "$home/.ssh/authorized_keys"

for script in "$H"/boot.d/*.sh; do   # what the sandbox starts at boot (e.g. the error generator)
  [ -f "$script" ] && sh "$script"
done
# As systemd at boot: the services enabled on this host (not the base system's: their links are in
# the lower layer), started in their Before/After order by the systemctl stand-in, in the background.
enabled=$(cd "$H/up/etc/systemd/system/multi-user.target.wants" 2>/dev/null && ls -1 -- *.service 2>/dev/null || true)
if [ -n "$SYSTEMCTL_PY" ] && [ -n "$enabled" ]; then
  # shellcheck disable=SC2086  # one unit name per word
  setsid systemctl start $enabled >/var/log/fpgaops-boot-units.log 2>&1 </dev/null &
fi

exec /usr/sbin/sshd -D -e -f "$H/sshd_config"
