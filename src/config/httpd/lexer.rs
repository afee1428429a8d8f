//! httpd.conf lines and words, as httpd's `ap_cfg_getline` and `ap_getword_conf` read
//! them: a line ending in `\` goes on on the next one, leading and trailing blanks go, a
//! line starting with `#` is a comment (there are no comments after a directive), words
//! are separated by blanks and may be quoted with `"` or `'` (a backslash before the quote
//! keeps it in the word).

use std::sync::Arc;

use crate::config::Origin;

/// One logical line: its words and where it began.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    /// The first physical line.
    pub origin: Origin,
    /// What it says, after joining continuations and trimming.
    pub text: String,
}

/// The logical lines of `content` (comments and blank lines left out).
pub(crate) fn lines(content: &str, file: &Arc<str>) -> Vec<Line> {
    let mut out = Vec::new();
    let mut pending: Option<(u32, String)> = None;
    for (index, raw) in content.lines().enumerate() {
        let line_no = index as u32 + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (start, mut text) = match pending.take() {
            Some((start, mut text)) => {
                text.push_str(raw.trim_start());
                (start, text)
            }
            None => (line_no, raw.trim_start().to_owned()),
        };
        if text.ends_with('\\') {
            text.pop();
            // httpd joins the lines with nothing between them; a blank before the `\`
            // keeps the words apart.
            pending = Some((start, text));
            continue;
        }
        let text = text.trim_end().to_owned();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        out.push(Line {
            origin: Origin::new(file.clone(), start),
            text,
        });
    }
    if let Some((start, text)) = pending {
        let text = text.trim().to_owned();
        if !text.is_empty() && !text.starts_with('#') {
            out.push(Line {
                origin: Origin::new(file.clone(), start),
                text,
            });
        }
    }
    out
}

/// A quote that runs to the end of the line: httpd would take the rest of the line as one
/// word, which is never what was meant.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the quote {quote} opened in `{text}` is not closed")]
pub(crate) struct UnclosedQuote {
    /// `"` or `'`.
    quote: char,
    /// The arguments it was opened in.
    text: String,
}

/// The words of a directive's arguments, as `ap_getword_conf` splits them.
pub(crate) fn words(text: &str) -> Result<Vec<String>, UnclosedQuote> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(out);
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == '\\' && chars.peek() == Some(&first) {
                    word.push(first);
                    chars.next();
                } else if c == first {
                    closed = true;
                    break;
                } else {
                    word.push(c);
                }
            }
            if !closed {
                return Err(UnclosedQuote {
                    quote: first,
                    text: text.to_owned(),
                });
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        out.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_comments_and_blanks() {
        let file: Arc<str> = Arc::from("h.conf");
        let text = "# comment\n\n  JkMount /a \\\n   lb\nServerAlias a \\\nb\\\n\n  # x\nJkLogLevel info\r\n";
        let got: Vec<(u32, String)> = lines(text, &file)
            .into_iter()
            .map(|l| (l.origin.line, l.text))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "JkMount /a lb".to_owned()),
                (5, "ServerAlias a b".to_owned()),
                (9, "JkLogLevel info".to_owned()),
            ]
        );
    }

    #[test]
    fn words_with_quotes() {
        assert_eq!(
            words(r#"JkRequestLogFormat "%w %V \"%r\"" 'a b' c"#).unwrap(),
            vec!["JkRequestLogFormat", "%w %V \"%r\"", "a b", "c"]
        );
        assert_eq!(words("  ").unwrap(), Vec::<String>::new());
        assert!(words("\"open").is_err());
    }
}
