"""The torch-free reference runtime: what a phone does, in Python. Rooms by concern, bottom up:
store/ and bundle/, search/, indexing/, parity/, and library.py, the one facade callers use."""
