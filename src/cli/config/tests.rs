//! Unit tests of `imsform.toml` loading: defaults, environment overrides, and every refusal with
//! its file:line:col and key.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::cloud::retry::RetryPolicy;

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("imsform.toml"), Path::new("/work"), &no_env)
}

fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn full_file_is_read() {
    let config = parse(
        r#"
[cloud]
region = "ap-southeast-1"
project_id = "0123abcd"
endpoint = "https://ims.example.com"
iam_endpoint = "http://127.0.0.1:9000"
insecure = true

[state]
path = "state/prod.json"

[apply]
parallelism = 4
requests_per_second = 5
job_timeout = "1h30m"
poll_interval = "250ms"
"#,
    )
    .unwrap();
    assert_eq!(config.dir, Path::new("/work"));
    assert_eq!(config.cloud.region, "ap-southeast-1");
    assert_eq!(config.cloud.project_id.as_deref(), Some("0123abcd"));
    assert_eq!(
        config.cloud.endpoint.as_deref(),
        Some("https://ims.example.com")
    );
    assert_eq!(
        config.cloud.iam_endpoint.as_deref(),
        Some("http://127.0.0.1:9000")
    );
    assert!(config.cloud.insecure && !config.cloud.local);
    assert_eq!(config.state.path, Path::new("/work/state/prod.json"));
    assert_eq!(config.apply.parallelism, 4);
    assert_eq!(config.apply.requests_per_second, 5);
    assert_eq!(config.apply.job_timeout, Duration::from_secs(5400));
    assert_eq!(config.apply.poll_interval, Some(Duration::from_millis(250)));
}

#[test]
fn defaults_need_nothing() {
    let config = parse("[cloud]\nlocal = true\n").unwrap();
    assert_eq!(config.cloud.region, LOCAL_REGION);
    assert_eq!(config.state.path, Path::new("/work/imsform.state.json"));
    assert_eq!(config.apply.parallelism, DEFAULT_PARALLELISM);
    assert_eq!(
        config.apply.requests_per_second,
        DEFAULT_REQUESTS_PER_SECOND
    );
    assert_eq!(config.apply.job_timeout, DEFAULT_JOB_TIMEOUT);
    assert_eq!(config.apply.poll_interval, None);
    // No region is fine until the cloud is contacted: validate and state commands need none.
    assert_eq!(parse("").unwrap().cloud.region, "");
}

#[test]
fn environment_overrides_and_fills() {
    let env = |name: &str| match name {
        "HW_REGION_NAME" => Some("eu-west-101".to_owned()),
        "HW_PROJECT_ID" => Some("p1".to_owned()),
        _ => None,
    };
    let text = "[cloud]\nregion = \"cn-north-4\"\nproject_id = \"p0\"\n";
    let config = Config::from_toml(text, Path::new("f"), Path::new("/d"), &env).unwrap();
    assert_eq!(config.cloud.region, "eu-west-101");
    assert_eq!(config.cloud.project_id.as_deref(), Some("p1"));
    let config = Config::from_toml("", Path::new("f"), Path::new("/d"), &env).unwrap();
    assert_eq!(config.cloud.region, "eu-west-101");
    let empty = |_: &str| Some(String::new());
    let config = Config::from_toml(text, Path::new("f"), Path::new("/d"), &empty).unwrap();
    assert_eq!(
        config.cloud.region, "cn-north-4",
        "empty variables are unset"
    );
    let bad = |name: &str| (name == "HW_REGION_NAME").then(|| "Not A Region".to_owned());
    let message = Config::from_toml(text, Path::new("f"), Path::new("/d"), &bad)
        .unwrap_err()
        .to_string();
    assert!(message.contains("(from HW_REGION_NAME)"), "{message}");
}

