//! The status worker's request parameters, read as mod_jk reads them (mod_jk.md §5.1,
//! §5.2): only from the query string, split on `&`, `key=value` pairs percent-decoded
//! (`+` is a space), pairs without `=` or with an empty key ignored, a repeated key keeps
//! its first position and its last value, and `<`, `>`, `?`, `"` replaced by `@` so that
//! nothing echoed back can open markup.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::config::value::c_atoi;

/// `opt` bit: hide the members of lb workers.
pub const OPT_NO_MEMBERS: u32 = 0x0001;
/// `opt` bit: hide the URI mappings.
pub const OPT_NO_MAPS: u32 = 0x0002;
/// `opt` bit: hide the legend (HTML).
pub const OPT_NO_LEGEND: u32 = 0x0004;
/// `opt` bit: hide the lb workers.
pub const OPT_NO_LB: u32 = 0x0008;
/// `opt` bit: hide the plain ajp workers.
pub const OPT_NO_AJP: u32 = 0x0010;
/// `opt` bit: read-only for this request.
pub const OPT_READ_ONLY: u32 = 0x0020;
/// `opt` bit: hide the lb configuration table (HTML).
pub const OPT_NO_LB_CONF: u32 = 0x0040;
/// `opt` bit: hide the lb summary table (HTML).
pub const OPT_NO_LB_SUMMARY: u32 = 0x0080;
/// `opt` bit: hide the ajp/member configuration table (HTML).
pub const OPT_NO_AJP_CONF: u32 = 0x0100;

/// A status worker command (`cmd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Every lb and ajp worker of `worker.list` (the default).
    List,
    /// One worker (`w`), optionally one lb member (`sw`).
    Show,
    /// An HTML form to change a worker.
    Edit,
    /// Apply `v…` parameters.
    Update,
    /// Reset counters and states.
    Reset,
    /// Only the header block.
    Version,
    /// Mark an lb member in ERR for recovery.
    Recover,
    /// The startup configuration.
    Dump,
    /// Where a session id (`sid`) would go now, on lb `w` or on every lb (jkgate's own).
    Route,
    /// jkgate's: release the runtime edits of a worker (`w`) or lb member (`sw`): back to
    /// workers.properties, and forgotten by the state store.
    Revert,
}

impl Command {
    /// Every command, in mod_jk's numeric order (then jkgate's own).
    pub const ALL: [Command; 10] = [
        Command::List,
        Command::Show,
        Command::Edit,
        Command::Update,
        Command::Reset,
        Command::Version,
        Command::Recover,
        Command::Dump,
        Command::Route,
        Command::Revert,
    ];

    /// The command named by `cmd`: absent means `list`; an unknown (or differently cased)
    /// name is `None` ("Invalid command.").
    pub fn parse(value: Option<&str>) -> Option<Command> {
        match value {
            None => Some(Command::List),
            Some(text) => Command::ALL.into_iter().find(|c| c.name() == text),
        }
    }

    /// The name in URLs.
    pub fn name(self) -> &'static str {
        match self {
            Command::List => "list",
            Command::Show => "show",
            Command::Edit => "edit",
            Command::Update => "update",
            Command::Reset => "reset",
            Command::Version => "version",
            Command::Recover => "recover",
            Command::Dump => "dump",
            Command::Route => "route",
            Command::Revert => "revert",
        }
    }

    /// Whether the command changes nothing (allowed in read-only mode).
    pub fn is_read_only(self) -> bool {
        !matches!(
            self,
            Command::Edit | Command::Update | Command::Reset | Command::Recover | Command::Revert
        )
    }

    /// Whether the command needs a worker (`w`) and checks it before running.
    pub fn checks_worker(self) -> bool {
        !matches!(
            self,
            Command::List | Command::Version | Command::Dump | Command::Route
        )
    }

    /// Whether `sw` may contain `*`/`?` wildcards.
    pub fn allows_wildcard(self) -> bool {
        self == Command::Update
    }

    /// Whether the answer starts with the server/time/software header block.
    pub fn has_head(self) -> bool {
        matches!(
            self,
            Command::List | Command::Show | Command::Version | Command::Dump | Command::Route
        )
    }

    /// Whether the answer is only the result (and, for HTML, a redirect).
    pub fn is_action(self) -> bool {
        matches!(
            self,
            Command::Update | Command::Reset | Command::Recover | Command::Revert
        )
    }
}

/// An output format (`mime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mime {
    /// `html` (the default).
    Html,
    /// `xml`.
    Xml,
    /// `txt`: one `Key: k=v …` record per line.
    Txt,
    /// `prop`: Java-properties style `prefix.key=value` lines.
    Prop,
    /// `json` (jkgate's own): the `prop` records as one JSON document.
    Json,
}

