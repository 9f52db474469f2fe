#!/usr/bin/env bash
# Runs tests/sdk/check.py (Huawei's official Python SDK against `imsform emulator`) with the
# pinned SDK installed into target/sdk-python (no virtualenv needed, nothing installed globally).
# Exits 0 with a "skipped" message when PyPI cannot be reached or pip is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=${IMSFORM_SDK_PYTHONPATH:-$root/target/sdk-python}
if ! PYTHONPATH=$lib python3 -c 'import huaweicloudsdkims' 2>/dev/null; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "SDK check skipped: python3 has no pip module" >&2
    exit 0
  fi
  if ! python3 -c 'import urllib.request as u; u.urlopen("https://pypi.org/simple/huaweicloudsdkims/", timeout=15)' 2>/dev/null; then
    echo "SDK check skipped: PyPI (https://pypi.org) is unreachable" >&2
    exit 0
  fi
  python3 -m pip install --quiet --disable-pip-version-check --upgrade --target "$lib" \
    -r "$root/tests/sdk/requirements.txt"
fi
cargo build --quiet --manifest-path "$root/Cargo.toml" --bin imsform
PYTHONPATH=$lib python3 "$root/tests/sdk/check.py" "$root/target/debug/imsform"
