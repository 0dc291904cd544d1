#!/usr/bin/env bash
# tests/layout.sh - the include rules of spec/architecture.md (tests/layout.py).
cd "$(dirname "$0")/.." && exec python3 tests/layout.py
