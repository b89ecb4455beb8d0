"""Music engines: a bed under the voice. Engines are listed by name in models/registry.py."""
