//! Build variables: the `variables:` declarations, the values given on the command line
//! (`--var NAME=VALUE`, `--var-file FILE`) and in the environment (`IMSFORM_VAR_NAME`), and the
//! one resolution of them ([`resolve`], pure). The resolved values' types are `values.rs`
//! (the walker reads them too); substituting `${var.NAME}` into strings is `interpolate.rs`;
//! reading var files is `var_file.rs`.
//!
//! Precedence, lowest first (Terraform's): a declaration's `default`, then the environment,
//! then `--var` and `--var-file` in the order given on the command line, the later winning.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use marked_yaml::types::MarkedScalarNode;

use super::diagnostic::{Diagnostic, Label, quoted};
use super::values::{Origin, Resolved, Values};
use super::walk::{MappingRef, Walker, closest};

/// The keys of a variable's declaration.
pub const VARIABLE_KEYS: [&str; 2] = ["default", "description"];

/// The environment variables that set values: `IMSFORM_VAR_<NAME>`.
pub const ENV_PREFIX: &str = "IMSFORM_VAR_";

/// The longest variable name.
pub const NAME_MAX: usize = 64;

/// `[A-Za-z_][A-Za-z0-9_]{0,63}`: usable as the tail of an environment variable's name.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= NAME_MAX
}

/// The rule for names, for hints.
pub const NAME_RULE: &str = "1-64 of A-Z, a-z, 0-9, `_`, not starting with a digit";

/// One value source on the command line, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarArg {
    /// `--var NAME=VALUE`, as written.
    Var(String),
    /// `--var-file FILE`.
    File(PathBuf),
}

/// Everything that may give variables values, besides the declarations' defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VarInput {
    pub args: Vec<VarArg>,
    /// `IMSFORM_VAR_<NAME>` values by NAME (empty values count as unset).
    pub env: BTreeMap<String, String>,
}

impl VarInput {
    /// The `IMSFORM_VAR_*` variables of `vars` (e.g. `std::env::vars()`), prefix removed.
    pub fn env_from(vars: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, String> {
        vars.into_iter()
            .filter(|(_, value)| !value.is_empty())
            .filter_map(|(key, value)| Some((key.strip_prefix(ENV_PREFIX)?.to_owned(), value)))
            .collect()
    }
}

/// A declared variable.
#[derive(Debug, Clone)]
pub struct Declared {
    pub name: String,
    pub default: Option<String>,
    /// Where its name was written.
    pub label: Label,
    /// The declaration itself is wrong (and reported): references to it report nothing more.
    pub broken: bool,
}

/// A value given by a flag or a var file, before resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    pub name: String,
    pub value: String,
    pub origin: Origin,
}

/// `NAME=VALUE` of `--var`.
pub fn parse_flag(text: &str) -> Result<Given, Diagnostic> {
    let usage = || {
        Diagnostic::error(format!("--var `{text}`: expected NAME=VALUE"))
            .hint("e.g. `--var image_build=2026.11.3`; quote the whole argument for the shell")
    };
    let (name, value) = text.split_once('=').ok_or_else(usage)?;
    if !is_valid_name(name) {
        return Err(
            Diagnostic::error(format!("--var `{text}`: `{name}` is not a variable name"))
                .hint(NAME_RULE),
        );
    }
    Ok(Given {
        name: name.to_owned(),
        value: value.to_owned(),
        origin: Origin::Flag,
    })
}

/// Resolves the declared variables: defaults, then `env`, then `given` in order. Given values
/// for undeclared variables come back apart, for the caller to report; the environment may
/// hold values for other manifests, so its unknown names are ignored.
pub fn resolve<'g>(
    declared: &[Declared],
    given: &'g [Given],
    env: &BTreeMap<String, String>,
) -> (Values, Vec<&'g Given>) {
    let mut values: Values = declared
        .iter()
        .map(|d| {
            let value = d.default.clone().map(|v| (v, Origin::Default));
            let resolved = Resolved {
                value,
                declared: d.label.clone(),
                broken: d.broken,
            };
            (d.name.clone(), resolved)
        })
        .collect();
    for (name, value) in env {
        if let Some(resolved) = values.get_mut(name) {
            resolved.value = Some((value.clone(), Origin::Env));
        }
    }
    let mut unknown = Vec::new();
    for one in given {
        match values.get_mut(&one.name) {
            Some(resolved) => resolved.value = Some((one.value.clone(), one.origin.clone())),
            None => unknown.push(one),
        }
    }
    (values, unknown)
}

/// A value given for a variable no manifest declares: an error, since a typo would otherwise
/// go unnoticed.
pub fn undeclared(given: &Given, declared: &[Declared]) -> Diagnostic {
    let names = declared.iter().map(|d| d.name.as_str());
    let hint = match closest(&given.name, names) {
        Some(near) => format!("did you mean `{near}`?"),
        None => "declare it in a top-level `variables:` block of the manifests".to_owned(),
    };
    at_origin(given, format!("no variable `{}` is declared", given.name)).hint(hint)
}

/// An error about a given value, at its var file's line or naming its `--var`.
fn at_origin(given: &Given, message: String) -> Diagnostic {
    match &given.origin {
        Origin::File(label) => Diagnostic::error(message).at(label.clone()),
        _ => Diagnostic::error(format!("--var {}: {message}", given.name)),
    }
}

