//! Session id extraction and session routes, as mod_jk does them (mod_jk §3.5.1–3.5.2).

/// Extracts the session id candidates of a request, in the order mod_jk tries them.
///
/// `uri` is the forwarded request URI (path, no query). `cookie_headers` are the values of
/// every request header named `Cookie`, in order. `session_path` includes its leading `;`
/// (`;jsessionid`). The path parameter wins; only without it are cookies read, and then
/// every cookie called `session_cookie` is a candidate, in order. Returns an empty list
/// when the request carries no (non-empty) session id.
pub fn session_candidates<I>(
    uri: &[u8],
    cookie_headers: I,
    session_path: &str,
    session_cookie: &str,
) -> Vec<String>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    session_id_list(uri, cookie_headers, session_path, session_cookie)
        .map(|joined| joined.split(';').map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The candidates of [`session_candidates`] joined by `;` (mod_jk's session id list, what
/// logs and the lb keep), built in one allocation; `None` when there is none.
///
/// The search runs on bytes, as mod_jk's does on C strings: only the values found are
/// made text (a byte that is not UTF-8 becomes U+FFFD there), not the whole URI and
/// every cookie header first.
pub fn session_id_list<I>(
    uri: &[u8],
    cookie_headers: I,
    session_path: &str,
    session_cookie: &str,
) -> Option<String>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let mut joined = Vec::new();
    match path_parameter(uri, session_path.as_bytes()) {
        Some(value) => joined.extend_from_slice(value),
        None => append_cookie_values(cookie_headers, session_cookie.as_bytes(), &mut joined),
    }
    (!joined.is_empty()).then(|| match String::from_utf8(joined) {
        Ok(text) => text,
        Err(raw) => String::from_utf8_lossy(raw.as_bytes()).into_owned(),
    })
}

/// The first non-empty value of `name=` in `uri`; it ends at `?`, `;` or `/`.
fn path_parameter<'u>(uri: &'u [u8], name: &[u8]) -> Option<&'u [u8]> {
    let mut from = 0;
    while let Some(start) = find_from(uri, name, from) {
        let after = start + name.len();
        if uri.get(after) == Some(&b'=') {
            let rest = &uri[after + 1..];
            let end = rest
                .iter()
                .position(|b| matches!(b, b'?' | b';' | b'/'))
                .unwrap_or(rest.len());
            if end > 0 {
                return Some(&rest[..end]);
            }
        }
        from = start + 1;
    }
    None
}

/// Appends every value of cookie `name` in the given `Cookie` header values to `out`, in
/// order, separated by `;`.
fn append_cookie_values<I>(cookie_headers: I, name: &[u8], out: &mut Vec<u8>)
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    // (An empty name finds nothing: `find_from` needs a first byte.)
    let mut first = true;
    for header in cookie_headers {
        let bytes = header.as_ref();
        let mut from = 0;
        while let Some(start) = find_from(bytes, name, from) {
            let boundary_ok = start == 0
                || matches!(bytes[start - 1], b';' | b',')
                || bytes[start - 1].is_ascii_whitespace();
            let mut next = start + 1;
            if boundary_ok {
                let mut pos = start + name.len();
                while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
                    pos += 1;
                }
                if pos + 1 < bytes.len() && bytes[pos] == b'=' {
                    let value_start = pos + 1;
                    let value_end = bytes[value_start..]
                        .iter()
                        .position(|b| matches!(b, b';' | b','))
                        .map_or(bytes.len(), |e| value_start + e);
                    if !first {
                        out.push(b';');
                    }
                    first = false;
                    out.extend_from_slice(unquote(&bytes[value_start..value_end]));
                    next = value_end.max(start + 1);
                }
            }
            from = next;
        }
    }
}

/// Where `needle` (not empty) next starts in `haystack` at or after `from`. Candidates are
/// found by the needle's first byte (memchr): a substring searcher set up for every request
/// and header cost more than the search itself on these short strings.
fn find_from(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut at = from;
    while let Some(found) = memchr::memchr(first, haystack.get(at..)?) {
        let start = at + found;
        if haystack[start..].starts_with(needle) {
            return Some(start);
        }
        at = start + 1;
    }
    None
}

/// Removes one pair of surrounding double quotes.
fn unquote(value: &[u8]) -> &[u8] {
    match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    }
}

