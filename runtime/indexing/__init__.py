"""Indexing a photo folder: walking it, reading and decoding each photo once, the incremental indexer.
May import the store, the bundle and search (its codes); never parity or the library."""
