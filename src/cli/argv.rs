//! Terraform's single-dash spellings (`-target=…`, `-auto-approve`, `-out FILE`), rewritten to
//! clap's double-dash form before parsing, so that habits and scripts carried over from
//! Terraform work. Pure: argv in, argv out.
//!
//! Only the long flags both tools share are rewritten, and only as whole words (`-destroy`,
//! `-replace=images.web`); short flags (`-v`, `-C DIR`) and everything after `--` are left alone.

use std::ffi::OsString;

/// The long flags imsform shares with Terraform, as Terraform spells them without a dash.
pub const TERRAFORM_FLAGS: &[&str] = &[
    "target",
    "exclude",
    "replace",
    "destroy",
    "refresh",
    "refresh-only",
    "auto-approve",
    "out",
    "lock-timeout",
    "parallelism",
    "detailed-exitcode",
    "no-color",
    "json",
    "var",
    "var-file",
    "generate-config-out",
];

/// Rewrites each single-dash Terraform flag (`-name` or `-name=value`) into `--name…`.
pub fn normalize(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut after_separator = false;
    args.into_iter()
        .map(|arg| {
            if after_separator {
                return arg;
            }
            match arg.to_str() {
                Some("--") => {
                    after_separator = true;
                    arg
                }
                Some(text) if is_terraform_flag(text) => format!("-{text}").into(),
                _ => arg,
            }
        })
        .collect()
}

fn is_terraform_flag(arg: &str) -> bool {
    let Some(rest) = arg.strip_prefix('-') else {
        return false;
    };
    if rest.starts_with('-') {
        return false;
    }
    let name = rest.split_once('=').map_or(rest, |(name, _)| name);
    TERRAFORM_FLAGS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(args: &[&str]) -> Vec<String> {
        normalize(args.iter().map(OsString::from))
            .into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect()
    }

    #[test]
    fn every_shared_flag_gains_a_dash() {
        for name in TERRAFORM_FLAGS {
            assert_eq!(rewrite(&[&format!("-{name}")]), [format!("--{name}")]);
            assert_eq!(
                rewrite(&[&format!("-{name}=x")]),
                [format!("--{name}=x")],
                "{name}"
            );
        }
    }

    #[test]
    fn values_keep_their_own_spelling() {
        assert_eq!(
            rewrite(&["plan", "-target=images.web-*", "-out", "plan.json"]),
            ["plan", "--target=images.web-*", "--out", "plan.json"]
        );
        assert_eq!(
            rewrite(&["apply", "-refresh=false", "-replace=images.db"]),
            ["apply", "--refresh=false", "--replace=images.db"]
        );
    }

    #[test]
    fn short_flags_unknown_words_and_double_dashes_are_left_alone() {
        let untouched = [
            "-v",
            "-vv",
            "-C",
            "--target",
            "--out=p.json",
            "-outfile",
            "-targets",
            "-",
            "images.web",
        ];
        assert_eq!(rewrite(&untouched), untouched);
    }

    #[test]
    fn clap_reads_the_rewritten_flags() {
        use clap::Parser;

        use crate::cli::args::{Cli, Command};
        let args = normalize(
            [
                "imsform",
                "apply",
                "-auto-approve",
                "-destroy",
                "-target=images.web",
                "-out=x",
            ]
            .map(OsString::from),
        );
        let error = Cli::try_parse_from(&args).unwrap_err().to_string();
        assert!(error.contains("'--out"), "apply has no --out: {error}");
        let Command::Apply(apply) = Cli::try_parse_from(&args[..5]).unwrap().command else {
            panic!("not apply")
        };
        assert!(apply.auto_approve && apply.run.destroy);
        assert_eq!(apply.run.scope.targets, ["images.web"]);
    }

    #[test]
    fn nothing_after_the_separator_is_rewritten() {
        assert_eq!(
            rewrite(&["validate", "-json", "--", "-destroy"]),
            ["validate", "--json", "--", "-destroy"]
        );
    }
}
