#!/usr/bin/env bash
# Runs tests/sdk/check.py against a fresh debug build, in a private virtualenv with the pinned
# official SDK. Exits 0 with a "skipped" message when PyPI cannot be reached.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${IMSFORM_SDK_VENV:-$root/target/sdk-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import huaweicloudsdkims' 2>/dev/null; then
  if ! python3 -c 'import urllib.request as u; u.urlopen("https://pypi.org/simple/huaweicloudsdkims/", timeout=15)' 2>/dev/null; then
    echo "SDK check skipped: PyPI (https://pypi.org) is unreachable" >&2
    exit 0
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/tests/sdk/requirements.txt"
fi
cargo build --quiet --manifest-path "$root/Cargo.toml" --bin imsform
"$venv/bin/python" "$root/tests/sdk/check.py" "$root/target/debug/imsform"
