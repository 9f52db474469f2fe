//! The little XML OBS speaks: flat documents of elements holding text (results of multipart
//! calls, error bodies, the Complete request). Reading finds elements by name in document
//! order; nothing here builds a tree, validates a schema or follows entities beyond the five
//! predefined ones and numeric references. Pure.

/// `text` with `& < > " '` escaped for element content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other => out.push(other),
        }
    }
    out
}

/// Element content with the predefined entities and numeric references resolved; an unknown
/// entity is kept as written.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let Some(end) = after.find(';').filter(|end| *end <= 10) else {
            out.push('&');
            rest = after;
            continue;
        };
        let entity = &after[..end];
        let resolved = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match resolved {
            Some(c) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The raw inner text of every `<tag>…</tag>` (or `<tag attr="…">…</tag>`; `<tag/>` is empty)
/// in `doc`, in order. Elements of the same name must not nest.
pub fn elements<'a>(doc: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut rest = doc;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        // `<PartNumber` must not match `<PartNumberMarker>`.
        let Some(end_of_tag) = after.find('>') else {
            break;
        };
        let attributes = &after[..end_of_tag];
        if !(attributes.is_empty() || attributes.starts_with([' ', '\t', '\n', '\r', '/'])) {
            rest = after;
            continue;
        }
        if attributes.ends_with('/') {
            found.push("");
            rest = &after[end_of_tag + 1..];
            continue;
        }
        let body = &after[end_of_tag + 1..];
        let Some(end) = body.find(&close) else {
            break;
        };
        found.push(&body[..end]);
        rest = &body[end + close.len()..];
    }
    found
}

/// The first `<tag>`'s inner text, raw.
pub fn element<'a>(doc: &'a str, tag: &str) -> Option<&'a str> {
    elements(doc, tag).into_iter().next()
}

/// The first `<tag>`'s text, unescaped and trimmed.
pub fn text(doc: &str, tag: &str) -> Option<String> {
    element(doc, tag).map(|raw| unescape(raw.trim()))
}

/// `<?xml …?>` followed by `<root xmlns="…">` + `body` + `</root>`.
pub fn document(root: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} \
         xmlns=\"http://obs.myhwclouds.com/doc/2015-06-30/\">{body}</{root}>"
    )
}

/// `<tag>escaped text</tag>`.
pub fn leaf(tag: &str, text: &str) -> String {
    format!("<{tag}>{}</{tag}>", escape(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_found_in_order_without_prefix_confusion() {
        let doc = "<R><PartNumberMarker>0</PartNumberMarker><Part><PartNumber>1</PartNumber>\
                   <ETag>&quot;a&quot;</ETag></Part><Part><PartNumber>2</PartNumber><ETag/></Part></R>";
        let parts = elements(doc, "Part");
        assert_eq!(parts.len(), 2);
        assert_eq!(text(parts[0], "PartNumber").as_deref(), Some("1"));
        assert_eq!(text(parts[0], "ETag").as_deref(), Some("\"a\""));
        assert_eq!(text(parts[1], "ETag").as_deref(), Some(""));
        assert_eq!(text(doc, "PartNumberMarker").as_deref(), Some("0"));
        assert_eq!(text(doc, "Missing"), None);
        assert_eq!(elements("<A x=\"1\">v</A><A>w", "A"), vec!["v"]);
    }

    #[test]
    fn escaping_round_trips() {
        let raw = "a<b>&\"c'";
        assert_eq!(unescape(&escape(raw)), raw);
        assert_eq!(unescape("&#65;&#x42;&bogus;&"), "AB&bogus;&");
        let doc = document("Error", &leaf("Code", "NoSuchKey"));
        assert!(doc.starts_with("<?xml") && doc.contains("<Code>NoSuchKey</Code></Error>"));
    }
}
