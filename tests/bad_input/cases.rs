//! The expectations of the bad-input corpus: for each file of tests/bad_input/<kind>, what the
//! error on stderr must say (besides naming the file). Included by tests/bad_input.rs.

/// (file, position, message) of manifests refused by `validate` and `plan`.
pub const MANIFESTS: [(&str, &str, &str); 40] = [
    (
        "bom.yaml",
        "images.yaml:7:5",
        "unknown field `bogus` in image `images.web`",
    ),
    (
        "comments-only.yaml",
        "images.yaml",
        "`images.yaml` is empty: a manifest has `images`, `defaults` or `moved`",
    ),
    (
        "complex-key.yaml",
        "images.yaml:2:5",
        "mapping keys must be strings",
    ),
    (
        "control-char.yaml",
        "images.yaml:3:11",
        "`name` of image `images.web` holds a character IMS refuses",
    ),
    (
        "crlf-error-line.yaml",
        "images.yaml:7:5",
        "unknown field `colour` in image `images.web`",
    ),
    (
        "defaults-not-a-mapping.yaml",
        "images.yaml:1:11",
        "`defaults` must be a mapping, not a list",
    ),
    (
        "defaults-unknown-field.yaml",
        "images.yaml:2:3",
        "unknown field `min_disks` in `defaults`",
    ),
    (
        "description-angle-brackets.yaml",
        "images.yaml:7:18",
        "`description` of image `images.web` holds a carriage return, `<` or `>",
    ),
    (
        "description-carriage-return.yaml",
        "images.yaml:7:18",
        "`description` of image `images.web` holds a carriage return, `<` or `>",
    ),
    (
        "description-too-long.yaml",
        "images.yaml:7:18",
        "`description` of image `images.web` is longer than 1024 characters",
    ),
    (
        "document-marker-only.yaml",
        "images.yaml:2:1",
        "a manifest must be a mapping at the top level",
    ),
    (
        "ignore-changes-unknown-field.yaml",
        "images.yaml:8:24",
        "`image` is not an image field",
    ),
    (
        "image-key-too-long.yaml",
        "images.yaml:2:3",
        "`aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa` is ",
    ),
    (
        "image-key-uppercase.yaml",
        "images.yaml:2:3",
        "`Web` is not a valid image key",
    ),
    (
        "image-null.yaml",
        "images.yaml:2:3",
        "image `images.web` has no `name`",
    ),
    (
        "image-url-bad-extension.yaml",
        "images.yaml:4:16",
        "`image_url` of image `images.web` does not end with an image format IM",
    ),
    (
        "image-url-bucket-uppercase.yaml",
        "images.yaml:4:16",
        "`Bucket` is not a valid OBS bucket name",
    ),
    (
        "image-url-empty.yaml",
        "images.yaml:4:16",
        "`image_url` of image `images.web` is not `bucket:object`",
    ),
    (
        "image-url-no-colon.yaml",
        "images.yaml:4:16",
        "`image_url` of image `images.web` is not `bucket:object`",
    ),
    (
        "images-empty-list.yaml",
        "images.yaml:1:9",
        "`images` must be a mapping, not a list",
    ),
    (
        "merge-key.yaml",
        "images.yaml:3:5",
        "unknown field `<<` in image `images.web`",
    ),
    (
        "min-disk-float.yaml",
        "images.yaml:6:15",
        "`min_disk` of image `images.web` must be an integer, not a number with",
    ),
    (
        "min-disk-overflow.yaml",
        "images.yaml:6:15",
        "`min_disk` of image `images.web` must be between 1 and 1024, not 99999",
    ),
    (
        "min-disk-zero.yaml",
        "images.yaml:6:15",
        "`min_disk` of image `images.web` must be between 1 and 1024, not 0",
    ),
    (
        "min-ram-overflow.yaml",
        "images.yaml:7:14",
        "`min_ram` of image `images.web` must be at most 4294967295, not 184467",
    ),
    (
        "moved-from-still-present.yaml",
        "images.yaml:13:13",
        "`moved` from `images.api`, which is still defined",
    ),
    (
        "moved-to-missing.yaml",
        "images.yaml:8:29",
        "`moved` to `images.new`, which is not defined",
    ),
    (
        "name-leading-space.yaml",
        "images.yaml:3:11",
        "`name` of image `images.web` starts or ends with a space",
    ),
    (
        "name-non-ascii.yaml",
        "images.yaml:3:11",
        "`name` of image `images.web` holds a character IMS refuses",
    ),
    (
        "name-too-long.yaml",
        "images.yaml:3:11",
        "`name` of image `images.web` is longer than 128 characters",
    ),
    (
        "null-byte.yaml",
        "images.yaml:3:13",
        "the file holds a NUL byte",
    ),
    (
        "null-image-key.yaml",
        "images.yaml:2:3",
        "`~` is not a valid image key",
    ),
    (
        "protected-string.yaml",
        "images.yaml:7:16",
        "`protected` of image `images.web` must be `true` or `false`, not a str",
    ),
    (
        "tag-key-emoji.yaml",
        "images.yaml:7:13",
        "tag key `😀` is not valid",
    ),
    (
        "tag-key-empty.yaml",
        "images.yaml:7:13",
        "tag key `` is not valid",
    ),
    (
        "tag-value-null.yaml",
        "images.yaml:7:18",
        "the value of tag `env` must be a string, not nothing (null)",
    ),
    (
        "tag-value-number.yaml",
        "images.yaml:7:18",
        "the value of tag `env` must be a string, not an integer",
    ),
    (
        "top-level-scalar.yaml",
        "images.yaml:1:1",
        "a manifest must be a mapping at the top level",
    ),
    (
        "unclosed-flow-mapping.yaml",
        "images.yaml:2:45",
        "invalid YAML: while parsing a flow mapping, did not find expected ',' ",
    ),
    (
        "unclosed-quote.yaml",
        "images.yaml:3:11",
        "invalid YAML: invalid indentation in quoted scalar",
    ),
];

