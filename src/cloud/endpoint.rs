//! Where requests go: the IMS and IAM base URLs of a region, their overrides, and the rule that
//! plain `http://` is allowed only to loopback hosts. Pure; it opens no connection.

use std::net::IpAddr;

use reqwest::Url;

use super::CloudError;
use super::config::CloudConfig;

/// A checked base URL and the `Host` header value that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Scheme, host and port, without a trailing `/`, e.g. `https://ims.cn-north-4.myhuaweicloud.com`.
    pub base: String,
    /// Any path prefix of the configured URL, without a trailing `/` (usually empty).
    pub path_prefix: String,
    /// `host` or `host:port` when the URL names a port (as the SDK signs it).
    pub host: String,
}

/// The IMS and IAM endpoints of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub ims: Endpoint,
    pub iam: Endpoint,
}

impl Endpoints {
    /// The region's defaults (`https://ims.{region}.myhuaweicloud.com`, `https://iam.{region}…`)
    /// unless `config` overrides them.
    pub fn from_config(config: &CloudConfig) -> Result<Endpoints, CloudError> {
        let region = config.region.trim();
        if region.is_empty() && (config.endpoint.is_none() || config.iam_endpoint.is_none()) {
            return Err(CloudError::Config(
                "no region: set it under `[cloud]` in imsform.toml, or HW_REGION_NAME, or use the \
                 local cloud with `local = true`"
                    .into(),
            ));
        }
        let ims = match &config.endpoint {
            Some(url) => url.clone(),
            None => format!("https://ims.{region}.myhuaweicloud.com"),
        };
        let iam = match &config.iam_endpoint {
            Some(url) => url.clone(),
            None => format!("https://iam.{region}.myhuaweicloud.com"),
        };
        Ok(Endpoints {
            ims: Endpoint::parse(&ims)?,
            iam: Endpoint::parse(&iam)?,
        })
    }
}

impl Endpoint {
    /// Checks `url`: `https://` anywhere, `http://` only to 127.0.0.0/8, `::1` or `localhost`.
    pub fn parse(url: &str) -> Result<Endpoint, CloudError> {
        let parsed = Url::parse(url.trim())
            .map_err(|err| CloudError::Config(format!("endpoint `{url}` is not a URL: {err}")))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| CloudError::Config(format!("endpoint `{url}` has no host")))?;
        match parsed.scheme() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => {
                return Err(CloudError::Config(format!(
                    "endpoint `{url}` uses plain http:// to a host that is not loopback; \
                     credentials would cross the network unencrypted: use https://"
                )));
            }
            other => {
                return Err(CloudError::Config(format!(
                    "endpoint `{url}` has scheme `{other}`: use https://"
                )));
            }
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(CloudError::Config(format!(
                "endpoint `{url}` must not carry a query or fragment"
            )));
        }
        let host_header = match parsed.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Ok(Endpoint {
            base: format!("{}://{host_header}", parsed.scheme()),
            path_prefix: parsed.path().trim_end_matches('/').to_owned(),
            host: host_header,
        })
    }
}

/// 127.0.0.0/8, `::1` and `localhost`. `host` is as `Url::host_str` gives it (IPv6 in brackets).
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(endpoint: Option<&str>, iam: Option<&str>) -> CloudConfig {
        CloudConfig {
            region: "cn-north-4".into(),
            project_id: None,
            endpoint: endpoint.map(str::to_owned),
            iam_endpoint: iam.map(str::to_owned),
            ..CloudConfig::at_endpoint("", "cn-north-4", None)
        }
    }

    #[test]
    fn region_defaults() {
        let endpoints = Endpoints::from_config(&config(None, None)).unwrap();
        assert_eq!(
            endpoints.ims.base,
            "https://ims.cn-north-4.myhuaweicloud.com"
        );
        assert_eq!(endpoints.ims.host, "ims.cn-north-4.myhuaweicloud.com");
        assert_eq!(
            endpoints.iam.base,
            "https://iam.cn-north-4.myhuaweicloud.com"
        );
        assert_eq!(endpoints.ims.path_prefix, "");
    }

    #[test]
    fn overrides_keep_the_port_in_host() {
        let endpoints = Endpoints::from_config(&config(
            Some("http://127.0.0.1:8787/"),
            Some("https://iam.example.com:8443/prefix/"),
        ))
        .unwrap();
        assert_eq!(endpoints.ims.base, "http://127.0.0.1:8787");
        assert_eq!(endpoints.ims.host, "127.0.0.1:8787");
        assert_eq!(endpoints.iam.host, "iam.example.com:8443");
        assert_eq!(endpoints.iam.path_prefix, "/prefix");
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:1",
            "http://127.9.9.9",
            "http://[::1]:80",
            "http://localhost:8787",
            "https://10.0.0.1",
        ] {
            assert!(Endpoint::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1",
            "http://ims.example.com",
            "http://128.0.0.1",
            "ftp://127.0.0.1",
            "not a url",
        ] {
            let err = Endpoint::parse(bad).unwrap_err();
            assert!(matches!(err, CloudError::Config(_)), "{bad}: {err}");
        }
        let err = Endpoint::parse("http://ims.example.com").unwrap_err();
        assert!(err.to_string().contains("use https://"), "{err}");
    }

    #[test]
    fn empty_region_without_overrides_is_an_error() {
        let mut cfg = config(None, None);
        cfg.region = String::new();
        assert!(Endpoints::from_config(&cfg).is_err());
    }
}
