#!/usr/bin/env bash
# Runs tests/sdk/check.py (Huawei's official Python IMS SDK against `imsform emulator`) and
# tests/sdk/obs_check.py (Huawei's official OBS SDK, esdk-obs-python, against its OBS) with the
# pinned SDKs installed into target/sdk-python (no virtualenv needed, nothing installed globally).
# Exits 0 with a "skipped" message when pip is missing or cannot install the pinned SDK.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=${IMSFORM_SDK_PYTHONPATH:-$root/target/sdk-python}
if ! PYTHONPATH=$lib python3 -c 'import huaweicloudsdkims, obs' 2>/dev/null; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "SDK check skipped: python3 has no pip module" >&2
    exit 0
  fi
  if ! python3 -m pip install --quiet --disable-pip-version-check --upgrade --target "$lib" \
      -r "$root/tests/sdk/requirements.txt"; then
    echo "SDK check skipped: the Python package index could not be reached (pip install failed)" >&2
    exit 0
  fi
fi
cargo build --quiet --manifest-path "$root/Cargo.toml" --bin imsform
PYTHONPATH=$lib python3 "$root/tests/sdk/check.py" "$root/target/debug/imsform"
PYTHONPATH=$lib python3 "$root/tests/sdk/obs_check.py" "$root/target/debug/imsform"
