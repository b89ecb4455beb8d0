"""Script writers: topic → hook, scenes, call to action, post text. Engines are listed by name in models/registry.py."""
