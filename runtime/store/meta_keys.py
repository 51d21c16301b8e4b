"""The keys of the store's `meta` table: the contract the Kotlin and Swift stores write too.

Every module that reads or writes meta uses these names; the apps' tests compare their own
constants with this list.
"""
SCHEMA_VERSION = "schema_version"
MODEL_FINGERPRINT = "model_fingerprint"
DIM = "dim"
PREPROCESS_SHA256 = "preprocess_sha256"
PQ_CODEBOOKS_SHA256 = "pq_codebooks_sha256"  # which codebooks embeddings.pq_code belong to
ROOT = "root"  # the indexed folder, absolute
BUNDLE = "bundle"  # the bundle folder the store was indexed with, absolute
BACKEND = "backend"  # onnx | pte | torch
PRECISION = "precision"
# A counter every write to photos or embeddings raises, in the same transaction: the memory-mappable
# copies beside the store (runtime/store/copy.py) record the generation they were built from, and one
# of another generation is stale. Missing = 0.
GENERATION = "generation"

# The photos whose batch is being decoded, as JSON {path: strikes}: a photo recorded twice without its batch
# being written killed the process twice and is quarantined (docs/conformance.md, R20).
DECODING = "decoding"

ALL = (SCHEMA_VERSION, MODEL_FINGERPRINT, DIM, PREPROCESS_SHA256, PQ_CODEBOOKS_SHA256, ROOT, BUNDLE, BACKEND,
       PRECISION, GENERATION, DECODING)
