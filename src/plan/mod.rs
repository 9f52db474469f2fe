//! The pure diff engine: (desired, state, remote view, options) -> a plan. No I/O.
