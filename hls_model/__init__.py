"""Beat model: generated training songs, QKeras training, hls4ml conversion, FPGA wrapper, packaging."""
