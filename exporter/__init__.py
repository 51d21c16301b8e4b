"""The exporter: phone artifacts (ExecuTorch, CoreML, ONNX), their validation and the bundle writer.
Stands on the models and the runtime; nothing below imports it."""
