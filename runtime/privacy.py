"""Nothing leaves the machine: every library we load is told so before it is imported.

onnxruntime 1.32 sends telemetry events (DNS look-ups of an events host, a queue and a device id under
~/.cache/Microsoft/) unless ORT_DISABLE_TELEMETRY is set before it loads; its
`disable_telemetry_events()` alone did not stop it. Hugging Face libraries phone home for telemetry
and would download weights at run time; here they read only what is already on disk.
"""
from __future__ import annotations

import os

SETTINGS = {
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "1",  # `hf:ID` reads the local Hugging Face cache; nothing is downloaded at run time
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
}


def keep_everything_local() -> None:
    """Set the switches above in this process (and the processes it starts), before the libraries load."""
    for key, value in SETTINGS.items():
        os.environ[key] = value
