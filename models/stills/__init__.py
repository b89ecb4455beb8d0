"""Stills engines: one image per scene. Engines are listed by name in models/registry.py."""
