"""Model → firmware: hls4ml conversion (through the Keras-2 shim), C simulation, synthesis."""
