"""Search over the store: exact, PQ and fast-scan candidate stages, exact re-rank, hits.
May import the store and the bundle (its codebooks), never indexing, parity or the library."""
