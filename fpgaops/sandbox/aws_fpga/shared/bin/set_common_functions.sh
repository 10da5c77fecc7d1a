# Message helpers shared by sdk_setup.sh and hdk_setup.sh (as aws-fpga's shared/bin has them).
# fpgaops sandbox stand-in. Sourced, never run.

function info_msg {
  echo -e "INFO: $1"
}

function debug_msg {
  if [[ -z $debug || $debug == 0 ]]; then
    return
  fi
  echo -e "DEBUG: $1"
}

function err_msg {
  echo -e >&2 "ERROR: $1"
}

function warn_msg {
  echo -e "WARNING: $1"
}
