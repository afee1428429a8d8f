//! Password checks for the status worker's users, in every scheme httpd's `htpasswd`
//! writes.
//!
//! bcrypt, SHA-256/512 crypt, glibc MD5 crypt and DES crypt are `pwhash`'s. Two schemes are
//! Apache's own and no maintained crate verifies them, so they are here: APR1 (`$apr1$`,
//! the MD5 crypt algorithm with Apache's magic string, `htpasswd -m`) on RustCrypto's
//! `md-5`, and `{SHA}` (base64 of an unsalted SHA-1, `htpasswd -s`) on `sha1`.

use base64::Engine as _;
use md5::{Digest as _, Md5};
use subtle::ConstantTimeEq;

use crate::config::htpasswd::{Credential, HashScheme};

/// Whether `password` matches `credential`.
pub fn verify(credential: &Credential, password: &[u8]) -> bool {
    match credential {
        Credential::Plain(expected) => bool::from(expected.as_bytes().ct_eq(password)),
        Credential::Hashed { scheme, hash } => match scheme {
            HashScheme::Bcrypt
            | HashScheme::Md5Crypt
            | HashScheme::Sha256Crypt
            | HashScheme::Sha512Crypt
            | HashScheme::DesCrypt => pwhash::unix::verify(password, hash),
            HashScheme::Apr1 => apr1_verify(password, hash),
            HashScheme::Sha1 => {
                let digest = sha1::Sha1::digest(password);
                let encoded = base64::engine::general_purpose::STANDARD.encode(digest);
                let stored = hash.strip_prefix("{SHA}").unwrap_or(hash);
                bool::from(encoded.as_bytes().ct_eq(stored.as_bytes()))
            }
        },
    }
}

/// The alphabet of crypt's base64.
const CRYPT64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `$apr1$SALT$CHECKSUM`: checks `password` against it.
fn apr1_verify(password: &[u8], hash: &str) -> bool {
    let Some(rest) = hash.strip_prefix("$apr1$") else {
        return false;
    };
    let Some((salt, _)) = rest.split_once('$') else {
        return false;
    };
    // Apache reads at most 8 salt characters.
    let salt = &salt.as_bytes()[..salt.len().min(8)];
    let computed = apr1(password, salt);
    bool::from(computed.as_bytes().ct_eq(hash.as_bytes()))
}

/// The APR1 hash of `password` with `salt` (the MD5 crypt algorithm, magic `$apr1$`).
fn apr1(password: &[u8], salt: &[u8]) -> String {
    const MAGIC: &[u8] = b"$apr1$";
    let alternate = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut context = Md5::new()
        .chain_update(password)
        .chain_update(MAGIC)
        .chain_update(salt);
    let mut left = password.len();
    while left > 0 {
        let take = left.min(16);
        context.update(&alternate[..take]);
        left -= take;
    }
    let mut bits = password.len();
    while bits > 0 {
        if bits & 1 == 1 {
            context.update([0u8]);
        } else {
            context.update(&password[..1]);
        }
        bits >>= 1;
    }
    let mut digest = context.finalize();
    for round in 0..1000 {
        let mut step = Md5::new();
        if round % 2 == 1 {
            step.update(password);
        } else {
            step.update(digest);
        }
        if round % 3 != 0 {
            step.update(salt);
        }
        if round % 7 != 0 {
            step.update(password);
        }
        if round % 2 == 1 {
            step.update(digest);
        } else {
            step.update(password);
        }
        digest = step.finalize();
    }
    let mut out = String::with_capacity(37);
    out.push_str("$apr1$");
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    let mut push = |value: u32, chars: usize| {
        let mut value = value;
        for _ in 0..chars {
            out.push(char::from(CRYPT64[(value & 0x3f) as usize]));
            value >>= 6;
        }
    };
    let d = |i: usize| u32::from(digest[i]);
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        push((d(a) << 16) | (d(b) << 8) | d(c), 4);
    }
    push(d(11), 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashed(hash: &str) -> Credential {
        Credential::Hashed {
            scheme: HashScheme::of(hash).expect("known scheme"),
            hash: hash.to_owned(),
        }
    }

    #[test]
    fn published_vectors() {
        // (hash, its password): the APR1 one is htpasswd-verify's documented example, the
        // bcrypt one pwhash's, the {SHA} one is base64(SHA-1("password")).
        let cases = [
            ("$apr1$lZL6V/ci$eIMz/iKDkbtys/uU7LEK00", "password"),
            ("$apr1$RandSalt$PgCXHRrkpSt4cbyC2C6bm/", "password"),
            (
                "$2y$05$bvIG6Nmid91Mu9RcmmWZfO5HJIMCT8riNW0hEp8f6/FuA2/mHZFpe",
                "password",
            ),
            ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "password"),
            ("$1$5pZSV9va$azfrPr6af3Fc7dLblQXVa0", "password"),
        ];
        for (hash, password) in cases {
            let credential = hashed(hash);
            assert!(verify(&credential, password.as_bytes()), "{hash}");
            assert!(!verify(&credential, b"passwore"), "{hash}");
            assert!(!verify(&credential, b""), "{hash}");
        }
    }

    #[test]
    fn plain_and_broken_hashes() {
        assert!(verify(&Credential::Plain("s3cret".into()), b"s3cret"));
        assert!(!verify(&Credential::Plain("s3cret".into()), b"s3creT"));
        for broken in ["$apr1$nosalt", "$2y$05$short", "$6$", "{SHA}", "$5$x"] {
            assert!(!verify(&hashed(broken), b"password"), "{broken}");
        }
    }
}
