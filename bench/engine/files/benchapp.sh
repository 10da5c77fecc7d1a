#!/bin/sh
# benchapp: the engine benchmark's stand-in service (bench/engine/files/benchapp.sh).
#   benchapp.sh serve    serve the working directory over HTTP on 127.0.0.1:$BENCHAPP_PORT
#   benchapp.sh health   exit 0 when it answers (run by cron)
set -eu
port="${BENCHAPP_PORT:-8080}"
case "${1:-serve}" in
    serve) exec /opt/benchapp/venv/bin/python -m http.server "$port" --bind 127.0.0.1 ;;
    health) exec /opt/benchapp/venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/', timeout=5)" ;;
    *) echo "usage: $0 serve|health" >&2; exit 2 ;;
esac
