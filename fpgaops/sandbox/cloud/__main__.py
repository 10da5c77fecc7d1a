"""``python -m fpgaops.sandbox.cloud``: run the local AWS endpoint (see ``server.main``)."""

from fpgaops.sandbox.cloud.server import main

main(prog_name="python -m fpgaops.sandbox.cloud")