/// (file, texts) of configurations refused by every command that reads them.
pub const CONFIGS: [(&str, &[&str]); 33] = [
    (
        "array-of-tables.toml",
        &["imsform.toml:1:3:", "`cloud`: must be a table (`[cloud]`)"],
    ),
    (
        "cloud-not-a-table.toml",
        &["imsform.toml:1:1:", "`cloud`: must be a table (`[cloud]`)"],
    ),
    (
        "duplicate-key.toml",
        &["imsform.toml:3:1:", "`(syntax)`: duplicate key"],
    ),
    (
        "duplicate-table.toml",
        &["imsform.toml:3:2:", "`(syntax)`: duplicate key"],
    ),
    (
        "endpoint-not-a-url.toml",
        &[
            "imsform.toml:3:12:",
            "`cloud.endpoint`: `not a url` is not a URL: relative URL wit",
        ],
    ),
    (
        "endpoint-plain-http.toml",
        &[
            "imsform.toml:3:12:",
            "`cloud.endpoint`: plain `http://` is refused except to a loo",
        ],
    ),
    (
        "endpoint-with-local.toml",
        &["`cloud.endpoint`: `local = true` runs the built-in cloud; an"],
    ),
    (
        "iam-endpoint-ftp.toml",
        &[
            "imsform.toml:3:16:",
            "`cloud.iam_endpoint`: must start with `https://`",
        ],
    ),
    (
        "insecure-wrong-type.toml",
        &[
            "imsform.toml:3:12:",
            "`cloud.insecure`: must be `true` or `false`, not integer",
        ],
    ),
    (
        "job-timeout-not-a-duration.toml",
        &[
            "imsform.toml:4:15:",
            "`apply.job_timeout`: `forever` is not a duration (expected n",
        ],
    ),
    (
        "job-timeout-number.toml",
        &[
            "imsform.toml:4:15:",
            "`apply.job_timeout`: must be a string, not integer",
        ],
    ),
    (
        "local-wrong-type.toml",
        &[
            "imsform.toml:2:9:",
            "`cloud.local`: must be `true` or `false`, not string",
        ],
    ),
    (
        "not-utf8.toml",
        &[
            "cannot read",
            "imsform.toml: stream did not contain valid UTF-8",
        ],
    ),
    (
        "parallelism-huge.toml",
        &[
            "imsform.toml:4:15:",
            "`apply.parallelism`: must be between 1 and 1000",
        ],
    ),
    (
        "parallelism-negative.toml",
        &[
            "imsform.toml:4:15:",
            "`apply.parallelism`: must be between 1 and 1000",
        ],
    ),
    (
        "parallelism-string.toml",
        &[
            "imsform.toml:4:15:",
            "`apply.parallelism`: must be an integer, not string",
        ],
    ),
    (
        "parallelism-zero.toml",
        &[
            "imsform.toml:4:15:",
            "`apply.parallelism`: must be between 1 and 1000",
        ],
    ),
    (
        "poll-interval-not-a-duration.toml",
        &[
            "imsform.toml:4:17:",
            "`apply.poll_interval`: `often` is neither `adaptive` nor a duration",
        ],
    ),
    (
        "region-wrong-type.toml",
        &[
            "imsform.toml:2:10:",
            "`cloud.region`: must be a string, not integer",
        ],
    ),
    (
        "request-timeout-not-a-duration.toml",
        &[
            "imsform.toml:3:19:",
            "`cloud.request_timeout`: `1 minute-ish` is not a duration",
        ],
    ),
    (
        "requests-per-second-float.toml",
        &[
            "imsform.toml:4:23:",
            "`apply.requests_per_second`: must be an integer, not float",
        ],
    ),
    (
        "requests-per-second-zero.toml",
        &[
            "imsform.toml:4:23:",
            "`apply.requests_per_second`: must be between 1 and 10000",
        ],
    ),
    (
        "several-problems.toml",
        &[
            "imsform.toml:2:1:",
            "`cloud.regoin`: unknown key; did you mean `region`?",
        ],
    ),
    (
        "state-conn-str-unclosed-quote.toml",
        &[
            "imsform.toml: `state`:",
            "state.conn_str: the value of `dbname` has no closing quote",
        ],
    ),
    (
        "state-path-empty.toml",
        &["imsform.toml:4:8:", "`state.path`: must not be empty"],
    ),
    (
        "state-path-number.toml",
        &[
            "imsform.toml:4:8:",
            "`state.path`: must be a string, not integer",
        ],
    ),
    (
        "state-statement-timeout-zero.toml",
        &[
            "imsform.toml:4:21:",
            "`state.statement_timeout`: must be longer than zero",
        ],
    ),
    (
        "syntax-bare-string.toml",
        &[
            "imsform.toml:2:10:",
            "`(syntax)`: string values must be quoted, expected literal s",
        ],
    ),
    (
        "syntax-missing-value.toml",
        &[
            "imsform.toml:2:9:",
            "`(syntax)`: string values must be quoted, expected literal s",
        ],
    ),
    (
        "syntax-unclosed-table.toml",
        &[
            "imsform.toml:1:7:",
            "`(syntax)`: unclosed table, expected `]`",
        ],
    ),
    (
        "unknown-key.toml",
        &[
            "imsform.toml:2:1:",
            "`cloud.regoin`: unknown key; did you mean `region`?",
        ],
    ),
    (
        "unknown-table.toml",
        &[
            "imsform.toml:1:2:",
            "`clouds`: unknown key; did you mean `cloud`?",
        ],
    ),
    (
        "unknown-top-level-key.toml",
        &[
            "imsform.toml:1:1:",
            "`region`: unknown key; known keys: cloud, state, apply",
        ],
    ),
];

