//! End-to-end tests of `imsform apply` and `imsform refresh`: the real binary in a temp dir
//! against an in-test emulator over loopback HTTP (the cloud outlives every imsform process, as
//! the real one does). One binary: the lifecycle of every action, saved plans and refusals,
//! fault injection, and the crash test.

mod crash;
mod env;
mod faults;
mod interrupt;
mod lifecycle;
mod recovery;
mod replicas;
mod stalls;
mod untracked;
