"""The sandbox's local AWS endpoint: moto served over HTTP, plus what moto lacks, with AWS's behaviour.

- ``fpga_images``: the EC2 FPGA image actions (create, describe, copy, delete, attributes), whose
  AFIs live in ``fpga_image_store`` and settle through ``ingestion`` (the DCP tarball checks of
  ``fpgaops.aws.dcp_tarball``, logs written to S3);
- ``amis``: the FPGA Developer AMIs; ``instances``: EC2 instances become hosts through an
  ``InstanceHostProvider`` (``host_provider``); ``console_output``: their SSH host keys in the boot log;
- ``spot_prices``: spot prices of the FPGA instance types;
- ``sandbox_routes``: ``GET /_sandbox/fpga-images/<agfi>`` for the FPGA tool stand-ins;
- ``server``: ``CloudEndpoint`` and the command ``python -m fpgaops.sandbox.cloud``.

Importing this package imports nothing else (no moto): ``host_provider`` stays light for providers.
"""
