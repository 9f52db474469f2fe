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
