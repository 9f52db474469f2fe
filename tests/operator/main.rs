//! Operator experience (issue 16), with the real binary in temp dirs: Terraform's single-dash
//! flags, fast and explained failures, progress off a terminal, the state lock's notices, plans
//! over a subset of the manifests, the destroy question, and example copies that ignore what the
//! README's commands leave behind.

#[path = "../commands/support.rs"]
#[allow(dead_code, reason = "shared with tests/commands, which uses all of it")]
mod support;

mod destroy;
mod failure;
mod flags;
mod inputs;
mod locks;
mod progress;

/// One image, `web`, with no tags: a plan from no state reads nothing, so the first request
/// is its create.
pub const ONE_IMAGE: &str = "\
images:
  web:
    name: web
    image_url: bucket:web.qcow2
    os_version: Ubuntu 22.04 server 64bit
    min_disk: 40
";
