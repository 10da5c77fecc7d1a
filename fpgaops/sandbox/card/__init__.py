"""The sandbox's FPGA card stand-in: the beat accelerator's OCL registers, answered by the C emulation.

On a real F1/F2 host the service maps ``/sys/bus/pci/devices/<DBDF>/resource0`` of the slot's
application PF and drives the Custom Logic's registers (``rhythm_service.register_map``). In the
sandbox that file is a plain 4 KiB file shared by the host and this card:

- ``fpga-load-local-image`` (the tool stand-in, on the host) creates
  ``/sys/bus/pci/devices/<DBDF>/{vendor,device,class,resource0}`` when a load completes (the host's
  ``/sys/bus/pci/devices`` is a bind of ``<state>/hosts/<name>/fpga-card/devices``), runs the udev
  rule that ``sdk_setup.sh`` installed with ``AWS_FPGA_ALLOW_NON_ROOT`` (group rw), and tells the
  local AWS endpoint (``PUT /_sandbox/fpga-cards/<host>/<slot>``); a clear removes the device.
- The endpoint process (root, alive as long as the sandbox) runs ``FpgaCards``: it maps each
  attached ``resource0`` (MAP_SHARED) and one poller thread serves every slot: a start written to
  CONTROL is taken, computed with the emulation of the model the loaded AFI was built from, and
  answered through OUTPUT, CYCLES and STATUS, as the hardware does (``registers``).
- Which model: the AFI's ``fpgaops:package`` tag names the model package tarball in S3
  (``fpgaops.aws.afi.ensure_afi(..., package_tarball=...)``); ``designs`` downloads it, unpacks it
  into a cache keyed by its sha256 and builds the emulation once, while the load is still busy.
  An AFI without that tag is a design this card cannot execute: its BAR reads 0xFFFFFFFF everywhere,
  as a card whose design does not answer.

Modules: ``registers`` (one slot's register semantics on a buffer), ``designs`` (AGFI -> Design),
``cards`` (attach/detach, the poller).
"""
