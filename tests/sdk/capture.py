#!/usr/bin/env python3
"""Captures what Huawei's official Python SDK sends for the distribution calls imsform makes
(share, stop sharing, answer, list members, copy in region, copy to another region) and writes
tests/fixtures/sdk_distribution_requests.json, which tests/cloud compares the client's requests
with. A loopback server records each request and answers a canned body; ids are replaced by
`{image_id}` and `{project_id}` in the fixture.

Usage: PYTHONPATH=target/sdk-python python3 tests/sdk/capture.py
"""

import http.server
import json
import os
import re
import threading
import warnings

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkims.v2 import (
    BatchAddMembersRequest, BatchAddMembersRequestBody, BatchDeleteMembersRequest,
    BatchUpdateMembersRequest, BatchUpdateMembersRequestBody, CopyImageCrossRegionRequest,
    CopyImageCrossRegionRequestBody, CopyImageInRegionRequest, CopyImageInRegionRequestBody,
    ImsClient, ListImageMembersRequest,
)

IMAGE = "11111111-2222-3333-4444-555555555555"
PROJECT = "0123456789abcdef0123456789abcdef"
CONSUMER = "fedcba9876543210fedcba9876543210"
CAPTURED = []


class Capture(http.server.BaseHTTPRequestHandler):
    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        signed = re.search(r"SignedHeaders=([^,]+)", self.headers.get("Authorization", ""))
        path, _, query = self.path.partition("?")
        CAPTURED.append({
            "method": self.command, "path": path, "query": query,
            "content-type": self.headers.get("Content-Type"),
            "signed": signed.group(1) if signed else None,
            "body": json.loads(body) if body else None,
        })
        reply = {"members": [], "schema": "/v2/schemas/members"} if self.command == "GET" \
            else {"job_id": "0" * 32}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


def main():
    warnings.simplefilter("ignore", DeprecationWarning)
    server = http.server.HTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    cfg = HttpConfig.get_default_config()
    cfg.retry_times = 0
    client = ImsClient.new_builder().with_http_config(cfg).with_endpoint(endpoint) \
        .with_credentials(BasicCredentials("AK", "SK", PROJECT)).build()
    members = BatchAddMembersRequestBody(images=[IMAGE], projects=[CONSUMER])
    client.batch_add_members(BatchAddMembersRequest(body=members))
    client.batch_delete_members(BatchDeleteMembersRequest(body=members))
    client.batch_update_members(BatchUpdateMembersRequest(body=BatchUpdateMembersRequestBody(
        images=[IMAGE], project_id=PROJECT, status="accepted")))
    client.list_image_members(ListImageMembersRequest(image_id=IMAGE, limit=1000))
    client.copy_image_in_region(CopyImageInRegionRequest(
        image_id=IMAGE, body=CopyImageInRegionRequestBody(name="web-copy", description="d")))
    client.copy_image_cross_region(CopyImageCrossRegionRequest(
        image_id=IMAGE, body=CopyImageCrossRegionRequestBody(
            agency_name="ims_admin_agency", name="web-sg", project_name="ap-southeast-1",
            region="ap-southeast-1")))
    server.shutdown()
    text = json.dumps({
        "captured_with": "huaweicloudsdkims 3.1.219 / huaweicloudsdkcore 3.1.219 (Python), "
                         "against a loopback capture server (tests/sdk/capture.py)",
        "requests": CAPTURED}, indent=1)
    text = text.replace(IMAGE, "{image_id}").replace(PROJECT, "{project_id}") \
        .replace(CONSUMER, "{consumer_id}")
    out = os.path.join(os.path.dirname(__file__), "..", "fixtures",
                       "sdk_distribution_requests.json")
    with open(out, "w") as handle:
        handle.write(text + "\n")
    print(f"wrote {len(CAPTURED)} requests to {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
