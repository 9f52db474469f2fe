//! The two forms of a libpq connection string, read into `(key, value)` pairs: a URL
//! (`postgres://user@host:port/db?sslmode=verify-full`) or the `key=value` form
//! (`host=db.internal dbname=infra sslmode=verify-full`), as `psql` and Terraform's pg backend
//! take them. Pure: what the pairs mean is [`super::settings`]'s business.
//!
//! Why imsform reads them itself instead of `tokio_postgres::Config::from_str` (which parses
//! both): tokio-postgres refuses `sslmode=verify-ca` / `verify-full` and does not know
//! `sslrootcert`, which imsform honours with rustls.
//!
//! Messages never repeat a value (a password may be among them): they name the key or the
//! place.

/// Key/value pairs in the order written. A URL's user, password, host, port and database
/// become the keys `user`, `password`, `host`, `port` and `dbname`.
pub(super) fn pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    if text.contains("://") {
        url_pairs(text)
    } else {
        keyword_pairs(text)
    }
}

/// The URL form.
fn url_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let url = reqwest::Url::parse(text).map_err(|error| format!("not a URL: {error}"))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(
            "must start with postgres:// or postgresql:// (or be libpq's \
                    `key=value` form)"
                .to_owned(),
        );
    }
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| "is not UTF-8 once decoded".to_owned())
    };
    let mut pairs = Vec::new();
    if let Some(host) = url.host_str().filter(|host| !host.is_empty()) {
        let host = decode(host.trim_start_matches('[').trim_end_matches(']'))?;
        pairs.push(("host".to_owned(), host));
    }
    if let Some(port) = url.port() {
        pairs.push(("port".to_owned(), port.to_string()));
    }
    if !url.username().is_empty() {
        pairs.push(("user".to_owned(), decode(url.username())?));
    }
    if let Some(password) = url.password() {
        pairs.push(("password".to_owned(), decode(password)?));
    }
    let path = url.path().trim_start_matches('/');
    if !path.is_empty() {
        pairs.push(("dbname".to_owned(), decode(path)?));
    }
    for (key, value) in url.query_pairs() {
        pairs.push((key.into_owned(), value.into_owned()));
    }
    Ok(pairs)
}

/// libpq's `key=value` form: pairs separated by white space, spaces around `=` allowed, a
/// value either bare (up to the next white space) or in single quotes; `\` escapes the next
/// character in both.
fn keyword_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut chars = text.chars().peekable();
    let mut pairs = Vec::new();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!(
                "`{key}` has no `=` (write `key=value` pairs separated by spaces, or a \
                 postgres:// URL)"
            ));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let value = if chars.next_if_eq(&'\'').is_some() {
            quoted(&mut chars)
                .ok_or_else(|| format!("the value of `{key}` has no closing quote"))?
        } else {
            bare(&mut chars)
        };
        pairs.push((key, value));
    }
    if pairs.is_empty() {
        return Err("is empty".to_owned());
    }
    Ok(pairs)
}

/// A value in single quotes, after the opening one; `None` without the closing quote.
fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    let mut value = String::new();
    loop {
        match chars.next()? {
            '\\' => value.push(chars.next()?),
            '\'' => return Some(value),
            c => value.push(c),
        }
    }
}

/// A bare value: up to the next white space.
fn bare(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut value = String::new();
    while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
        if c == '\\' {
            value.extend(chars.next());
        } else {
            value.push(c);
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_keyword_form_reads_bare_quoted_and_escaped_values() {
        let text = "host=db.internal  dbname = infra sslmode=verify-full \
                    sslrootcert='/etc/ssl/my ca.pem' user=it\\'s application_name=''";
        assert_eq!(
            pairs(text).unwrap(),
            owned(&[
                ("host", "db.internal"),
                ("dbname", "infra"),
                ("sslmode", "verify-full"),
                ("sslrootcert", "/etc/ssl/my ca.pem"),
                ("user", "it's"),
                ("application_name", ""),
            ])
        );
        assert_eq!(
            pairs("password='a \\' b\\\\'").unwrap(),
            owned(&[("password", "a ' b\\")])
        );
    }

    #[test]
    fn the_url_form_gives_the_same_pairs() {
        assert_eq!(
            pairs("postgresql://u:p%40ss@[::1]:6543/infra?sslmode=require").unwrap(),
            owned(&[
                ("host", "::1"),
                ("port", "6543"),
                ("user", "u"),
                ("password", "p@ss"),
                ("dbname", "infra"),
                ("sslmode", "require"),
            ])
        );
    }

    #[test]
    fn malformed_strings_are_named_without_their_values() {
        let error = pairs("host=db password='s3cret").unwrap_err();
        assert_eq!(error, "the value of `password` has no closing quote");
        let error = pairs("host=db justaword").unwrap_err();
        assert!(error.starts_with("`justaword` has no `=`"), "{error}");
        assert_eq!(pairs("   ").unwrap_err(), "is empty");
        let error = pairs("mysql://u:s3cret@db/x").unwrap_err();
        assert!(error.starts_with("must start with postgres://"), "{error}");
        assert!(!error.contains("s3cret"));
    }
}
