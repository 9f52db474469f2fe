//! The commands of the main workflow (`plan`, `show PLANFILE`, `import`, `output`, build
//! variables, `state rebind`) run as the real binary
//! in temp dirs: against the local cloud (no credentials), and against an emulator started in
//! the test with `HW_*` variables pointing at it.

mod distribution;
mod graph;
mod hand_made;
mod import;
mod output;
mod plan;
mod query;
mod rebind;
mod refusals;
mod replicas;
mod sharing;
mod support;
mod variables;
