"""Reading networks: the native HDF5 schema and one reader per foreign format (Keras, ONNX, PyTorch, safetensors)."""
