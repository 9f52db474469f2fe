//! The commands of the main workflow (`plan`, `show PLANFILE`, `import`) run as the real binary
//! in temp dirs: against the local cloud (no credentials), and against an emulator started in
//! the test with `HW_*` variables pointing at it.

mod import;
mod plan;
mod refusals;
mod support;
