"""The command: `pyflyte backfill`, its options, how it reads dates and inputs, and what it prints.

The top layer: may import every other layer; nothing imports it but the package's entry points.
"""
