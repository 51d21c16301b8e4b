"""Checking that what a phone computes is what the reference computes: golden sets, quality bars,
bundle, photo and device-report parity. May import everything of the runtime but the library."""
