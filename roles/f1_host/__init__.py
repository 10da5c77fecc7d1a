"""f1_host: every FPGA host (F1 or F2): the SDK's runtime tools, and the AFI loaded on its slots.

Steps: the card's group (``fpga_group``), aws-fpga in the login user's home (as dev_host), the
AFI Management Tools through ``sdk_setup.sh`` (sourced, with non-root access for that group),
then, when ``afi_agfi`` is set: the load script ``/usr/local/sbin/fpgaops-load-afi``, the AFI
loaded on ``afi_slots`` (one idempotent step per slot), ``/etc/fpgaops/afi.env`` naming it, and
the boot unit ``fpgaops-afi.service`` (enabled, not started) that loads it again after a stop/start.

``status.fpga_status(connection)`` reads every slot of a host, for ``fab fpga-status``.
Variables: ``defaults.yml``.
"""
