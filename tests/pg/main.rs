//! The PostgreSQL state backend against a real server (see `server.rs`): the real binary in a
//! temp dir, the cloud an in-test emulator, the state in a schema of its own per test.
//! Concurrent applies and the lock, a lock holder whose connection is terminated mid-apply,
//! force-unlock, migration with `state pull` / `state push`, stale saved plans, the state
//! commands, the rows an apply writes step by step, SIGKILL at random moments, and a link to
//! the server that goes silent mid-apply (through `proxy.rs`).

#[path = "../apply/env.rs"]
#[allow(dead_code, reason = "shared with tests/apply, which uses all of it")]
mod base;
mod crash;
mod env;
mod lock;
mod loss;
mod migrate;
mod proxy;
mod replicas;
mod rows;
mod server;
mod stall;
mod tls;
