#!/usr/bin/env bash
# Runs checkov, a policy tool written for Terraform's JSON plans, on a saved imsform plan, with
# the custom policies of checks/ (README: Policy checks on plans), and checks with check.py
# that it read every image and replica of the plan with its attributes.
#
# checkov is installed (pinned in requirements.txt) into a virtualenv in target/policy-venv.
# Under CI (CI=true) a checkov that cannot be installed fails the run; elsewhere the check is
# skipped with a message. checkov runs offline: it downloads nothing (--skip-download, no API
# key) and maps no guidelines (BC_SKIP_MAPPING).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/tests/policy"
venv=${IMSFORM_POLICY_VENV:-$root/target/policy-venv}

unavailable() {
  if [ "${CI:-}" = "true" ]; then
    echo "policy check FAILED: $1 (CI=true: checkov must run)" >&2
    exit 1
  fi
  echo "policy check skipped: $1" >&2
  exit 0
}

if ! "$venv/bin/checkov" --version >/dev/null 2>&1; then
  python3 -m venv "$venv" || unavailable "python3 cannot make a virtualenv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" \
    || unavailable "checkov could not be installed from the Python package index"
fi
echo "checkov $("$venv/bin/checkov" --version)"

cargo build --quiet --manifest-path "$root/Cargo.toml" --bin imsform
imsform="$root/target/debug/imsform"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/project/imsform.toml" "$work/"
cp "$here/project/images.yaml" "$work/images.yaml"
"$imsform" -C "$work" apply --auto-approve --no-color >"$work/apply.log" 2>&1 \
  || { cat "$work/apply.log" >&2; exit 1; }
cp "$here/project/images.next.yaml" "$work/images.yaml"
"$imsform" -C "$work" plan -out plan.json --no-color >"$work/plan.log" 2>&1 \
  || { cat "$work/plan.log" >&2; exit 1; }

# What a CI job runs on a saved plan: the plan file is Terraform's JSON plan at the top level.
BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false \
  "$venv/bin/checkov" -f "$work/plan.json" --framework terraform_plan \
  --external-checks-dir "$here/checks" --check CKV2_IMSFORM_1,CKV2_IMSFORM_2,CKV2_IMSFORM_3 \
  --skip-download --soft-fail --compact -o json >"$work/checkov.json" \
  || { cat "$work/checkov.json" >&2; exit 1; }
python3 "$here/check.py" "$work/checkov.json" "$work/plan.json"
