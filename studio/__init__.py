"""Shared machinery for Model Studio: config, devices, the model cache, errors, the offline pack."""
