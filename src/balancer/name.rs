//! Member, route and domain names as every request of an lb carries them: built once per
//! topology and shared, so choosing a member and telling the attempt about it copies a
//! reference count, not a string.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A name shared by the lb's topology and the requests routed with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SharedName(Arc<str>);

impl SharedName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
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
        SharedName(Arc::from(name))
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
        assert_eq!(name, "node1");
        assert_eq!(name, *"node1");
        assert_eq!(name, "node1".to_owned());
        assert_eq!(format!("{name}"), "node1");
        assert_eq!(String::from(name), "node1");
    }
}
