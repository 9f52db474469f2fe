//! Where an OBS request goes. Real endpoints are addressed virtual-hosted style,
//! `https://BUCKET.obs.REGION.myhuaweicloud.com/KEY`: OBS refuses path style on its domain
//! endpoints (obs-upload.md section 2). Loopback endpoints (the emulator) have no wildcard DNS,
//! so they are addressed path style, `http://127.0.0.1:PORT/BUCKET/KEY`. Either way the signed
//! resource is `/BUCKET/KEY`. Pure; opens no connection.

use crate::cloud::CloudError;
use crate::cloud::config::CloudConfig;
use crate::cloud::endpoint::{Endpoint, is_loopback};

/// A checked OBS endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObsEndpoint {
    /// `https` or (loopback only) `http`.
    scheme: String,
    /// `host` or `host:port`.
    host: String,
    /// Path style for loopback hosts, virtual-hosted style otherwise.
    path_style: bool,
}

/// One request's URL (without query), `Host` and signed resource path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub url: String,
    pub host: String,
    /// `/bucket/encoded-key`.
    pub resource: String,
}

impl ObsEndpoint {
    /// The OBS endpoint of `region`: the configured override, else Huawei's default host.
    pub fn for_region(config: &CloudConfig, region: &str) -> Result<ObsEndpoint, CloudError> {
        match config.obs_endpoint_of(region) {
            Some(url) => ObsEndpoint::parse(url),
            None => ObsEndpoint::parse(&format!("https://obs.{region}.myhuaweicloud.com")),
        }
    }

    /// Checks `url`: `https://`, or `http://` to loopback only; no path.
    pub fn parse(url: &str) -> Result<ObsEndpoint, CloudError> {
        let endpoint = Endpoint::parse(url)?;
        if !endpoint.path_prefix.is_empty() {
            return Err(CloudError::Config(format!(
                "OBS endpoint `{url}` has a path: give only scheme, host and port"
            )));
        }
        let scheme = endpoint
            .base
            .split("://")
            .next()
            .unwrap_or("https")
            .to_owned();
        let bare = endpoint
            .host
            .rsplit_once(':')
            .map_or(endpoint.host.as_str(), |(host, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    host
                } else {
                    endpoint.host.as_str()
                }
            });
        Ok(ObsEndpoint {
            path_style: is_loopback(bare),
            scheme,
            host: endpoint.host,
        })
    }

    /// Whether requests go path style (loopback endpoints only).
    pub fn path_style(&self) -> bool {
        self.path_style
    }

    /// The URL, `Host` and resource of `encoded_key` (may be empty) in `bucket`.
    pub fn locate(&self, bucket: &str, encoded_key: &str) -> Located {
        let resource = format!("/{bucket}/{encoded_key}");
        if self.path_style {
            Located {
                url: format!("{}://{}{resource}", self.scheme, self.host),
                host: self.host.clone(),
                resource,
            }
        } else {
            let host = format!("{bucket}.{}", self.host);
            Located {
                url: format!("{}://{host}/{encoded_key}", self.scheme),
                host,
                resource,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_endpoints_are_virtual_hosted_and_loopback_ones_path_style() {
        let config = CloudConfig::at_endpoint("https://ims.example.com", "cn-north-4", None);
        let real = ObsEndpoint::for_region(&config, "cn-north-4").unwrap();
        assert!(!real.path_style());
        assert_eq!(
            real.locate("images", "imsform/web-0a1b.qcow2"),
            Located {
                url: "https://images.obs.cn-north-4.myhuaweicloud.com/imsform/web-0a1b.qcow2"
                    .into(),
                host: "images.obs.cn-north-4.myhuaweicloud.com".into(),
                resource: "/images/imsform/web-0a1b.qcow2".into(),
            }
        );
        let local = ObsEndpoint::parse("http://127.0.0.1:8788").unwrap();
        assert!(local.path_style());
        let located = local.locate("images", "a.raw");
        assert_eq!(located.url, "http://127.0.0.1:8788/images/a.raw");
        assert_eq!(located.host, "127.0.0.1:8788");
        assert_eq!(located.resource, "/images/a.raw");
        assert!(ObsEndpoint::parse("http://obs.example.com").is_err());
        assert!(ObsEndpoint::parse("https://obs.example.com/prefix").is_err());
        let v6 = ObsEndpoint::parse("http://[::1]:9000").unwrap();
        assert!(v6.path_style());
    }
}
