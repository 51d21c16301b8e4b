"""pocketclip: on-device text-to-image photo search.

Floors, bottom up (each imports only those below it): `pocketclip.runtime` (torch-free: what a phone
does), `pocketclip.models` (towers, training), `pocketclip.exporter` (phone artifacts), and
`pocketclip.web` and `pocketclip.cli` on top. In the repository they are the folders runtime/,
models/, exporter/ and pocketclip/. Importing pocketclip changes nothing in the process: the privacy
switches are applied where inference sessions and model loads are made (runtime/bundle/privacy.py).
"""
