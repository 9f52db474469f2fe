//! Integration tests of the state module: the library on real files, the real `imsform` binary,
//! and child processes (this test binary re-executed) that hold the lock or save in a loop while
//! being killed. Fixtures live in tests/state/fixtures.

#[path = "state/commands.rs"]
mod commands;
#[path = "state/crash.rs"]
mod crash;
#[path = "state/lock.rs"]
mod lock;
#[path = "state/refusals.rs"]
mod refusals;
#[path = "state/schema.rs"]
mod schema;
#[path = "state/store.rs"]
mod store;
#[path = "state/support.rs"]
mod support;
