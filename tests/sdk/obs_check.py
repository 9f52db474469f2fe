#!/usr/bin/env python3
"""Drives the OBS of `imsform emulator` with Huawei's official OBS SDK for Python
(esdk-obs-python), as tests/sdk/check.py does IMS with the IMS SDK.

Starts the emulator with a bucket on a free loopback port, reads its one JSON line, then, in
the native `OBS` signature and in the S3 `v2` one, path style as loopback endpoints need: put
(with metadata and storage class), head, get (whole and a range), a multipart upload of three
parts (initiate, upload part, list parts, complete, ETag `-3`), an abort, delete, `uploadFile`
(the SDK's own parallel multipart upload the benchmark compares with), and a wrong secret
refused with 403 SignatureDoesNotMatch. Every call must succeed and parse.

Usage: python3 tests/sdk/obs_check.py [path/to/imsform]   (default: target/debug/imsform)
Exit status 0 when every check passed.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile

from obs import CompleteMultipartUploadRequest, CompletePart, GetObjectHeader, ObsClient, PutObjectHeader

BUCKET = "sdk-bucket"
CHECKS = []


def check(label, condition, detail=""):
    CHECKS.append(label)
    if not condition:
        raise AssertionError(f"{label}: {detail}")
    print(f"ok   {label}")


def client(info, signature, secret=None):
    return ObsClient(access_key_id=info["access_key"], secret_access_key=secret or info["secret_key"],
                     server=info["obs_endpoint"], path_style=True, signature=signature,
                     is_signature_negotiation=False)


def objects(obs, tag):
    content = os.urandom(300 * 1024)
    key = f"{tag}/single object.raw"
    put = obs.putContent(BUCKET, key, content, metadata={"imsform-sha256": "abc"},
                         headers=PutObjectHeader(storageClass="STANDARD"))
    check(f"{tag}: put", put.status == 200 and put.body.etag.strip('"') == hashlib.md5(content).hexdigest(),
          put.errorMessage)
    head = obs.getObjectMetadata(BUCKET, key)
    meta = dict(head.header)
    check(f"{tag}: head", head.status == 200 and int(head.body.contentLength) == len(content), meta)
    check(f"{tag}: head metadata", meta.get("imsform-sha256") == "abc", meta)
    got = obs.getObject(BUCKET, key, loadStreamInMemory=True)
    check(f"{tag}: get", got.status == 200 and got.body.buffer == content, got.errorMessage)
    ranged = obs.getObject(BUCKET, key, loadStreamInMemory=True, headers=GetObjectHeader(range="10-19"))
    check(f"{tag}: get a range", ranged.status == 206 and ranged.body.buffer == content[10:20], ranged.status)
    deleted = obs.deleteObject(BUCKET, key)
    check(f"{tag}: delete", deleted.status == 204, deleted.status)
    check(f"{tag}: gone", obs.getObjectMetadata(BUCKET, key).status == 404)


def multipart(obs, tag):
    key = f"{tag}/parts.qcow2"
    parts = [os.urandom(200 * 1024), os.urandom(200 * 1024), os.urandom(50 * 1024)]
    started = obs.initiateMultipartUpload(BUCKET, key, storageClass="STANDARD", metadata={"k": "v"})
    check(f"{tag}: initiate", started.status == 200 and started.body.uploadId, started.errorMessage)
    upload_id = started.body.uploadId
    etags = []
    for number, data in enumerate(parts, start=1):
        sent = obs.uploadPart(BUCKET, key, number, upload_id, object=data)
        check(f"{tag}: upload part {number}", sent.status == 200, sent.errorMessage)
        etags.append(sent.body.etag)
    listed = obs.listParts(BUCKET, key, upload_id)
    numbers = [part.partNumber for part in listed.body.parts]
    check(f"{tag}: list parts", listed.status == 200 and numbers == [1, 2, 3], numbers)
    request = CompleteMultipartUploadRequest(parts=[CompletePart(n, e) for n, e in enumerate(etags, start=1)])
    done = obs.completeMultipartUpload(BUCKET, key, upload_id, request)
    check(f"{tag}: complete", done.status == 200 and done.body.etag.strip('"').endswith("-3"), done.errorMessage)
    got = obs.getObject(BUCKET, key, loadStreamInMemory=True)
    check(f"{tag}: read back", got.body.buffer == b"".join(parts))
    aborted = obs.initiateMultipartUpload(BUCKET, key + ".aborted")
    obs.uploadPart(BUCKET, key + ".aborted", 1, aborted.body.uploadId, object=parts[2])
    gone = obs.abortMultipartUpload(BUCKET, key + ".aborted", aborted.body.uploadId)
    check(f"{tag}: abort", gone.status == 204, gone.status)
    after = obs.listParts(BUCKET, key + ".aborted", aborted.body.uploadId)
    check(f"{tag}: aborted upload gone", after.status == 404 and after.errorCode == "NoSuchUpload", after.errorCode)


def upload_file(obs, tag):
    with tempfile.NamedTemporaryFile(suffix=".raw") as file:
        data = os.urandom(700 * 1024)
        file.write(data)
        file.flush()
        key = f"{tag}/uploaded.raw"
        result = obs.uploadFile(BUCKET, key, file.name, partSize=200 * 1024, taskNum=3, enableCheckpoint=False)
        check(f"{tag}: uploadFile", result.status == 200, result.errorMessage)
        got = obs.getObject(BUCKET, key, loadStreamInMemory=True)
        check(f"{tag}: uploadFile read back", got.body.buffer == data)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/debug/imsform"
    process = subprocess.Popen([binary, "emulator", "--listen", "127.0.0.1:0", "--bucket", BUCKET],
                               stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(process.stdout.readline())
        for signature in ("obs", "v2"):
            obs = client(info, signature)
            objects(obs, signature)
            multipart(obs, signature)
            upload_file(obs, signature)
            obs.close()
        wrong = client(info, "obs", secret="not-the-secret")
        refused = wrong.putContent(BUCKET, "refused.raw", b"x")
        check("wrong secret refused", refused.status == 403 and refused.errorCode == "SignatureDoesNotMatch",
              (refused.status, refused.errorCode))
        wrong.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"all {len(CHECKS)} OBS SDK checks passed")


if __name__ == "__main__":
    main()
