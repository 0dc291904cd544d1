#!/usr/bin/env bash
# The README's main command keeps working: run the three-company demo with
# the test build of the binary ($ENTENTE). It exits non-zero if shared fields
# differ, or if the removed member receives a later edit.
set -euo pipefail
exec bash "$(dirname "$0")/../demo.sh"