#[test]
fn unknown_keys_are_named_with_a_hint() {
    assert_eq!(
        error("[cloud]\nlocal = true\nregoin = \"x\"\n"),
        "imsform.toml:3:1: `cloud.regoin`: unknown key; did you mean `region`?"
    );
    assert_eq!(
        error("[cloud]\nlocal = true\n[aply]\nparallelism = 2\n"),
        "imsform.toml:3:2: `aply`: unknown key; did you mean `apply`?"
    );
    assert_eq!(
        error("[cloud]\nlocal = true\n[apply]\nzzz = 1\n"),
        "imsform.toml:4:1: `apply.zzz`: unknown key; known keys: parallelism, \
         requests_per_second, job_timeout, poll_interval"
    );
}

#[test]
fn wrong_types_and_impossible_values_are_refused_all_at_once() {
    let text = r#"[cloud]
local = "yes"
region = 4
[apply]
parallelism = 0
requests_per_second = 0
job_timeout = "soon"
[state]
path = ""
"#;
    let message = error(text);
    let expected = [
        "imsform.toml:2:9: `cloud.local`: must be `true` or `false`, not string",
        "imsform.toml:3:10: `cloud.region`: must be a string, not integer",
        "imsform.toml:5:15: `apply.parallelism`: must be between 1 and 1000",
        "imsform.toml:6:23: `apply.requests_per_second`: must be between 1 and 10000",
        "imsform.toml:7:15: `apply.job_timeout`: `soon` is not a duration",
        "imsform.toml:9:8: `state.path`: must not be empty",
    ];
    for line in expected {
        assert!(message.contains(line), "missing {line:?} in:\n{message}");
    }
    assert!(error("[cloud]\nlocal=true\n[apply]\njob_timeout = 30\n").contains("not integer"));
    assert!(error("[cloud]\nlocal=true\n[apply]\njob_timeout = \"0s\"\n").contains("zero"));
    assert!(error("cloud = 1\n").contains("`cloud`: must be a table"));
}

#[test]
fn endpoints_must_be_https_unless_loopback() {
    let with = |url: &str| {
        parse(&format!(
            "[cloud]\nregion = \"r-1\"\nendpoint = \"{url}\"\n"
        ))
    };
    assert!(with("https://ims.example.com").is_ok());
    assert!(with("http://127.0.0.1:8787").is_ok());
    assert!(with("http://localhost:8787").is_ok());
    assert!(with("http://[::1]:8787").is_ok());
    let message = with("http://ims.example.com").unwrap_err().to_string();
    assert_eq!(
        message,
        "imsform.toml:3:12: `cloud.endpoint`: plain `http://` is refused except to a loopback \
         host; use `https://`"
    );
    assert!(
        with("ftp://x")
            .unwrap_err()
            .to_string()
            .contains("https://")
    );
    assert!(
        with("not a url")
            .unwrap_err()
            .to_string()
            .contains("is not a URL")
    );
    let conflict = parse("[cloud]\nlocal = true\nendpoint = \"https://x.example\"\n");
    assert!(conflict.unwrap_err().to_string().contains("local = true"));
}

#[test]
fn syntax_errors_point_at_the_place() {
    let message = error("[cloud]\nregion = \n");
    assert!(message.starts_with("imsform.toml:2:"), "{message}");
    let message = error("[cloud]\nregion = \"a\"\nregion = \"b\"\n");
    assert!(
        message.starts_with("imsform.toml:3:1: `(syntax)`"),
        "{message}"
    );
}

#[test]
fn load_reads_the_directory_and_tolerates_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let env = |name: &str| (name == "HW_REGION_NAME").then(|| "cn-east-3".to_owned());
    let config = Config::load(dir.path(), &env).unwrap();
    assert_eq!(config.cloud.region, "cn-east-3");
    assert_eq!(config.state.path, dir.path().join("imsform.state.json"));
    std::fs::write(dir.path().join(FILE_NAME), "[apply]\nparallelism = -1\n").unwrap();
    let message = Config::load(dir.path(), &env).unwrap_err().to_string();
    let file = dir.path().join(FILE_NAME);
    assert_eq!(
        message,
        format!(
            "{}:2:15: `apply.parallelism`: must be between 1 and 1000",
            file.display()
        )
    );
}