impl Mime {
    /// The format named by `mime`: absent means HTML; unknown is `None` ("Invalid mime
    /// type.", which mod_jk then writes in the `prop` format).
    pub fn parse(value: Option<&str>) -> Option<Mime> {
        match value {
            None | Some("html") => Some(Mime::Html),
            Some("xml") => Some(Mime::Xml),
            Some("txt") => Some(Mime::Txt),
            Some("prop") => Some(Mime::Prop),
            Some("json") => Some(Mime::Json),
            Some(_) => None,
        }
    }

    /// The name in URLs.
    pub fn name(self) -> &'static str {
        match self {
            Mime::Html => "html",
            Mime::Xml => "xml",
            Mime::Txt => "txt",
            Mime::Prop => "prop",
            Mime::Json => "json",
        }
    }

    /// The `Content-Type` header value.
    pub fn content_type(self) -> &'static str {
        match self {
            Mime::Html => "text/html",
            Mime::Xml => "text/xml",
            Mime::Txt | Mime::Prop => "text/plain",
            Mime::Json => "application/json",
        }
    }
}

/// The decoded request parameters, in first-seen order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a raw query string (without the `?`).
    pub fn parse(query: Option<&str>) -> Params {
        let mut params = Params::default();
        let Some(query) = query else {
            return params;
        };
        for piece in query.split('&') {
            let Some((key, value)) = piece.split_once('=') else {
                continue;
            };
            let key = sanitize(&percent_decode(key));
            if key.is_empty() {
                continue;
            }
            params.set(key, sanitize(&percent_decode(value)));
        }
        params
    }

    /// Stores `value` under `key`: replaces an earlier value in place, else appends.
    pub fn set(&mut self, key: String, value: String) {
        match self.pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.pairs.push((key, value)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key` read with C's `atoi` (non-numeric text is 0), or `default`
    /// when the key is absent.
    pub fn int(&self, key: &str, default: i64) -> i64 {
        self.get(key).map_or(default, |v| i64::from(c_atoi(v)))
    }

    /// The `opt` bitmask (0 when absent).
    pub fn options(&self) -> u32 {
        // mod_jk reads it with atoi into an int and masks bits: a negative value keeps
        // its two's-complement bits.
        self.int("opt", 0) as i32 as u32
    }

    /// Every pair, in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Percent-decodes `text` (`+` is a space); invalid escapes stay as they are, invalid
/// UTF-8 becomes U+FFFD.
pub fn percent_decode(text: &str) -> String {
    // `+` first: a `%2B` must stay a plus.
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// What query values escape: all but ASCII letters, digits and `-_.~*,`.
const QUERY_ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'*')
    .remove(b',');

/// Percent-encodes `text` for a query string.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, QUERY_ESCAPED).to_string()
}

/// mod_jk's XSS guard: `<`, `>`, `?` and `"` become `@`.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if matches!(c, '<' | '>' | '?' | '"') {
                '@'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_and_escaping() {
        let p = Params::parse(Some("a=1&&=x&noeq&w=a%20b+c&w=%3Cscript%3E&sw=%zz%4"));
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("w"), Some("@script@"));
        assert_eq!(p.get("sw"), Some("%zz%4"));
        assert_eq!(p.get("noeq"), None);
        let keys: Vec<&str> = p.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "w", "sw"]);
        assert_eq!(percent_decode("x%2"), "x%2");
        assert_eq!(percent_decode("%41%"), "A%");
        assert_eq!(percent_decode("a+b%2B%2b%%41%c3%a9%ff"), "a b++%Aé\u{fffd}");
    }

    #[test]
    fn encoding_keeps_unreserved_characters() {
        assert_eq!(encode("a-b_c.d~e*f,g"), "a-b_c.d~e*f,g");
        assert_eq!(encode("a b+c&d=é/%"), "a%20b%2Bc%26d%3D%C3%A9%2F%25");
    }

    #[test]
    fn commands_and_mimes() {
        assert_eq!(Command::parse(None), Some(Command::List));
        assert_eq!(Command::parse(Some("LIST")), None);
        assert_eq!(Mime::parse(Some("prop")), Some(Mime::Prop));
        assert_eq!(Mime::parse(Some("json")), Some(Mime::Json));
        assert_eq!(Mime::parse(Some("JSON")), None);
        assert_eq!(Command::parse(Some("route")), Some(Command::Route));
        assert_eq!(Params::parse(Some("opt=-1")).options(), u32::MAX);
    }
}