/// The route of a session id: everything after its **first** `.`; `None` without a `.`.
pub fn route_of_session(session_id: &str) -> Option<&str> {
    session_id.find('.').map(|dot| &session_id[dot + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(uri: &str, cookies: &[&str]) -> Vec<String> {
        session_candidates(
            uri.as_bytes(),
            cookies.iter().copied(),
            ";jsessionid",
            "JSESSIONID",
        )
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters_in_the_id_only() {
        let cookies: [&[u8]; 2] = [b"x=\xff; JSESSIONID=A\xffB.n1", b"JSESSIONID=C.n2"];
        let ids = session_candidates(b"/app/\xfe", cookies, ";jsessionid", "JSESSIONID");
        assert_eq!(ids, ["A\u{FFFD}B.n1", "C.n2"]);
        assert_eq!(route_of_session(&ids[0]), Some("n1"));
        let in_path = session_candidates(b"/a;jsessionid=P\xff.n3", cookies, ";jsessionid", "x");
        assert_eq!(in_path, ["P\u{FFFD}.n3"]);
    }

    #[test]
    fn route_is_after_the_first_dot() {
        assert_eq!(route_of_session("ABC.node1"), Some("node1"));
        assert_eq!(route_of_session("ABC.dc1.node1"), Some("dc1.node1"));
        assert_eq!(route_of_session("ABC"), None);
        assert_eq!(route_of_session(".node2"), Some("node2"));
    }

    #[test]
    fn path_parameter_beats_cookie() {
        assert_eq!(
            ids("/app/x;jsessionid=P.n2", &["JSESSIONID=C.n1"]),
            vec!["P.n2"]
        );
    }

    #[test]
    fn path_parameter_ends_at_query_semicolon_or_slash() {
        assert_eq!(ids("/a;jsessionid=X.n1?q=1", &[]), vec!["X.n1"]);
        assert_eq!(ids("/a;jsessionid=X.n1;other=2", &[]), vec!["X.n1"]);
        assert_eq!(ids("/a;jsessionid=X.n1/more", &[]), vec!["X.n1"]);
    }

    #[test]
    fn empty_path_parameter_is_skipped_for_the_next_one() {
        assert_eq!(ids("/a;jsessionid=;jsessionid=Y.n3", &[]), vec!["Y.n3"]);
    }

    #[test]
    fn path_parameter_name_is_case_sensitive_and_needs_equals() {
        assert_eq!(
            ids("/a;JSESSIONID=X.n1", &["JSESSIONID=C.n1"]),
            vec!["C.n1"]
        );
        assert_eq!(ids("/a;jsessionidX=1", &[]), Vec::<String>::new());
    }

    #[test]
    fn every_cookie_of_the_name_is_a_candidate_in_order() {
        assert_eq!(
            ids(
                "/a",
                &["JSESSIONID=a.n1; JSESSIONID=b.n2", "x=1,JSESSIONID=c.n3"]
            ),
            vec!["a.n1", "b.n2", "c.n3"]
        );
    }

    #[test]
    fn cookie_name_needs_a_boundary_and_matches_case_sensitively() {
        assert_eq!(ids("/a", &["MYJSESSIONID=a.n1"]), Vec::<String>::new());
        assert_eq!(ids("/a", &["jsessionid=a.n1"]), Vec::<String>::new());
        assert_eq!(ids("/a", &["x=1;JSESSIONID=b.n2"]), vec!["b.n2"]);
        assert_eq!(ids("/a", &["x=1\tJSESSIONID =b.n2"]), vec!["b.n2"]);
    }

    #[test]
    fn quoted_cookie_values_are_unquoted() {
        assert_eq!(ids("/a", &["JSESSIONID=\"q.n2\""]), vec!["q.n2"]);
        assert_eq!(ids("/a", &["JSESSIONID=\""]), vec!["\""]);
    }

    #[test]
    fn cookie_without_value_is_not_a_cookie() {
        assert_eq!(ids("/a", &["JSESSIONID="]), Vec::<String>::new());
    }

    #[test]
    fn empty_values_mean_no_session() {
        assert_eq!(ids("/a", &["JSESSIONID=;x=1"]), Vec::<String>::new());
        assert_eq!(ids("/a", &[]), Vec::<String>::new());
    }

    #[test]
    fn custom_names() {
        assert_eq!(
            session_candidates(b"/a;sid=Z.n1", std::iter::empty::<&str>(), ";sid", "SID"),
            vec!["Z.n1"]
        );
        assert_eq!(
            session_candidates(b"/a", ["SID=Z.n2"].into_iter(), ";sid", "SID"),
            vec!["Z.n2"]
        );
    }

    #[test]
    fn non_ascii_input_does_not_panic() {
        assert_eq!(ids("/é;jsessionid=é.ñ", &["ü JSESSIONID=ä.ö"]), vec!["é.ñ"]);
        assert_eq!(
            ids("/é", &["üJSESSIONID=ä.ö; JSESSIONID=ß.n1"]),
            vec!["ß.n1"]
        );
    }

    proptest::proptest! {
        /// The first-byte search finds what the standard library's substring search finds,
        /// from any char boundary, in ASCII and non-ASCII text alike.
        #[test]
        fn find_from_agrees_with_str_find(
            haystack in "[aJS=é;]{0,24}",
            needle in "[aJS=é]{1,4}",
            skip in 0usize..26,
        ) {
            let mut from = skip.min(haystack.len());
            while !haystack.is_char_boundary(from) {
                from -= 1;
            }
            let expected = haystack[from..].find(needle.as_str()).map(|at| from + at);
            proptest::prop_assert_eq!(
                find_from(haystack.as_bytes(), needle.as_bytes(), from),
                expected
            );
        }
    }
}
