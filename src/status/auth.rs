//! Who may use a status worker (mod_jk.md §2.5, §5.1).
//!
//! mod_jk trusts httpd's `remote_user`; jkgate authenticates by itself: HTTP Basic
//! credentials checked against the users of jkgate.ini's `AuthUserFile` (an htpasswd file,
//! hashed passwords) and `[status_users]` (`user = password`, plain text, kept for
//! compatibility). The authenticated name must then be in the worker's `user` list
//! (exactly, or ignoring ASCII case with `user_case_insensitive`). A worker without a
//! `user` list is open to anyone (IP rules of `[access]` are checked before, by the server).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use subtle::ConstantTimeEq;

use super::password;
use crate::config::StatusSettings;
use crate::config::htpasswd::StatusUser;

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
    users: &[StatusUser],
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
/// matches. The first user of that name is the one checked (`[status_users]` before the
/// `AuthUserFile`); every name is compared in constant time, so timing does not tell which
/// names exist before the password check.
pub fn authenticate(header: &[u8], users: &[StatusUser]) -> Option<String> {
    let header = header.trim_ascii();
    let (scheme, encoded) = split_once_space(header)?;
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let decoded = BASIC.decode(encoded.trim_ascii()).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let (name, password) = (&decoded[..colon], &decoded[colon + 1..]);
    let mut found: Option<&StatusUser> = None;
    for user in users {
        if bool::from(user.name.as_bytes().ct_eq(name)) && found.is_none() {
            found = Some(user);
        }
    }
    let user = found?;
    password::verify(&user.credential, password).then(|| user.name.clone())
}

fn split_once_space(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == b' ' || b == b'\t')?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Vec<StatusUser> {
        [("alice", "wonder land"), ("bob", "b:ob")]
            .into_iter()
            .map(|(name, password)| StatusUser {
                name: name.to_owned(),
                credential: crate::config::htpasswd::Credential::Plain(password.to_owned()),
                origin: None,
            })
            .collect()
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
