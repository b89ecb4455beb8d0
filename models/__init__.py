"""One adapter per model family. Heavy backends are imported lazily inside loaders."""
