//! The emulator's request parsing on arbitrary input: the query string (filters, sort, marker,
//! limit) applied to a few images, PATCH operations, tag strings and the `Authorization` header.
//! The input is split at the first two NUL bytes into query, header and body. A panic is the bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let query = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let header = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let body = parts.next().unwrap_or_default();
    let images = vec![
        json!({"id": "a", "name": "web", "status": "active", "min_disk": 40, "protected": false,
               "tags": ["team=web", "imsform-token=01ABC"], "created_at": "2026-11-01T10:00:00Z",
               "updated_at": "2026-11-02T10:00:00Z", "size": 1024}),
        json!({"id": "b", "name": "db", "status": "queued", "min_disk": 1, "protected": true,
               "tags": [], "created_at": "2026-11-01T10:00:00Z", "size": 2.5}),
        json!({"id": "c"}),
    ];
    imsform::emulator::exercise_request_parsers(&query, &header, body, images);
});
