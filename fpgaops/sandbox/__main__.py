from fpgaops.sandbox.cli import main

main(prog_name="python -m fpgaops.sandbox")
