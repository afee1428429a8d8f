//! Who may use a status worker (mod_jk.md §2.5, §5.1).
//!
//! mod_jk trusts httpd's `remote_user`; jkgate authenticates by itself: HTTP Basic
//! credentials checked against jkgate.ini's `[status_users]` (`user = password`). The
//! authenticated name must then be in the worker's `user` list (exactly, or ignoring ASCII
//! case with `user_case_insensitive`). A worker without a `user` list is open to anyone.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use subtle::ConstantTimeEq;

use crate::config::StatusSettings;

/// Standard base64 that, like most clients and servers, takes the `=` padding or not.
const BASIC: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

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
    let decoded = BASIC.decode(encoded.trim_ascii()).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let (name, password) = (&decoded[..colon], &decoded[colon + 1..]);
    let mut found: Option<&str> = None;
    for (user, expected) in users {
        // A length difference shows in the timing; the bytes do not.
        let matches = user.as_bytes().ct_eq(name) & expected.as_bytes().ct_eq(password);
        if bool::from(matches) && found.is_none() {
            found = Some(user);
        }
    }
    found.map(str::to_owned)
}

fn split_once_space(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == b' ' || b == b'\t')?;
    Some((&bytes[..at], &bytes[at + 1..]))
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
        // "alice:wonder lane": same length, one byte off.
        assert_eq!(
            authenticate(b"Basic YWxpY2U6d29uZGVyIGxhbmU=", &users()),
            None
        );
        assert_eq!(authenticate(b"Bearer YWxpY2U6d29uZGVy", &users()), None);
        assert_eq!(authenticate(b"Basic !!!", &users()), None);
        assert_eq!(authenticate(b"Basic", &users()), None);
    }

    #[test]
    fn base64_edges() {
        let decode = |text: &[u8]| BASIC.decode(text).ok();
        assert_eq!(decode(b"").as_deref(), Some(&b""[..]));
        assert_eq!(decode(b"YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(decode(b"YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(decode(b"YWI=").as_deref(), Some(&b"ab"[..]));
        assert_eq!(decode(b"Y"), None);
        assert_eq!(decode(b"YQ=a"), None);
        assert_eq!(decode(b"YQ==="), None);
        assert_eq!(decode(b"YQ=").as_deref(), Some(&b"a"[..]));
        // Non-zero bits past the last byte: not what any encoder writes.
        assert_eq!(decode(b"YR=="), None);
    }
}
