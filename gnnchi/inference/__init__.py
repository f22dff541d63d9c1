"""Inference without Lightning: the ONNX contract, export, the backends, the Predictor, predict on
CSV files and screening. With an exported ONNX model none of it imports torch."""
