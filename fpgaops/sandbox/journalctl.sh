#!/bin/sh
# fpgaops sandbox: journalctl stand-in. There is no journald on a sandbox host: the systemctl
# stand-in (docker-systemctl-replacement) writes each unit's output to /var/log/journal/<unit>.log.
# Supported as the real one: -u/--unit UNIT, -n/--lines N|all (every line without -n, as the
# real one), --no-pager, -q, -o/--output cat|short (lines are printed as the unit wrote them).
unit='' lines=all
while [ $# -gt 0 ]; do
  case "$1" in
    -u|--unit) unit=$2; shift ;;
    --unit=*) unit=${1#--unit=} ;;
    -n|--lines) lines=$2; shift ;;
    -n[0-9]*) lines=${1#-n} ;;
    --lines=*) lines=${1#--lines=} ;;
    -o|--output) shift ;;
    --output=*|--no-pager|-q|--quiet) ;;
    *) echo "journalctl (fpgaops sandbox stand-in): option $1 is not supported here" >&2; exit 1 ;;
  esac
  shift
done
[ -n "$unit" ] || { echo "journalctl (fpgaops sandbox stand-in): give -u UNIT" >&2; exit 1; }
case "$lines" in
  all) ;;
  ''|*[!0-9]*) echo "journalctl (fpgaops sandbox stand-in): -n takes a number or all, not '$lines'" >&2; exit 1 ;;
esac
case "$unit" in *.*) ;; *) unit=$unit.service ;; esac
log=/var/log/journal/$unit.log
if [ ! -s "$log" ]; then echo "-- No entries --"; exit 0; fi
if [ "$lines" = all ]; then cat "$log"; else tail -n "$lines" "$log"; fi
