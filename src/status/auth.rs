//! Who may use a status worker (mod_jk.md §2.5, §5.1).
//!
//! mod_jk trusts httpd's `remote_user`; jkgate authenticates by itself: HTTP Basic
//! credentials checked against jkgate.ini's `[status_users]` (`user = password`). The
//! authenticated name must then be in the worker's `user` list (exactly, or ignoring ASCII
//! case with `user_case_insensitive`). A worker without a `user` list is open to anyone.

use crate::config::StatusSettings;

/// Why a request was refused (mod_jk answers "Access denied." for both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No valid credentials came with the request.
    NoUser,
    /// Valid credentials, but the user is not in the worker's `user` list.
    NotListed,
}

/// Checks a request's `Authorization` header against `users` and the worker's `user`
/// list. Returns the authenticated user (if any) when access is granted.
pub fn check_access(
    settings: &StatusSettings,
    users: &[(String, String)],
    authorization: Option<&[u8]>,
) -> Result<Option<String>, Denied> {
    let user = authorization.and_then(|header| authenticate(header, users));
    if settings.users.is_empty() {
        return Ok(user);
    }
    let Some(user) = user else {
        return Err(Denied::NoUser);
    };
    let listed = settings.users.iter().any(|allowed| {
        if settings.user_case_insensitive {
            allowed.eq_ignore_ascii_case(&user)
        } else {
            *allowed == user
        }
    });
    if listed {
        Ok(Some(user))
    } else {
        Err(Denied::NotListed)
    }
}

/// The user named by a valid `Basic` `Authorization` header value, if its password
/// matches the configured one. Every configured user is compared (in constant time per
/// password), so timing tells nothing about which names exist.
pub fn authenticate(header: &[u8], users: &[(String, String)]) -> Option<String> {
    let header = header.trim_ascii();
    let (scheme, encoded) = split_once_space(header)?;
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let decoded = base64_decode(encoded.trim_ascii())?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let (name, password) = (&decoded[..colon], &decoded[colon + 1..]);
    let mut found: Option<&str> = None;
    for (user, expected) in users {
        let name_ok = constant_time_eq(user.as_bytes(), name);
        let password_ok = constant_time_eq(expected.as_bytes(), password);
        if name_ok & password_ok && found.is_none() {
            found = Some(user);
        }
    }
    found.map(str::to_owned)
}

fn split_once_space(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == b' ' || b == b'\t')?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

/// Standard base64 (RFC 4648, `=` padding optional); `None` on any other byte.
pub fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    fn value(byte: u8) -> Option<u32> {
        Some(match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let text = match text.iter().position(|&b| b == b'=') {
        Some(pad) if text[pad..].iter().all(|&b| b == b'=') && text.len() - pad <= 2 => {
            &text[..pad]
        }
        Some(_) => return None,
        None => text,
    };
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut acc = 0u32;
        for (i, &byte) in chunk.iter().enumerate() {
            acc |= value(byte)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Vec<(String, String)> {
        vec![
            ("alice".to_owned(), "wonder land".to_owned()),
            ("bob".to_owned(), "b:ob".to_owned()),
        ]
    }

    #[test]
    fn basic_credentials() {
        // "alice:wonder land", "bob:b:ob"
        assert_eq!(
            authenticate(b"Basic YWxpY2U6d29uZGVyIGxhbmQ=", &users()).as_deref(),
            Some("alice")
        );
        assert_eq!(
            authenticate(b"basic Ym9iOmI6b2I=", &users()).as_deref(),
            Some("bob")
        );
        assert_eq!(authenticate(b"Basic YWxpY2U6d29uZGVy", &users()), None);
        assert_eq!(authenticate(b"Bearer YWxpY2U6d29uZGVy", &users()), None);
        assert_eq!(authenticate(b"Basic !!!", &users()), None);
        assert_eq!(authenticate(b"Basic", &users()), None);
    }

    #[test]
    fn base64_edges() {
        assert_eq!(base64_decode(b"").as_deref(), Some(&b""[..]));
        assert_eq!(base64_decode(b"YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode(b"YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode(b"YWI=").as_deref(), Some(&b"ab"[..]));
        assert_eq!(base64_decode(b"Y"), None);
        assert_eq!(base64_decode(b"YQ=a"), None);
        assert_eq!(base64_decode(b"YQ==="), None);
    }

    #[test]
    fn comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"\0"));
    }
}
