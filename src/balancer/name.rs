//! Member, route and domain names as every request of an lb carries them: built once per
//! topology and shared, so choosing a member and telling the attempt about it copies a
//! reference count, not a string.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// A name shared by the lb's topology and the requests routed with it (an AJP `route`
/// attribute borrows its bytes). One reference count: every request clones the names of its
/// member and route, and both worker threads write those counts.
#[derive(Debug, Clone, Default)]
pub struct SharedName(Arc<str>);

impl SharedName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name's bytes (for the AJP request; no copy).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl PartialEq for SharedName {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for SharedName {}

impl Hash for SharedName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialOrd for SharedName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SharedName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl Deref for SharedName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SharedName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SharedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for SharedName {
    fn from(name: &str) -> Self {
        SharedName(Arc::from(name))
    }
}

impl From<String> for SharedName {
    fn from(name: String) -> Self {
        SharedName::from(name.as_str())
    }
}

impl From<SharedName> for String {
    fn from(name: SharedName) -> Self {
        name.0.as_ref().to_owned()
    }
}

impl PartialEq<str> for SharedName {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for SharedName {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for SharedName {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<SharedName> for String {
    fn eq(&self, other: &SharedName) -> bool {
        **self == *other.0
    }
}

impl PartialEq<SharedName> for &str {
    fn eq(&self, other: &SharedName) -> bool {
        **self == *other.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_with_strings_and_clones_without_copying() {
        let name = SharedName::from("node1");
        let copy = name.clone();
        assert!(Arc::ptr_eq(&name.0, &copy.0));
        assert_eq!(name.as_bytes().as_ptr(), copy.as_bytes().as_ptr());
        assert_eq!(name.as_bytes(), b"node1");
        assert_eq!(name, "node1");
        assert_eq!(name, *"node1");
        assert_eq!(name, "node1".to_owned());
        assert_eq!(format!("{name}"), "node1");
        assert_eq!(String::from(name), "node1");
    }
}
