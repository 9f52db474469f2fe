use super::*;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

fn file(conn_str: Option<&str>) -> FileSettings {
    FileSettings {
        conn_str: conn_str.map(str::to_owned),
        ..FileSettings::default()
    }
}

#[test]
fn libpq_variables_are_the_base_and_the_url_overrides_them() {
    let vars = env(&[
        ("PGHOST", "db.env"),
        ("PGPORT", "6543"),
        ("PGUSER", "envuser"),
        ("PGPASSWORD", "s3cret"),
        ("PGDATABASE", "envdb"),
        ("PGSSLMODE", "verify-ca"),
        ("PGSSLROOTCERT", "/ca.pem"),
    ]);
    let from_env = Settings::resolve(&file(None), &vars).unwrap();
    assert_eq!(
        (
            from_env.host.as_str(),
            from_env.port,
            from_env.user.as_str()
        ),
        ("db.env", 6543, "envuser")
    );
    assert_eq!(from_env.dbname, "envdb");
    assert_eq!(from_env.sslmode, SslMode::VerifyCa);
    assert_eq!(from_env.sslrootcert, Some(PathBuf::from("/ca.pem")));
    assert_eq!(from_env.password, Some(Password("s3cret".to_owned())));
    let url = "postgres://imsform@db.internal:5432/infra?sslmode=verify-full";
    let mixed = Settings::resolve(&file(Some(url)), &vars).unwrap();
    assert_eq!((mixed.host.as_str(), mixed.port), ("db.internal", 5432));
    assert_eq!(
        (mixed.user.as_str(), mixed.dbname.as_str()),
        ("imsform", "infra")
    );
    assert_eq!(mixed.sslmode, SslMode::VerifyFull);
    assert_eq!(
        mixed.password,
        Some(Password("s3cret".to_owned())),
        "PGPASSWORD still applies"
    );
    assert_eq!(
        (mixed.schema.as_str(), mixed.workspace.as_str()),
        ("imsform", "default")
    );
}

#[test]
fn a_password_in_the_file_is_refused_but_accepted_from_pg_conn_str() {
    let url = "postgres://u:hunter2@db/x";
    let error = Settings::resolve(&file(Some(url)), &env(&[])).unwrap_err();
    assert!(
        error.contains("a password does not belong in imsform.toml"),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");
    let vars = env(&[(
        "PG_CONN_STR",
        "postgresql://u:p%40ss@db:1/x?sslmode=require",
    )]);
    let settings = Settings::resolve(&file(Some(url)), &vars).unwrap();
    assert_eq!(settings.password, Some(Password("p@ss".to_owned())));
    assert_eq!(settings.sslmode, SslMode::Require);
    let shown = format!("{settings:?} {settings}");
    assert!(
        !shown.contains("p@ss") && shown.contains("<redacted>"),
        "{shown}"
    );
}

#[test]
fn workspace_comes_from_the_environment_first_and_names_are_checked() {
    let settings = FileSettings {
        workspace: Some("staging".to_owned()),
        schema: Some("infra_state".to_owned()),
        ..FileSettings::default()
    };
    let chosen = Settings::resolve(&settings, &env(&[("IMSFORM_WORKSPACE", "prod")])).unwrap();
    assert_eq!(
        (chosen.workspace.as_str(), chosen.schema.as_str()),
        ("prod", "infra_state")
    );
    let bad_schema = FileSettings {
        schema: Some("Bad-Schema".to_owned()),
        ..FileSettings::default()
    };
    let error = Settings::resolve(&bad_schema, &env(&[])).unwrap_err();
    assert!(error.contains("state.schema: `Bad-Schema`"), "{error}");
    let error = Settings::resolve(&file(None), &env(&[("IMSFORM_WORKSPACE", "a b")])).unwrap_err();
    assert!(error.contains("`a b`"), "{error}");
}

#[test]
fn bad_urls_modes_and_parameters_are_named() {
    for (url, expected) in [
        ("mysql://db/x", "must start with postgres://"),
        (
            "postgres://db/x?sslmode=allow",
            "sslmode `allow` is not supported",
        ),
        (
            "postgres://db/x?options=-c",
            "parameter `options` is not supported",
        ),
        ("postgres://db:0/x", "`0` is not a port"),
        ("host=db port=x", "`x` is not a port"),
        (
            "host=db connect_timeout=3",
            "parameter `connect_timeout` is not supported",
        ),
    ] {
        let error = Settings::resolve(&file(Some(url)), &env(&[])).unwrap_err();
        assert!(error.starts_with("state.conn_str: "), "{error}");
        assert!(error.contains(expected), "{url}: {error}");
    }
    let error = Settings::resolve(&file(None), &env(&[("PGPORT", "x")])).unwrap_err();
    assert_eq!(error, "PGPORT: `x` is not a port");
}

#[test]
fn the_password_file_is_matched_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pgpass");
    std::fs::write(
        &path,
        "# comment\nother:5432:*:u:wrong\ndb:*:x:u:pa\\:ss\n*:*:*:*:fallback\n",
    )
    .unwrap();
    let path = path.to_string_lossy().into_owned();
    let vars = env(&[("PGPASSFILE", &path)]);
    let settings = Settings::resolve(&file(Some("postgres://u@db/x")), &env(&[])).unwrap();
    assert_eq!(
        password_from_file(&settings, &vars),
        Some(Password("pa:ss".to_owned()))
    );
    let other = Settings::resolve(&file(Some("postgres://v@elsewhere/y")), &env(&[])).unwrap();
    assert_eq!(
        password_from_file(&other, &vars),
        Some(Password("fallback".to_owned()))
    );
}

