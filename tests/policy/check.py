"""Checks what checkov read from imsform's saved plan (tests/policy/run.sh): every image and
replica of planned_values was evaluated with its attributes as the plan holds them, the
policies pass where the manifests comply and fail where they do not (legacy). Prints one
closing line; exits 1 on any mismatch."""
import json
import sys

report_path, plan_path = sys.argv[1], sys.argv[2]
report = json.load(open(report_path))
plan = json.load(open(plan_path))
problems = []


def expect(condition, message):
    if not condition:
        problems.append(message)


planned = {r["address"]: r for r in plan["planned_values"]["root_module"]["resources"]}
images = {a for a, r in planned.items() if r["type"] == "imsform_image"}
replicas = {a for a, r in planned.items() if r["type"] == "imsform_image_replica"}
expect(images == {"images.web", "images.db", "images.api", "images.legacy"}, f"images {images}")
expect(len(replicas) == 3, f"replicas {replicas}")

summary = report["summary"]
expect(summary["parsing_errors"] == 0, f"parsing errors: {summary}")
expect(summary["resource_count"] == len(planned), f"checkov saw {summary['resource_count']} "
       f"resources, the plan has {len(planned)}")

results = report["results"]
seen = {}  # (check id, address) -> result
for outcome in ("passed_checks", "failed_checks"):
    for check in results.get(outcome, []):
        address = check["resource_address"]
        seen[(check["check_id"], address)] = outcome
        entity = check["check_result"]["entity"]
        kind = planned[address]["type"]
        values = next(iter(entity[kind].values()))
        expected = planned[address]["values"]
        # checkov reads each attribute of planned_values (lists of one, tags as a map)
        for name in ("name", "min_disk", "project", "region"):
            if name in expected:
                expect(values.get(name) == [expected[name]],
                       f"{address}: checkov read {name}={values.get(name)}, plan {expected[name]}")
        if "tags" in expected and expected["tags"]:
            tags = values["tags"][0]
            for key, value in expected["tags"].items():
                expect(tags.get(key) == value, f"{address}: tag {key}")

wanted = {}
for address in images:
    ok = "failed_checks" if address == "images.legacy" else "passed_checks"
    wanted[("CKV2_IMSFORM_1", address)] = ok
    wanted[("CKV2_IMSFORM_2", address)] = ok
for address in replicas:
    wanted[("CKV2_IMSFORM_3", address)] = "passed_checks"
for key in sorted(set(wanted) | set(seen)):
    expect(seen.get(key) == wanted.get(key), f"{key}: checkov {seen.get(key)}, expected {wanted.get(key)}")

if problems:
    print("checkov did not read the plan as expected:", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
passed = sum(1 for r in seen.values() if r == "passed_checks")
print(f"checkov read {len(images)} images and {len(replicas)} replicas of the plan; "
      f"{passed} checks passed and {len(seen) - passed} failed as the manifests say")