/// (file, texts) of states refused by every command that reads them; all but a newer format
/// also say "is not a valid imsform state".
pub const STATES: [(&str, &[&str]); 43] = [
    (
        "address-uppercase.json",
        &[
            "`WEB` is not a valid image key: 1-63 of a-z, 0-9, `_`, `-`, starting with a letter or digi",
        ],
    ),
    (
        "address-without-prefix.json",
        &["`web` is not an image address: addresses look like `images.<key>`"],
    ),
    (
        "byte-order-mark.json",
        &[
            "it starts with a UTF-8 byte order mark; imsform writes UTF-8 without one (was the file re-",
        ],
    ),
    ("comment.json", &["key must be a string at line 2 column 3"]),
    (
        "disk-format-unknown.json",
        &[
            "unknown variant `vmdk9`, expected one of `zvhd2`, `zvhd`, `vhd`, `raw`, `qcow2`, `iso` at ",
        ],
    ),
    (
        "duplicate-key-in-record.json",
        &["duplicate key `name` at line 28 column 14"],
    ),
    (
        "duplicate-top-level-key.json",
        &["duplicate key `serial` at line 5 column 10"],
    ),
    (
        "format-0-broken.json",
        &["format 0: an entry of `images` has no `address`"],
    ),
    (
        "format-version-float.json",
        &["invalid type: floating point `1.5`, expected u64 at line 2 column 23"],
    ),
    (
        "format-version-huge.json",
        &[
            "was written by a newer imsform (format 18446744073709551615; this imsform reads up to format 1)",
        ],
    ),
    (
        "format-version-missing.json",
        &["missing field `format_version` at line 68 column 1"],
    ),
    (
        "format-version-negative.json",
        &["invalid value: integer `-1`, expected u64 at line 2 column 22"],
    ),
    (
        "format-version-string.json",
        &["invalid type: string \"1\", expected u64 at line 2 column 23"],
    ),
    ("garbage.json", &["expected ident at line 1 column 3"]),
    (
        "image-id-number.json",
        &["invalid type: integer `42`, expected a string at line 25 column 14"],
    ),
    (
        "images-is-a-list.json",
        &["invalid type: sequence, expected a map at line 6 column 12"],
    ),
    (
        "invalid-utf8-in-string.json",
        &["invalid unicode code point at line 27 column 22"],
    ),
    (
        "lineage-missing.json",
        &["missing field `lineage` at line 68 column 1"],
    ),
    (
        "lineage-not-uuid.json",
        &["lineage `my-state` is not a UUID"],
    ),
    (
        "min-disk-negative.json",
        &["invalid value: integer `-20`, expected u32 at line 31 column 23"],
    ),
    (
        "min-disk-string.json",
        &["invalid type: string \"20\", expected u32 at line 31 column 24"],
    ),
    (
        "nul-byte.json",
        &["control character (\\u0000-\\u001F) found while parsing a string at line 27 column 21"],
    ),
    (
        "observed-status-number.json",
        &["invalid type: integer `1`, expected a string at line 41 column 19"],
    ),
    (
        "pending-not-a-list.json",
        &["invalid type: map, expected a sequence at line 48 column 13"],
    ),
    (
        "pending-unknown-operation.json",
        &[
            "unknown variant `resize`, expected one of `create`, `delete`, `delete_replica`, `copy`, `members` at line 52 column 24",
        ],
    ),
    (
        "serial-float.json",
        &["invalid type: floating point `7.5`, expected u64 at line 4 column 15"],
    ),
    (
        "serial-negative.json",
        &["invalid value: integer `-7`, expected u64 at line 4 column 14"],
    ),
    (
        "serial-string.json",
        &["invalid type: string \"7\", expected u64 at line 4 column 15"],
    ),
    (
        "single-quotes.json",
        &["key must be a string at line 4 column 3"],
    ),
    (
        "tags-not-an-object.json",
        &["invalid type: sequence, expected a map at line 34 column 16"],
    ),
    (
        "tainted-wrong-type.json",
        &["invalid type: boolean `true`, expected struct Taint at line 19 column 21"],
    ),
    (
        "top-level-array.json",
        &["the top level is not a JSON object; an imsform state is one `{ … }`"],
    ),
    (
        "top-level-null.json",
        &["the top level is not a JSON object; an imsform state is one `{ … }`"],
    ),
    (
        "top-level-number.json",
        &["the top level is not a JSON object; an imsform state is one `{ … }`"],
    ),
    (
        "top-level-string.json",
        &["the top level is not a JSON object; an imsform state is one `{ … }`"],
    ),
    (
        "trailing-garbage.json",
        &["trailing characters at line 70 column 1"],
    ),
    (
        "truncated-at-10.json",
        &["the file ends early at line 2 column 8 (truncated?)"],
    ),
    (
        "truncated-last-brace.json",
        &["the file ends early at line 69 column 0 (truncated?)"],
    ),
    (
        "truncated-mid-record.json",
        &["the file ends early at line 33 column 5 (truncated?)"],
    ),
    (
        "two-objects.json",
        &["trailing characters at line 70 column 1"],
    ),
    (
        "unknown-field-in-record.json",
        &[
            "unknown field `region`, expected one of `id`, `attributes`, `observed`, `tainted`, `replicas` at line ",
        ],
    ),
    (
        "utf16.json",
        &[
            "it starts with a UTF-16 byte order mark; imsform writes UTF-8 without one (was the file re",
        ],
    ),
    (
        "whitespace-only.json",
        &["the file ends early at line 3 column 0 (truncated?)"],
    ),
];

