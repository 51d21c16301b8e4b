"""pocketclip: on-device text-to-image photo search.

Layers, bottom up (each imports only those below it): `pocketclip.runtime` (torch-free: what a
phone does), `pocketclip.models` (towers, training), `pocketclip.exporter` (phone artifacts), and
`pocketclip.cli` on top. In the repository they are the folders runtime/, models/, exporter/.
"""

from pocketclip.runtime.privacy import keep_everything_local

keep_everything_local()  # first thing, before any library that could phone home is imported
