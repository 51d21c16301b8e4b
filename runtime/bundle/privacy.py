"""Nothing leaves the machine: the privacy switches, applied where a session or a model load is made.

onnxruntime 1.32 sends telemetry events (DNS look-ups of an events host, a queue and a device id under
~/.cache/Microsoft/) unless ORT_DISABLE_TELEMETRY is set before it loads; its
`disable_telemetry_events()` alone did not stop it. So the one way onnxruntime is imported is
`onnxruntime_offline()`, which sets that switch first (a process-wide setting, made only by a process
that runs inference). Hugging Face loads read the local files only (`HF_LOCAL`): nothing is downloaded
or reported at run time. Importing this module, or pocketclip, changes nothing in the process.
"""
from __future__ import annotations

import os
from types import ModuleType

ORT_TELEMETRY_OFF = {"ORT_DISABLE_TELEMETRY": "1"}
HF_LOCAL = {"local_files_only": True}  # from_pretrained reads the path or the local cache, never the hub


def onnxruntime_offline() -> ModuleType:
    """onnxruntime, imported with its telemetry switched off (before it loads, and again after)."""
    os.environ.update(ORT_TELEMETRY_OFF)
    import onnxruntime

    onnxruntime.disable_telemetry_events()
    return onnxruntime
