"""The beat-detection service: feature extraction and the accelerator register map (rest to come)."""