/// The values given to `apply PLANFILE` against those the plan recorded: a saved plan applies
/// the values it was made with, so every value given (by `--var`, a var file or the
/// environment) must equal the recorded one, and name a variable the plan has.
pub fn compare_with_recorded(
    recorded: &BTreeMap<String, String>,
    plan: &Label,
    given: &[Given],
    env: &BTreeMap<String, String>,
) -> Vec<Diagnostic> {
    let declared: Vec<Declared> = recorded
        .iter()
        .map(|(name, value)| Declared {
            name: name.clone(),
            default: Some(value.clone()),
            label: plan.clone(),
            broken: false,
        })
        .collect();
    let (values, unknown) = resolve(&declared, given, env);
    let mut diagnostics: Vec<Diagnostic> = unknown
        .into_iter()
        .map(|one| {
            at_origin(
                one,
                format!("the saved plan has no variable `{}`", one.name),
            )
            .hint("a saved plan is applied with the values it was made with: leave it out")
        })
        .collect();
    for (name, resolved) in values {
        let Some((value, origin)) = resolved.value else {
            continue;
        };
        let planned = recorded.get(&name).map_or("", String::as_str);
        if origin == Origin::Default || value == planned {
            continue;
        }
        let message = format!(
            "variable `{name}` is {} from {origin}, but the saved plan was made with {}",
            quoted(&value),
            quoted(planned)
        );
        let diagnostic = match &origin {
            Origin::File(label) => Diagnostic::error(message).at(label.clone()),
            _ => Diagnostic::error(message),
        };
        diagnostics.push(diagnostic.hint(
            "a saved plan applies exactly the values it was made with: leave the variable out, \
             or make a new plan with the new value",
        ));
    }
    diagnostics
}

/// Reads a file's `variables:` block: each key a variable name, each value a mapping of
/// `default` and `description` (or nothing).
pub fn read_declarations(walker: &mut Walker<'_>, mapping: MappingRef<'_>) -> Vec<Declared> {
    let mut declared = Vec::new();
    for (key, value) in mapping.iter() {
        let Some((name, label)) = checked_name(walker, key) else {
            continue;
        };
        let what = format!("variable `{name}`");
        let mut one = Declared {
            name: name.to_owned(),
            default: None,
            label,
            broken: true,
        };
        if let Some(fields) = walker.mapping(value, &what) {
            walker.unknown_keys(fields, &VARIABLE_KEYS, &what);
            let default = fields.get("default");
            one.default = default
                .and_then(|node| walker.scalar_text(node, &format!("the default of {what}")))
                .map(|text| text.value);
            one.broken = default.is_some() && one.default.is_none();
            if let Some(node) = fields.get("description") {
                walker.string(node, &format!("the description of {what}"));
            }
        }
        declared.push(one);
    }
    declared
}

/// A mapping key that names a variable, with its place; a bad name is reported.
fn checked_name<'k>(
    walker: &mut Walker<'_>,
    key: &'k MarkedScalarNode,
) -> Option<(&'k str, Label)> {
    let label = walker.key_label(key);
    let name = key.as_str();
    if is_valid_name(name) {
        return Some((name, label));
    }
    walker.push(
        Diagnostic::error(format!("`{name}` is not a valid variable name"))
            .at(label)
            .hint(NAME_RULE),
    );
    None
}

/// Reports a variable declared twice (across all files); keeps the first declaration.
pub fn unique(declared: Vec<Declared>, diagnostics: &mut Vec<Diagnostic>) -> Vec<Declared> {
    let mut seen: BTreeMap<String, Label> = BTreeMap::new();
    let mut kept = Vec::new();
    for one in declared {
        if let Some(first) = seen.get(&one.name) {
            diagnostics.push(
                Diagnostic::error(format!("variable `{}` is declared twice", one.name))
                    .at(one.label.with_note("declared again here"))
                    .also(first.clone().with_note("first declared here"))
                    .hint("variable names are unique across all manifest files"),
            );
            continue;
        }
        seen.insert(one.name.clone(), one.label.clone());
        kept.push(one);
    }
    kept
}

/// A declared variable without a value that no string refers to is still an error (as in
/// Terraform): the manifests ask for it, and whoever runs them forgot it.
pub fn unset_unused(values: &Values, used: &BTreeSet<String>) -> Vec<Diagnostic> {
    values
        .iter()
        .filter(|(name, resolved)| {
            resolved.value.is_none() && !resolved.broken && !used.contains(*name)
        })
        .map(|(name, resolved)| {
            Diagnostic::error(format!("variable `{name}` has no value"))
                .at(resolved
                    .declared
                    .clone()
                    .with_note("declared here without a default"))
                .hint(how_to_set(name))
        })
        .collect()
}

/// The values of the variables that have one, by name (what a saved plan records).
pub fn chosen(values: &Values) -> BTreeMap<String, String> {
    values
        .iter()
        .filter_map(|(name, resolved)| Some((name.clone(), resolved.value.as_ref()?.0.clone())))
        .collect()
}

/// How to give `name` a value, for hints.
pub fn how_to_set(name: &str) -> String {
    format!(
        "set it with `--var {name}=VALUE`, in a `--var-file`, or as {ENV_PREFIX}{name}; or give \
         it a `default`"
    )
}

#[cfg(test)]
#[path = "variables_tests.rs"]
mod tests;
