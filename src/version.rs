//! What this binary is: the package version, the git commit it was built from and its target
//! triple, as `build.rs` recorded them. `imsform --version` prints [`LONG`].

/// The package version, `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The short git commit of the build, or `unknown` (a build from a source tarball).
pub const COMMIT: &str = env!("IMSFORM_BUILD_COMMIT");

/// The target triple the binary was built for, such as `x86_64-unknown-linux-musl`.
pub const TARGET: &str = env!("IMSFORM_BUILD_TARGET");

/// `0.1.0 (commit 82e068d, x86_64-unknown-linux-musl)`: what follows `imsform ` in
/// `imsform --version`.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("IMSFORM_BUILD_COMMIT"),
    ", ",
    env!("IMSFORM_BUILD_TARGET"),
    ")"
);
