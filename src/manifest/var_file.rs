//! The values of the command line: `--var NAME=VALUE` and `--var-file FILE`, read in the order
//! given. A var file is TOML, one `NAME = "value"` per line ([`parse`]), read with the
//! manifests' size cap and UTF-8 check, with diagnostics at file:line:col.

use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::diagnostic::Diagnostic;
use super::source::{self, SourceFile};
use super::values::Origin;
use super::variables::{Given, NAME_RULE, VarArg, is_valid_name, parse_flag};

/// Every value `args` give, in order; problems are pushed to `diagnostics`. Relative var-file
/// paths are taken from `base_dir` and shown as written.
pub fn given(args: &[VarArg], base_dir: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<Given> {
    let mut given = Vec::new();
    for arg in args {
        match arg {
            VarArg::Var(text) => match parse_flag(text) {
                Ok(one) => given.push(one),
                Err(diagnostic) => diagnostics.push(diagnostic),
            },
            VarArg::File(path) => match source::read(path, &base_dir.join(path)) {
                Ok(file) => given.extend(parse(&file, diagnostics)),
                Err(diagnostic) => diagnostics.push(
                    diagnostic.hint("--var-file names a TOML file of `NAME = \"value\"` lines"),
                ),
            },
        }
    }
    given
}

/// The values of one var file: a TOML file of `NAME = "value"` lines, Terraform's `.tfvars`
/// shape. TOML rather than YAML so that a var file beside the manifests is never taken for one
/// (every `*.yaml` under the paths is a manifest). Numbers and booleans are taken as written
/// (`build = 2026.11` is the text `2026.11`); arrays, tables and dates are refused.
pub fn parse(file: &SourceFile, diagnostics: &mut Vec<Diagnostic>) -> Vec<Given> {
    let text = file.text.as_str();
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(error) => {
            let at = error.span().map_or(0, |span| span.start);
            diagnostics.push(
                Diagnostic::error(format!(
                    "`{}` is not a valid var file: {}",
                    file.path.display(),
                    error.message().trim()
                ))
                .at(file.label_at_byte(at, 1))
                .hint("a var file holds `NAME = \"value\"` lines (TOML)"),
            );
            return Vec::new();
        }
    };
    let mut given = Vec::new();
    for (key, value) in root.get_ref() {
        let span = key.span();
        let label = file.label_at_byte(span.start, text[span.clone()].chars().count());
        let name = key.get_ref().as_ref();
        if !is_valid_name(name) {
            diagnostics.push(
                Diagnostic::error(format!("`{name}` is not a valid variable name"))
                    .at(label)
                    .hint(NAME_RULE),
            );
            continue;
        }
        let span = value.span();
        let written = &text[span.clone()];
        let found = match value.get_ref() {
            DeValue::String(string) => Ok(string.to_string()),
            DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) => Ok(written.to_owned()),
            DeValue::Datetime(_) => Err("a date"),
            DeValue::Array(_) => Err("an array"),
            DeValue::Table(_) => Err("a table"),
        };
        match found {
            Ok(value) => given.push(Given {
                name: name.to_owned(),
                value,
                origin: Origin::File(label),
            }),
            Err(kind) => diagnostics.push(
                Diagnostic::error(format!(
                    "the value of `{name}` must be a string, not {kind}"
                ))
                .at(file.label_at_byte(span.start, 1))
                .hint(format!("write `{name} = \"…\"`")),
            ),
        }
    }
    given
}
