"""Timing engines: when each word is heard. Engines are listed by name in models/registry.py."""