#[test]
fn every_example_configuration_loads() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(examples).unwrap() {
        let dir = entry.unwrap().path();
        if dir.join(FILE_NAME).exists() {
            let config = Config::load(&dir, &no_env);
            assert!(config.is_ok(), "{}: {}", dir.display(), config.unwrap_err());
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
}

#[test]
fn poll_interval_is_adaptive_or_a_duration() {
    let poll = |value: &str| {
        parse(&format!(
            "[cloud]\nlocal = true\n[apply]\npoll_interval = {value}\n"
        ))
    };
    assert_eq!(poll("\"adaptive\"").unwrap().apply.poll_interval, None);
    assert_eq!(
        poll("\"2s\"").unwrap().apply.poll_interval,
        Some(Duration::from_secs(2))
    );
    let message = |value: &str| poll(value).unwrap_err().to_string();
    assert_eq!(
        message("\"often\""),
        "imsform.toml:4:17: `apply.poll_interval`: `often` is neither `adaptive` nor a \
         duration; write e.g. \"adaptive\" or \"2s\""
    );
    assert_eq!(
        message("\"0s\""),
        "imsform.toml:4:17: `apply.poll_interval`: must be longer than zero"
    );
    assert_eq!(
        message("1"),
        "imsform.toml:4:17: `apply.poll_interval`: must be a string, not integer"
    );
}

#[test]
fn replica_regions_and_the_copy_agency_are_read() {
    let config = parse(
        r#"
[cloud]
region = "cn-north-4"
copy_agency = "ims_copy"

[cloud.regions.cn-south-1]

[cloud.regions.ap-southeast-1]
project = "ap-southeast-1_platform"
endpoint = "https://ims.sg.example.com"
iam_endpoint = "http://127.0.0.1:9001"
"#,
    )
    .unwrap();
    let cloud = &config.cloud;
    assert_eq!(cloud.copy_agency.as_deref(), Some("ims_copy"));
    assert_eq!(
        cloud.regions.keys().collect::<Vec<_>>(),
        ["ap-southeast-1", "cn-south-1"]
    );
    assert_eq!(cloud.project_of("cn-south-1"), "cn-south-1");
    assert_eq!(
        cloud.project_of("ap-southeast-1"),
        "ap-southeast-1_platform"
    );
    let sg = &cloud.regions["ap-southeast-1"];
    assert_eq!(sg.endpoint.as_deref(), Some("https://ims.sg.example.com"));
    assert_eq!(sg.iam_endpoint.as_deref(), Some("http://127.0.0.1:9001"));
}

#[test]
fn bad_replica_regions_are_each_named_at_their_place() {
    let text = r#"[cloud]
region = "cn-north-4"
copy_agency = ""
[cloud.regions.CN_South]
[cloud.regions.eu-west-0]
projekt = "x"
endpoint = "http://ims.example.com"
"#;
    assert_eq!(
        error(text),
        "imsform.toml:3:15: `cloud.copy_agency`: must not be empty\n\
         imsform.toml:4:16: `cloud.regions`: `CN_South` is not a region name (like `cn-north-4`)\n\
         imsform.toml:7:12: `cloud.regions.eu-west-0.endpoint`: plain `http://` is refused except \
         to a loopback host; use `https://`\n\
         imsform.toml:6:1: `cloud.regions.eu-west-0.projekt`: unknown key; did you mean `project`?"
    );
    assert!(error("[cloud]\nregions = 3\n").contains("`cloud.regions`: must be a table"));
}

#[test]
fn obs_endpoints_are_read_per_region_and_checked() {
    let config = parse(
        r#"
[cloud]
region = "cn-north-4"
obs_endpoint = "https://obs.cn-north-4.example.com"

[cloud.regions.cn-south-1]
obs_endpoint = "http://127.0.0.1:9002"
"#,
    )
    .unwrap();
    let cloud = &config.cloud;
    assert_eq!(
        cloud.obs_endpoint_of("cn-north-4"),
        Some("https://obs.cn-north-4.example.com")
    );
    assert_eq!(
        cloud.obs_endpoint_of("cn-south-1"),
        Some("http://127.0.0.1:9002")
    );
    assert_eq!(cloud.obs_endpoint_of("ap-southeast-1"), None);
    let message = error(
        "[cloud]\nregion = \"cn-north-4\"\nobs_endpoint = \"http://obs.example.com\"\n\
         [cloud.regions.cn-south-1]\nobs_endpoint = \"https://obs.example.com/bucket\"\n",
    );
    assert_eq!(
        message,
        "imsform.toml:3:16: `cloud.obs_endpoint`: plain `http://` is refused except to a loopback \
         host; use `https://`\n\
         imsform.toml:5:16: `cloud.regions.cn-south-1.obs_endpoint`: \
         `https://obs.example.com/bucket` has a path or query; an OBS endpoint is only scheme, \
         host and port, e.g. \"https://obs.cn-north-4.myhuaweicloud.com\""
    );
    let local = error("[cloud]\nlocal = true\nobs_endpoint = \"https://obs.example.com\"\n");
    assert!(
        local.contains("`cloud.obs_endpoint`: `local = true`"),
        "{local}"
    );
}

#[test]
fn from_config_takes_the_rate_the_timeouts_and_bounds_the_burst() {
    let apply = |rate| ApplyConfig {
        parallelism: 10,
        requests_per_second: rate,
        job_timeout: Duration::from_secs(1800),
        poll_interval: None,
    };
    let mut cloud = CloudConfig::at_endpoint("https://ims.example", "cn-north-4", None);
    let options = ClientOptions::from_config(&cloud, &apply(20));
    assert_eq!((options.requests_per_second, options.burst), (20, 10));
    assert_eq!(options.retry, RetryPolicy::default());
    assert_eq!(options.retry.attempt_timeout, Duration::from_secs(60));
    assert_eq!(options.unresponsive, Duration::from_secs(180));
    cloud.request_timeout = Duration::from_secs(10);
    cloud.unresponsive_timeout = Duration::from_secs(30);
    let options = ClientOptions::from_config(&cloud, &apply(3));
    assert_eq!((options.requests_per_second, options.burst), (3, 3));
    assert_eq!(options.page_size, 1000);
    assert_eq!(options.retry.attempt_timeout, Duration::from_secs(10));
    assert_eq!(options.unresponsive, Duration::from_secs(30));
}

#[test]
fn the_bounds_of_silent_links_have_defaults_and_are_checked() {
    let config = parse("[cloud]\nlocal = true\n").unwrap();
    assert_eq!(config.cloud.request_timeout, Duration::from_secs(60));
    assert_eq!(config.cloud.unresponsive_timeout, Duration::from_secs(180));
    let config = parse(
        "[cloud]\nlocal = true\nrequest_timeout = \"10s\"\nunresponsive_timeout = \"30s\"\n\n\
         [state]\nbackend = \"pg\"\nconn_str = \"host=db dbname=infra\"\nheartbeat = \"2s\"\n\
         statement_timeout = \"15s\"\n",
    )
    .unwrap();
    assert_eq!(config.cloud.request_timeout, Duration::from_secs(10));
    assert_eq!(config.cloud.unresponsive_timeout, Duration::from_secs(30));
    let crate::state::Location::Pg(settings) = &config.state.location else {
        panic!("{:?}", config.state.location);
    };
    assert_eq!(settings.heartbeat, Duration::from_secs(2));
    assert_eq!(settings.statement_timeout, Duration::from_secs(15));
    assert_eq!(
        (settings.host.as_str(), settings.dbname.as_str()),
        ("db", "infra")
    );
    let text = error(
        "[cloud]\nlocal = true\nrequest_timeout = \"soon\"\nunresponsive_timeout = 30\n\n\
         [state]\nheartbeat = \"0s\"\nstatement_timeout = \"30 parsecs\"\n",
    );
    for expected in [
        "imsform.toml:3:19: `cloud.request_timeout`: `soon` is not a duration",
        "imsform.toml:4:24: `cloud.unresponsive_timeout`: must be a string, not integer",
        "imsform.toml:7:13: `state.heartbeat`: must be longer than zero",
        "imsform.toml:8:21: `state.statement_timeout`: `30 parsecs` is not a duration",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
}
