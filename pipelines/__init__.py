"""How a short is made: numbered-step orchestration over media operations and model adapters."""
