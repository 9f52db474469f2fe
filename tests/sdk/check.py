#!/usr/bin/env python3
"""Drives `imsform emulator` with Huawei's official Python SDK (huaweicloudsdkims 3.1.219).

Starts the emulator on a free loopback port, reads its one JSON line, then runs the image
lifecycle through the SDK exactly as a user would (ims-api.md section 5.3's client setup):
create metadata -> register -> show job (both endpoints) -> list with filters and pagination
-> update -> tags (batch, add, list, delete) -> quota and os versions -> the deprecated Glance
calls (show, JSON-patch update, tags) -> a failed job and refused delete -> delete, plus an IAM
project-id lookup and errors the SDK must parse. Then, on an emulator with two regions and a
consumer project, distribution (ims-distribution.md section 5): share (batch add, both member
lists, accept as the consumer, remove) and copy (in region on both paths, cross region, the
job's entities.image_id naming the new image in the destination). Every call must succeed and
parse.

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
    BatchAddMembersRequest, BatchAddMembersRequestBody, BatchDeleteMembersRequest,
    BatchUpdateMembersRequest, BatchUpdateMembersRequestBody, CopyImageCrossRegionRequest,
    CopyImageCrossRegionRequestBody, CopyImageInRegionInSafeModeRequest, CopyImageInRegionRequest,
    CopyImageInRegionRequestBody, GlanceListImageMembersRequest, GlanceShowImageMemberRequest,
    ListImageMembersRequest, ShowImageMemberRequest,
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


def client_for(info, project_id=True, endpoint=None, project=None):
    cfg = HttpConfig.get_default_config()
    cfg.ignore_ssl_verification = True
    cfg.retry_times = 3
    cred = BasicCredentials(info["access_key"], info["secret_key"],
                            (project or info["project_id"]) if project_id else None)
    builder = ImsClient.new_builder().with_http_config(cfg).with_credentials(cred)
    if project_id:
        builder = builder.with_endpoint(endpoint or info["endpoint"])
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


def wait_job(client, job_id):
    for _ in range(200):
        job = client.show_job(ShowJobRequest(job_id=job_id))
        if job.status in ("SUCCESS", "FAIL"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never ended")


def active_image(client, name):
    image_id = client.glance_create_image_metadata(GlanceCreateImageMetadataRequest(
        body=GlanceCreateImageMetadataRequestBody(name=name, min_disk=40))).id
    job_id = client.register_image(RegisterImageRequest(
        image_id=image_id, body=RegisterImageRequestBody(image_url="my-bucket:web.qcow2"))).job_id
    check(f"{name}: registered", wait_job(client, job_id).status == "SUCCESS")
    return image_id


def sharing(owner, consumer, image_id, consumer_id):
    """Batch add, both member lists with paging, accept as the consumer, batch remove."""
    job_id = owner.batch_add_members(BatchAddMembersRequest(body=BatchAddMembersRequestBody(
        images=[image_id], projects=[consumer_id]))).job_id
    job = wait_job(owner, job_id)
    results = job.entities.results or []
    check("batch_add_members: imsAddImageMembersJob SUCCESS, results name the image",
          job.status == "SUCCESS" and job.job_type == "imsAddImageMembersJob"
          and [(r.image_id, r.project_id, r.status) for r in results]
          == [(image_id, consumer_id, "success")], job)
    glance = owner.glance_list_image_members(GlanceListImageMembersRequest(image_id=image_id))
    check("glance_list_image_members: the consumer is pending",
          [(m.member_id, m.status, m.member_type) for m in glance.members]
          == [(consumer_id, "pending", "project")] and glance.schema == "/v2/schemas/members",
          glance)
    listed = owner.list_image_members(ListImageMembersRequest(image_id=image_id, limit=1))
    check("list_image_members: one page, page_info without next_marker",
          [m.member_id for m in listed.members] == [consumer_id]
          and listed.page_info.current_count == 1 and not listed.page_info.next_marker, listed)
    job_id = consumer.batch_update_members(BatchUpdateMembersRequest(
        body=BatchUpdateMembersRequestBody(images=[image_id], project_id=consumer_id,
                                           status="accepted"))).job_id
    job = wait_job(consumer, job_id)
    check("batch_update_members as the consumer: imsUpdateImageMembersJob SUCCESS",
          job.status == "SUCCESS" and job.job_type == "imsUpdateImageMembersJob", job)
    shown = consumer.glance_show_image_member(GlanceShowImageMemberRequest(
        image_id=image_id, member_id=consumer_id))
    check("glance_show_image_member (consumer): accepted", shown.status == "accepted", shown)
    shown = owner.show_image_member(ShowImageMemberRequest(image_id=image_id,
                                                           member_id=consumer_id))
    check("show_image_member (owner): accepted", shown.status == "accepted", shown)
    job_id = owner.batch_delete_members(BatchDeleteMembersRequest(body=BatchAddMembersRequestBody(
        images=[image_id], projects=[consumer_id]))).job_id
    job = wait_job(owner, job_id)
    after = owner.list_image_members(ListImageMembersRequest(image_id=image_id))
    check("batch_delete_members (JSON body on DELETE): the member is gone",
          job.status == "SUCCESS" and job.job_type == "imsDelImageMembersJob"
          and after.members == [], (job, after))
    try:
        owner.batch_add_members(BatchAddMembersRequest(body=BatchAddMembersRequestBody(
            images=["0" * 32], projects=[consumer_id])))
        check("sharing an unknown image fails", False, "no exception")
    except ClientRequestException as error:
        check("sharing an unknown image: IMG.0066 parsed by the SDK",
              error.status_code == 400 and error.error_code == "IMG.0066", error)


def copying(owner, destination, image_id, info):
    """In-region copies on both paths and a cross-region copy named by its job."""
    for label, call, request in [
            ("copy_image_in_region", owner.copy_image_in_region, CopyImageInRegionRequest),
            ("copy_image_in_region_in_safe_mode", owner.copy_image_in_region_in_safe_mode,
             CopyImageInRegionInSafeModeRequest)]:
        job_id = call(request(image_id=image_id, body=CopyImageInRegionRequestBody(
            name=f"sdk-{label.replace('_', '-')}", description="a copy"))).job_id
        job = wait_job(owner, job_id)
        copy_id = job.entities.image_id
        copies = owner.list_images(ListImagesRequest(id=copy_id)).images
        check(f"{label}: imsCopyImageInRegionJob names an active private copy",
              job.status == "SUCCESS" and job.job_type == "imsCopyImageInRegionJob"
              and copy_id != image_id and len(copies) == 1 and copies[0].status == "active"
              and copies[0].data_origin == f"image,{info['region']},{image_id}", (job, copies))
    target = [r for r in info["regions"] if r != info["region"]][0]
    job_id = owner.copy_image_cross_region(CopyImageCrossRegionRequest(
        image_id=image_id, body=CopyImageCrossRegionRequestBody(
            agency_name="ims_admin_agency", name="sdk-replica", project_name=target,
            region=target))).job_id
    job = wait_job(owner, job_id)
    replica_id = job.entities.image_id
    check("copy_image_cross_region: the job in the source region names the new image",
          job.status == "SUCCESS" and job.job_type == "imsCrossRegionCopyImageJob"
          and replica_id and owner.list_images(ListImagesRequest(id=replica_id)).images == [],
          job)
    replicas = destination.list_images(ListImagesRequest(id=replica_id)).images
    check("the replica is an active image of the destination region's project",
          len(replicas) == 1 and replicas[0].status == "active" and replicas[0].name == "sdk-replica"
          and replicas[0].owner == info["regions"][target]["project_id"], replicas)


def distribution(binary):
    emulator, info = start(binary, "--region", "cn-north-4", "--region", "ap-southeast-1",
                           "--project", "cn-north-4_consumer")
    try:
        consumer_id = [p["id"] for p in info["projects"] if p["name"] == "cn-north-4_consumer"][0]
        owner = client_for(info)
        consumer = client_for(info, project=consumer_id)
        destination = client_for(info, endpoint=info["regions"]["ap-southeast-1"]["endpoint"],
                                 project=info["regions"]["ap-southeast-1"]["project_id"])
        image_id = active_image(owner, "sdk-shared")
        sharing(owner, consumer, image_id, consumer_id)
        copying(owner, destination, image_id, info)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


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
    distribution(binary)
    print(f"all {len(CHECKS)} SDK checks passed")


if __name__ == "__main__":
    main()
