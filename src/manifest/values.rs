//! The resolved values of build variables, as plain data: each declared variable's value (if
//! any), where the value came from ([`Origin`]) and where the variable was declared. Both the
//! resolution (`variables.rs`) and the walker (`walk.rs`, whose `${var.NAME}` substitution reads
//! them) use these types, so this file imports neither.

use std::collections::BTreeMap;
use std::fmt;

use super::diagnostic::Label;

/// Where a variable's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    Env,
    Flag,
    /// A `--var-file`, at this place.
    File(Label),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("its default"),
            Origin::Env => f.write_str("the environment (IMSFORM_VAR_*)"),
            Origin::Flag => f.write_str("--var"),
            Origin::File(label) => write!(f, "--var-file {}", label.file.display()),
        }
    }
}

/// A declared variable after resolution: its value (none when unset) and where it came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub value: Option<(String, Origin)>,
    pub declared: Label,
    /// The declaration itself is wrong (`Declared::broken` in `variables.rs`).
    pub broken: bool,
}

/// Every declared variable by name.
pub type Values = BTreeMap<String, Resolved>;
