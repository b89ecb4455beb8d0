"""Motion engines: how each still moves. Engines are listed by name in models/registry.py."""