#[test]
fn the_keyword_form_is_read_like_the_url_and_a_password_in_it_is_refused_from_the_file() {
    let text = "host=db.internal port=6543 user=imsform dbname=infra sslmode=verify-full \
                sslrootcert='/etc/ssl/private ca.pem'";
    let settings = Settings::resolve(&file(Some(text)), &env(&[])).unwrap();
    assert_eq!(
        (
            settings.host.as_str(),
            settings.port,
            settings.user.as_str()
        ),
        ("db.internal", 6543, "imsform")
    );
    assert_eq!(settings.dbname, "infra");
    assert_eq!(settings.sslmode, SslMode::VerifyFull);
    assert_eq!(
        settings.sslrootcert,
        Some(PathBuf::from("/etc/ssl/private ca.pem"))
    );
    let with_password = "host=db password='hunter 2'";
    let error = Settings::resolve(&file(Some(with_password)), &env(&[])).unwrap_err();
    assert!(
        error.contains("a password does not belong in imsform.toml"),
        "{error}"
    );
    assert!(!error.contains("hunter"), "{error}");
    let vars = env(&[("PG_CONN_STR", with_password)]);
    let settings = Settings::resolve(&file(None), &vars).unwrap();
    assert_eq!(settings.password, Some(Password("hunter 2".to_owned())));
    assert!(!format!("{settings} {settings:?}").contains("hunter"));
}

#[test]
fn the_session_bounds_have_defaults_and_take_the_file_values() {
    let settings = Settings::resolve(&file(None), &env(&[])).unwrap();
    assert_eq!(
        (settings.heartbeat, settings.statement_timeout),
        (DEFAULT_HEARTBEAT, DEFAULT_STATEMENT_TIMEOUT)
    );
    let bounded = FileSettings {
        heartbeat: Some(std::time::Duration::from_secs(1)),
        statement_timeout: Some(std::time::Duration::from_secs(3)),
        ..FileSettings::default()
    };
    let settings = Settings::resolve(&bounded, &env(&[])).unwrap();
    assert_eq!(settings.heartbeat.as_secs(), 1);
    assert_eq!(settings.statement_timeout.as_secs(), 3);
}
