//! Renderings of plans and state: human text, markdown for pull requests, and JSON. Each writes
//! to any `impl Write`; the caller decides colour.
