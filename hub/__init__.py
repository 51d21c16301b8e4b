"""Models from a hub: `pocketclip models pull` (the one network path) and the torch-free bundle making it needs."""
