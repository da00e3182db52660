//! Just enough HTML reading to check what an override renders: start and end tags with their
//! attributes (entity-decoded), in document order. Comments, doctypes and text are skipped.

/// One tag of a rendered page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Lower-case element name.
    pub name: String,
    /// An end tag (`</form>`).
    pub end: bool,
    /// Attributes, names lower-cased, values decoded.
    pub attributes: Vec<(String, String)>,
}

impl Tag {
    /// The value of attribute `name`, if present.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The tags of `html`, in order.
pub fn tags(html: &str) -> Vec<Tag> {
    let bytes = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(offset) = html[i..].find('<') {
        i += offset + 1;
        if html[i..].starts_with("!--") {
            // A comment ends at `-->`, or at `--!>` as browsers also accept.
            let rest = &html[i + 3..];
            let end = [
                rest.find("-->").map(|e| e + 3),
                rest.find("--!>").map(|e| e + 4),
            ]
            .into_iter()
            .flatten()
            .min();
            i = end.map_or(html.len(), |e| i + 3 + e);
            continue;
        }
        let end = bytes.get(i) == Some(&b'/');
        let name_start = if end { i + 1 } else { i };
        let name_len = html[name_start..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
            .count();
        if name_len == 0 {
            // `<!doctype>`, `<?…>` or a stray `<` in text.
            continue;
        }
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        i = name_start + name_len;
        let mut attributes = Vec::new();
        loop {
            while bytes
                .get(i)
                .is_some_and(|b| b.is_ascii_whitespace() || *b == b'/')
            {
                i += 1;
            }
            match bytes.get(i) {
                None => break,
                Some(b'>') => {
                    i += 1;
                    break;
                }
                Some(_) => {}
            }
            let attr_len = html[i..]
                .bytes()
                .take_while(|b| !b.is_ascii_whitespace() && !matches!(b, b'=' | b'>' | b'/'))
                .count()
                .max(1);
            let attr = html[i..i + attr_len].to_ascii_lowercase();
            i += attr_len;
            while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            let mut value = String::new();
            if bytes.get(i) == Some(&b'=') {
                i += 1;
                while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
                let raw = match bytes.get(i) {
                    Some(&quote @ (b'"' | b'\'')) => {
                        let close = html[i + 1..]
                            .find(quote as char)
                            .map_or(html.len(), |e| i + 1 + e);
                        let raw = &html[i + 1..close];
                        i = (close + 1).min(html.len());
                        raw
                    }
                    _ => {
                        let len = html[i..]
                            .bytes()
                            .take_while(|b| !b.is_ascii_whitespace() && *b != b'>')
                            .count();
                        let raw = &html[i..i + len];
                        i += len;
                        raw
                    }
                };
                value = decode(raw);
            }
            attributes.push((attr, value));
        }
        out.push(Tag {
            name,
            end,
            attributes,
        });
    }
    out
}

/// Decodes the character references an escaping template engine writes (named ones for the
/// HTML specials, numeric ones for the rest).
fn decode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|s| *s <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tags_attributes_and_references() {
        let html = "<!doctype html><!-- <form action=x> --!><form method=POST action=\"&#x2f;sign-in\">\
                    <input type='hidden' name=csrf_token value=\"a&amp;b\" required></form>";
        let tags = tags(html);
        assert_eq!(tags.len(), 3);
        assert_eq!(tags[0].name, "form");
        assert_eq!(tags[0].attribute("method"), Some("POST"));
        assert_eq!(tags[0].attribute("action"), Some("/sign-in"));
        assert_eq!(tags[1].attribute("value"), Some("a&b"));
        assert_eq!(tags[1].attribute("required"), Some(""));
        assert!(tags[2].end && tags[2].name == "form");
    }
}
