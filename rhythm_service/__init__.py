"""The beat-detection service: the Flask API (``create_app``), features, beat tracking, the inference
backends (cpu, csim, fpga) and the accelerator register map."""
