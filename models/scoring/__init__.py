"""Scoring engines: how good an image is, and which frame makes the thumbnail.

Engines are listed by name in models/registry.py.
"""
