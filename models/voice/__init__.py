"""Voice engines: text → speech with word events. Engines are listed by name in models/registry.py."""