/// (file, texts) of plan files refused by `show PLANFILE` (and `apply PLANFILE`).
pub const PLANS: [(&str, &[&str]); 16] = [
    (
        "empty.json",
        &["is not a readable imsform plan (EOF while parsing a value at line 1 co"],
    ),
    (
        "garbage.json",
        &["is not a readable imsform plan (expected value at line 1 column 1); it"],
    ),
    (
        "imsform-plan-json-output.json",
        &["is not a readable imsform plan (no \"kind\": \"imsform-plan\"); it may be "],
    ),
    (
        "json-array.json",
        &["is not a readable imsform plan (no \"kind\": \"imsform-plan\"); it may be "],
    ),
    (
        "json-null.json",
        &["is not a readable imsform plan (no \"kind\": \"imsform-plan\"); it may be "],
    ),
    (
        "json-string.json",
        &["is not a readable imsform plan (no \"kind\": \"imsform-plan\"); it may be "],
    ),
    (
        "kind-and-version-only.json",
        &["is not a readable imsform plan (missing field `plan_sha256`); it may be"],
    ),
    (
        "kind-only.json",
        &["is not a readable imsform plan (no planfile_version); it may be trunca"],
    ),
    (
        "manifest.json",
        &["is not a readable imsform plan (expected value at line 1 column 1); it"],
    ),
    (
        "not-json.json",
        &["is not a readable imsform plan (expected value at line 1 column 1); it"],
    ),
    (
        "state-file.json",
        &["is not a readable imsform plan (no \"kind\": \"imsform-plan\"); it may be "],
    ),
    (
        "terraform-plan.json",
        &["is not a readable imsform plan (no \"kind\": \"imsform-plan\"); it may be "],
    ),
    (
        "utf16.json",
        &["is not a readable imsform plan (expected value at line 1 column 1); it"],
    ),
    (
        "version-negative.json",
        &["is not a readable imsform plan (no planfile_version); it may be trunca"],
    ),
    (
        "version-zero.json",
        &["is a plan file of format 0, but this imsform reads format 2: make the "],
    ),
    (
        "whitespace.json",
        &["is not a readable imsform plan (EOF while parsing a value at line 3 co"],
    ),
];

/// `tests/bad_input/var_files/*`: (file, position, message).
pub const VAR_FILES: [(&str, &str, &str); 8] = [
    (
        "array.toml",
        "vars.toml:2:9",
        "the value of `build` must be a string, not an array",
    ),
    (
        "bad-name.toml",
        "vars.toml:1:1",
        "`web-build` is not a valid variable name",
    ),
    (
        "date.toml",
        "vars.toml:1:9",
        "the value of `build` must be a string, not a date",
    ),
    (
        "duplicate-key.toml",
        "vars.toml:2:1",
        "is not a valid var file: duplicate key",
    ),
    (
        "not-utf8.toml",
        "vars.toml:1:10",
        "`vars.toml` is not valid UTF-8",
    ),
    ("syntax.toml", "vars.toml:1:9", "is not a valid var file"),
    (
        "table.toml",
        "vars.toml:1:1",
        "the value of `build` must be a string, not a table",
    ),
    ("undeclared.toml", "vars.toml:2:1", "variable `biuld`"),
];
