#!/usr/bin/env python3
"""Drives `imsform emulator` with Huawei's official Python SDK (huaweicloudsdkims 3.1.219).

Starts the emulator on a free loopback port, reads its one JSON line, then runs the image
lifecycle through the SDK exactly as a user would (ims-api.md section 5.3's client setup):
create metadata -> register -> show job (both endpoints) -> list with filters and pagination
-> update -> tags (batch, add, list, delete) -> quota and os versions -> the deprecated Glance
calls (show, JSON-patch update, tags) -> a failed job and refused delete -> delete, plus an IAM
project-id lookup and errors the SDK must parse. Every call must succeed and parse.

Usage: python3 tests/sdk/check.py [path/to/imsform]   (default: target/debug/imsform)
Exit status 0 when every check passed.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request
import warnings

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkims.v2 import (
    AddImageTagRequest, AddImageTagRequestBody, BatchAddOrDeleteTagsRequest,
    BatchAddOrDeleteTagsRequestBody, DeleteImageTagRequest, GlanceCreateImageMetadataRequest,
    GlanceCreateImageMetadataRequestBody, GlanceCreateTagRequest, GlanceDeleteImageRequest,
    GlanceDeleteImageRequestBody, GlanceDeleteTagRequest, GlanceListImagesRequest,
    GlanceShowImageRequest, GlanceUpdateImageRequest, GlanceUpdateImageRequestBody,
    ImsClient, ListImagesRequest, ListImageTagsRequest, ListOsVersionsRequest,
    RegisterImageRequest, RegisterImageRequestBody, ResourceTag, ShowImageQuotaRequest,
    ShowJobProgressRequest, ShowJobRequest, UpdateImageRequest, UpdateImageRequestBody,
)

warnings.simplefilter("ignore", DeprecationWarning)  # show_job and glance_* are deprecated
CHECKS = []


def check(label, condition, detail=""):
    CHECKS.append(label)
    if not condition:
        raise AssertionError(f"{label}: {detail}")
    print(f"ok   {label}")


def client_for(info, project_id=True):
    cfg = HttpConfig.get_default_config()
    cfg.ignore_ssl_verification = True
    cfg.retry_times = 3
    cred = BasicCredentials(info["access_key"], info["secret_key"],
                            info["project_id"] if project_id else None)
    builder = ImsClient.new_builder().with_http_config(cfg).with_credentials(cred)
    if project_id:
        builder = builder.with_endpoint(info["endpoint"])
    else:
        # No project id: the SDK looks it up with GET /v3/projects?name=REGION on IAM.
        os.environ["HUAWEICLOUD_SDK_IAM_ENDPOINT"] = info["endpoint"]
        builder = builder.with_region(Region(info["region"], info["endpoint"]))
    return builder.build()


def lifecycle(client, info):
    tags = ["team=web", "env=prod"]
    body = GlanceCreateImageMetadataRequestBody(
        name="sdk-web-base", os_version="Ubuntu 22.04 server 64bit", container_format="bare",
        disk_format="qcow2", min_disk=40, min_ram=1024, tags=tags, visibility="private",
        protected=False)
    created = client.glance_create_image_metadata(GlanceCreateImageMetadataRequest(body=body))
    check("create metadata: 201 and queued", created.status == "queued" and created.id, created)
    check("create metadata: owner, self, __os_type",
          created.owner == info["project_id"] and created._self == f"/v2/images/{created.id}"
          and created.os_type == "Linux", created)
    image_id = created.id

    job_id = client.register_image(RegisterImageRequest(
        image_id=image_id, body=RegisterImageRequestBody(image_url="my-bucket:images/web.qcow2"))).job_id
    check("register: job id", isinstance(job_id, str) and len(job_id.strip()) == 32, job_id)

    percents = []
    for _ in range(200):
        progress = client.show_job_progress(ShowJobProgressRequest(job_id=job_id))
        percents.append(progress.entities.process_percent)
        if progress.status in ("SUCCESS", "FAIL"):
            break
        time.sleep(0.05)
    check("show_job_progress: SUCCESS with growing process_percent",
          progress.status == "SUCCESS" and percents == sorted(percents) and percents[-1] == 1.0,
          (progress.status, percents))
    job = client.show_job(ShowJobRequest(job_id=job_id))
    check("show_job: SUCCESS, entities.image_id",
          job.status == "SUCCESS" and job.entities.image_id == image_id
          and job.job_type == "imsNativeImportImageJob", job)

    try:
        client.register_image(RegisterImageRequest(
            image_id=image_id, body=RegisterImageRequestBody(image_url="my-bucket:again.qcow2")))
        check("register twice fails", False, "no exception")
    except ClientRequestException as error:
        check("register twice: IMG.0046 parsed by the SDK",
              error.status_code == 400 and error.error_code == "IMG.0046"
              and len(error.request_id) == 32, error)
    return image_id


def listing(client, info, image_id):
    for i in range(3):
        client.glance_create_image_metadata(GlanceCreateImageMetadataRequest(
            body=GlanceCreateImageMetadataRequestBody(name=f"sdk-extra-{i}", min_disk=40)))
    found = client.list_images(ListImagesRequest(
        imagetype="private", owner=info["project_id"], name="sdk-web-base", status="active",
        tag="team=web", protected=False, disk_format="zvhd2", limit=10,
        created_at="gte:2000-01-01T00:00:00Z", sort_key="created_at", sort_dir="desc"))
    check("list_images with filters finds the active image",
          [i.id for i in found.images] == [image_id] and found.images[0].image_size != "0"
          and "team=web" in found.images[0].tags, found)
    check("list_images __imagetype=gold is empty",
          client.list_images(ListImagesRequest(imagetype="gold")).images == [])
    seen, marker = [], None
    while True:
        page = client.list_images(ListImagesRequest(imagetype="private", limit=1, marker=marker))
        seen += [i.id for i in page.images]
        if page.page_info is None or page.page_info.next_marker is None:
            break
        marker = page.page_info.next_marker
    check("list_images paginates with page_info.next_marker",
          len(seen) == 4 and len(set(seen)) == 4 and image_id in seen, seen)
    native = client.glance_list_images(GlanceListImagesRequest(limit=2))
    check("glance_list_images: first/next/schema",
          len(native.images) == 2 and native.next and native.first and native.schema, native)


def update_and_tags(client, info, image_id):
    updated = client.update_image(UpdateImageRequest(image_id=image_id, body=[
        UpdateImageRequestBody(op="add", path="/__description", value="built by the SDK check"),
        UpdateImageRequestBody(op="replace", path="/name", value="sdk-web-base-2")]))
    check("update_image: add + replace",
          updated.name == "sdk-web-base-2" and updated.description == "built by the SDK check",
          updated)
    client.batch_add_or_delete_tags(BatchAddOrDeleteTagsRequest(
        image_id=image_id, body=BatchAddOrDeleteTagsRequestBody(
            action="create", tags=[ResourceTag(key="owner", value="imsform"),
                                   ResourceTag(key="env", value="staging")])))
    client.add_image_tag(AddImageTagRequest(
        image_id=image_id, body=AddImageTagRequestBody(tag=ResourceTag(key="tier", value="1"))))
    listed = client.list_image_tags(ListImageTagsRequest(image_id=image_id))
    pairs = sorted((t.key, t.value) for t in listed.tags)
    check("tags: batch create + add + list",
          pairs == [("env", "staging"), ("owner", "imsform"), ("team", "web"), ("tier", "1")],
          pairs)
    client.delete_image_tag(DeleteImageTagRequest(image_id=image_id, key="tier"))
    client.batch_add_or_delete_tags(BatchAddOrDeleteTagsRequest(
        image_id=image_id, body=BatchAddOrDeleteTagsRequestBody(
            action="delete", tags=[ResourceTag(key="env", value="staging")])))
    pairs = sorted(t.key for t in client.list_image_tags(ListImageTagsRequest(image_id=image_id)).tags)
    check("tags: delete one + batch delete", pairs == ["owner", "team"], pairs)
    quota = client.show_image_quota(ShowImageQuotaRequest())
    check("show_image_quota", quota.quotas.resources[0].type == "image", quota)
    versions = client.list_os_versions(ListOsVersionsRequest())
    check("list_os_versions",
          any(v.os_version == "Ubuntu 22.04 server 64bit"
              for group in versions.body for v in group.version_list), versions)


def native(client, image_id):
    """The deprecated Glance-style calls: show, JSON-patch update (UNSIGNED-PAYLOAD), tags."""
    shown = client.glance_show_image(GlanceShowImageRequest(image_id=image_id))
    check("glance_show_image", shown.id == image_id and shown.status == "active", shown)
    patched = client.glance_update_image(GlanceUpdateImageRequest(image_id=image_id, body=[
        GlanceUpdateImageRequestBody(op="replace", path="/name", value="sdk-web-base-3")]))
    check("glance_update_image (application/openstack-images-v2.1-json-patch)",
          patched.name == "sdk-web-base-3", patched)
    client.glance_create_tag(GlanceCreateTagRequest(image_id=image_id, tag="native_tag"))
    tags = client.glance_show_image(GlanceShowImageRequest(image_id=image_id)).tags
    check("glance_create_tag", "native_tag=" in tags, tags)
    client.glance_delete_tag(GlanceDeleteTagRequest(image_id=image_id, tag="native_tag"))
    tags = client.glance_show_image(GlanceShowImageRequest(image_id=image_id)).tags
    check("glance_delete_tag", "native_tag=" not in tags, tags)


def failures(client, info):
    """A failed registration job and a refused delete, as the SDK reports them."""
    request = urllib.request.Request(
        info["endpoint"] + "/__emulator/faults", method="POST",
        data=json.dumps({"fail_urls": ["my-bucket:broken.qcow2"]}).encode())
    urllib.request.urlopen(request).close()
    doomed = client.glance_create_image_metadata(GlanceCreateImageMetadataRequest(
        body=GlanceCreateImageMetadataRequestBody(name="sdk-doomed", protected=True))).id
    job_id = client.register_image(RegisterImageRequest(
        image_id=doomed, body=RegisterImageRequestBody(image_url="my-bucket:broken.qcow2"))).job_id
    for _ in range(200):
        job = client.show_job(ShowJobRequest(job_id=job_id))
        if job.status in ("SUCCESS", "FAIL"):
            break
        time.sleep(0.05)
    check("a failed job: FAIL with IMG.0057 and a reason",
          job.status == "FAIL" and job.error_code == "IMG.0057" and job.fail_reason, job)
    killed = client.list_images(ListImagesRequest(id=doomed)).images[0]
    check("the image of a failed job is killed", killed.status == "killed", killed)
    try:
        client.glance_delete_image(GlanceDeleteImageRequest(image_id=doomed))
        check("deleting a protected image fails", False, "no exception")
    except ClientRequestException as error:
        check("deleting a protected image: IMG.0028", error.error_code == "IMG.0028", error)
    return doomed


def deletion(client, image_id):
    client.glance_delete_image(GlanceDeleteImageRequest(
        image_id=image_id, body=GlanceDeleteImageRequestBody(delete_backup=False)))
    for _ in range(100):
        if not client.list_images(ListImagesRequest(id=image_id)).images:
            break
        time.sleep(0.05)
    check("delete: the image disappears from the list",
          client.list_images(ListImagesRequest(id=image_id)).images == [])


def start(binary, *extra):
    emulator = subprocess.Popen(
        [binary, "emulator", "--listen", "127.0.0.1:0", "--job-duration", "300ms", *extra],
        stdout=subprocess.PIPE, text=True)
    return emulator, json.loads(emulator.stdout.readline())


def other_pagination_styles(binary):
    """The SDK parses the `next`-link and marker-less list styles too (ims-api.md section 10)."""
    for style in ("next", "none"):
        emulator, info = start(binary, "--pagination", style)
        try:
            client = client_for(info)
            for i in range(3):
                client.glance_create_image_metadata(GlanceCreateImageMetadataRequest(
                    body=GlanceCreateImageMetadataRequestBody(name=f"sdk-{style}-{i}")))
            first = client.list_images(ListImagesRequest(limit=2, sort_key="name", sort_dir="asc"))
            rest = client.list_images(ListImagesRequest(
                limit=2, sort_key="name", sort_dir="asc", marker=first.images[-1].id))
            names = [i.name for i in first.images + rest.images]
            check(f"list_images with --pagination {style}: pages parse",
                  names == [f"sdk-{style}-{i}" for i in range(3)] and first.page_info is None,
                  names)
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "..", "target", "debug", "imsform")
    emulator, info = start(binary)
    try:
        print(f"emulator at {info['endpoint']} (project {info['project_id']})")
        client = client_for(info)
        image_id = lifecycle(client, info)
        listing(client, info, image_id)
        update_and_tags(client, info, image_id)
        native(client, image_id)
        doomed = failures(client, info)
        deletion(client, image_id)
        looked_up = client_for(info, project_id=False)
        images = looked_up.list_images(ListImagesRequest(imagetype="private")).images
        check("IAM project lookup (/v3/projects?name=REGION) then list",
              len(images) == 4 and doomed in [i.id for i in images], images)
        with urllib.request.urlopen(info["endpoint"] + "/__emulator/stats") as response:
            stats = json.load(response)["requests"]
        check("the emulator saw the IAM lookup and both job endpoints",
              stats.get("GET /v3/projects", 0) >= 1
              and stats.get("GET /v1/{project_id}/jobs/{job_id}", 0) >= 1
              and stats.get("GET /v1/cloudimages/job/{job_id}", 0) >= 1, stats)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    other_pagination_styles(binary)
    print(f"all {len(CHECKS)} SDK checks passed")


if __name__ == "__main__":
    main()
