//! Credentials from the environment: AK/SK (optionally temporary, with a security token) or an
//! IAM token. Owns reading the `HW_*` variables and keeping secrets out of `Debug`; it must
//! never print, log or persist a secret.

use std::fmt;

use super::CloudError;

/// `HW_ACCESS_KEY`: the access key id.
pub const ENV_ACCESS_KEY: &str = "HW_ACCESS_KEY";
/// `HW_SECRET_KEY`: the secret access key.
pub const ENV_SECRET_KEY: &str = "HW_SECRET_KEY";
/// `HW_SECURITY_TOKEN`: the token of temporary AK/SK credentials.
pub const ENV_SECURITY_TOKEN: &str = "HW_SECURITY_TOKEN";
/// `HW_AUTH_TOKEN`: an IAM token (`X-Auth-Token`), used when no AK/SK is set.
pub const ENV_AUTH_TOKEN: &str = "HW_AUTH_TOKEN";

/// How requests are authenticated. `Debug` shows the access key id only.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// SDK-HMAC-SHA256 signing; `security_token` for temporary credentials (signed header).
    AkSk {
        access_key: String,
        secret_key: String,
        security_token: Option<String>,
    },
    /// `X-Auth-Token: <token>`, no signature.
    Token { token: String },
}

impl Credentials {
    /// Permanent AK/SK credentials.
    pub fn ak_sk(access_key: &str, secret_key: &str) -> Credentials {
        Credentials::AkSk {
            access_key: access_key.to_owned(),
            secret_key: secret_key.to_owned(),
            security_token: None,
        }
    }

    /// Reads the credentials through `env` (inject `|name| std::env::var(name).ok()` in the
    /// binary). AK/SK wins over a token; empty values count as unset.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Credentials, CloudError> {
        let get = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        for name in [
            ENV_ACCESS_KEY,
            ENV_SECRET_KEY,
            ENV_SECURITY_TOKEN,
            ENV_AUTH_TOKEN,
        ] {
            if get(name).is_some_and(|value| value.chars().any(char::is_control)) {
                return Err(CloudError::Config(format!(
                    "{name} contains a control character (a stray newline?): it cannot be sent \
                     in an HTTP header"
                )));
            }
        }
        match (get(ENV_ACCESS_KEY), get(ENV_SECRET_KEY)) {
            (Some(access_key), Some(secret_key)) => Ok(Credentials::AkSk {
                access_key,
                secret_key,
                security_token: get(ENV_SECURITY_TOKEN),
            }),
            (Some(_), None) => Err(CloudError::Config(format!(
                "{ENV_ACCESS_KEY} is set but {ENV_SECRET_KEY} is not: set both"
            ))),
            (None, Some(_)) => Err(CloudError::Config(format!(
                "{ENV_SECRET_KEY} is set but {ENV_ACCESS_KEY} is not: set both"
            ))),
            (None, None) => match get(ENV_AUTH_TOKEN) {
                Some(token) => Ok(Credentials::Token { token }),
                None => Err(CloudError::Config(format!(
                    "no cloud credentials: set {ENV_ACCESS_KEY} and {ENV_SECRET_KEY} (plus \
                     {ENV_SECURITY_TOKEN} for temporary credentials), or {ENV_AUTH_TOKEN}; \
                     or use the local cloud (`[cloud] local = true`)"
                ))),
            },
        }
    }

    /// The access key id, for cache keys and messages (not a secret).
    pub fn access_key(&self) -> Option<&str> {
        match self {
            Credentials::AkSk { access_key, .. } => Some(access_key),
            Credentials::Token { .. } => None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::AkSk {
                access_key,
                security_token,
                ..
            } => f
                .debug_struct("AkSk")
                .field("access_key", access_key)
                .field("secret_key", &"<redacted>")
                .field(
                    "security_token",
                    &security_token.as_ref().map(|_| "<redacted>"),
                )
                .finish(),
            Credentials::Token { .. } => f
                .debug_struct("Token")
                .field("token", &"<redacted>")
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn aksk_with_and_without_security_token() {
        let creds =
            Credentials::from_env(&env(&[("HW_ACCESS_KEY", "AK1"), ("HW_SECRET_KEY", "SK1")]))
                .unwrap();
        assert_eq!(
            creds,
            Credentials::AkSk {
                access_key: "AK1".into(),
                secret_key: "SK1".into(),
                security_token: None
            }
        );
        let creds = Credentials::from_env(&env(&[
            ("HW_ACCESS_KEY", "AK1"),
            ("HW_SECRET_KEY", "SK1"),
            ("HW_SECURITY_TOKEN", "ST1"),
            ("HW_AUTH_TOKEN", "ignored"),
        ]))
        .unwrap();
        assert!(
            matches!(creds, Credentials::AkSk { security_token: Some(ref t), .. } if t == "ST1")
        );
    }

    #[test]
    fn token_when_no_aksk() {
        let creds = Credentials::from_env(&env(&[("HW_AUTH_TOKEN", "TOK")])).unwrap();
        assert_eq!(
            creds,
            Credentials::Token {
                token: "TOK".into()
            }
        );
    }

    #[test]
    fn missing_or_half_set_credentials_are_clear_errors() {
        let none = Credentials::from_env(&env(&[("HW_ACCESS_KEY", " ")])).unwrap_err();
        let text = none.to_string();
        assert!(
            text.contains("HW_ACCESS_KEY") && text.contains("HW_AUTH_TOKEN"),
            "{text}"
        );
        let half = Credentials::from_env(&env(&[("HW_ACCESS_KEY", "AK")])).unwrap_err();
        assert!(half.to_string().contains("HW_SECRET_KEY is not"), "{half}");
        let newline =
            Credentials::from_env(&env(&[("HW_ACCESS_KEY", "AK"), ("HW_SECRET_KEY", "SK\n")]))
                .unwrap_err();
        assert!(
            newline
                .to_string()
                .contains("HW_SECRET_KEY contains a control"),
            "{newline}"
        );
        assert!(!newline.to_string().contains("SK\n"));
        let half = Credentials::from_env(&env(&[("HW_SECRET_KEY", "SK")])).unwrap_err();
        assert!(half.to_string().contains("HW_ACCESS_KEY is not"), "{half}");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let aksk = Credentials::AkSk {
            access_key: "AKVISIBLE".into(),
            secret_key: "SUPERSECRETKEY".into(),
            security_token: Some("SECRETTOKEN".into()),
        };
        let text = format!("{aksk:?} {aksk:#?}");
        assert!(text.contains("AKVISIBLE"));
        assert!(
            !text.contains("SUPERSECRETKEY") && !text.contains("SECRETTOKEN"),
            "{text}"
        );
        let token = Credentials::Token {
            token: "SECRETTOKEN".into(),
        };
        assert!(!format!("{token:?}").contains("SECRETTOKEN"));
    }
}
