"""Loaded weights stay resident and are reused; a memory budget evicts the least recently used.

Every adapter asks the manager for its backend object by a key naming what was
loaded (family, path, device, precision). A second request with the same key
loads nothing; ``loads`` counts real loads so tests and benchmarks can prove it.
"""

from __future__ import annotations

import gc
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from models.errors import EngineUnavailable, Remedy


@dataclass
class _Entry:
    value: Any
    size: int


def param_bytes(obj: Any) -> int:
    """Best-effort resident size of a torch module or pipeline (parameters and buffers)."""
    modules = []
    if hasattr(obj, "components"):  # a diffusers pipeline
        modules = [m for m in obj.components.values() if hasattr(m, "parameters")]
    elif hasattr(obj, "parameters"):
        modules = [obj]
    total = 0
    for m in modules:
        total += sum(p.numel() * p.element_size() for p in m.parameters())
        total += sum(b.numel() * b.element_size() for b in m.buffers()) if hasattr(m, "buffers") else 0
    return total


class ModelManager:
    def __init__(self, budget_bytes: int | None = None) -> None:
        self.budget_bytes = budget_bytes
        self.loads: Counter[Hashable] = Counter()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.RLock()

    def get(self, key: Hashable, loader: Callable[[], Any], size: Callable[[Any], int] = param_bytes) -> Any:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key].value
            value = loader()
            nbytes = int(size(value))
            if self.budget_bytes is not None and nbytes > self.budget_bytes:
                del value
                gc.collect()
                raise EngineUnavailable(
                    f"{key[0] if isinstance(key, tuple) else key} needs about {nbytes / 2**30:.1f} GiB, more than the "
                    f"model memory budget of {self.budget_bytes / 2**30:.1f} GiB.",
                    "Raise STUDIO_MODEL_BUDGET_GB, or pick a smaller model for that stage.",
                    Remedy("set_field", field="models"))
            self.loads[key] += 1
            self._entries[key] = _Entry(value, nbytes)
            self._evict()
            return value

    @property
    def resident_bytes(self) -> int:
        return sum(e.size for e in self._entries.values())

    def loaded(self) -> list[Hashable]:
        return list(self._entries)

    def _evict(self) -> None:
        if self.budget_bytes is None:
            return
        while self.resident_bytes > self.budget_bytes and len(self._entries) > 1:
            self._entries.popitem(last=False)
            gc.collect()
