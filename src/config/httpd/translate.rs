//! httpd directives into jkgate.ini: what carries over, and for the rest, why not.
//!
//! | httpd | jkgate.ini |
//! |---|---|
//! | `Listen [addr:]port [https]` | `Listen =`, or `[tls] Listen =` when `https` is written or an `SSLEngine on` vhost answers on that port |
//! | `ServerName`, `ServerRoot` | the same (ServerRoot made absolute; relative paths below it stay as written) |
//! | `<VirtualHost addr...>` | `[vhost NAME]` with `VirtualHost = addr...`, `ServerName`, `ServerAlias` |
//! | `SSLCertificateFile`, `SSLCertificateKeyFile` | `Certificate`, `Key` (in `[tls]` or the vhost) |
//! | `JkMount`/`JkUnMount` (also in `<Location>`) | mount lines `/path = worker`, `!/path = worker` |
//! | `JkMountCopy On/Off` (vhost), `All` (top) | the same |
//! | `JkWorkersFile`, `JkMountFile`, `JkMountFileReload`, `JkLogFile`, `JkLogLevel`, `JkRequestLogFormat`, `JkOptions`, `JkStripSession`, `JkWatchdogInterval` | the same, at the top level |
//! | `JkEnvVar NAME value` | `[env] NAME = value` |
//! | `KeepAlive Off`, `KeepAliveTimeout`, `LimitRequest*`, `RequestReadTimeout`, `GracefulShutdownTimeout` | the same |
//!
//! | `RemoteIPHeader`, `RemoteIPTrustedProxy`, `RemoteIPInternalProxy`, `RemoteIPProxiesHeader` (main server) | the same, at the top level |
//! | `Require ip`, `Require not ip`, `Require all granted/denied`, `Require local` in a main-server `<Location /p>` | `[access]` `/p = Require ...` |
//!
//! jkgate's RemoteIP settings and `[access]` rules are global, so the same lines inside a
//! `<VirtualHost>` are listed with that reason; `RemoteIPProxyProtocol` is per listen address
//! in jkgate and is listed with what to write.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::tree::{Directive, ReadNote};
use crate::config::Origin;
use crate::config::ini::{JkOptions, LogLevel, RequestLogFormat, parse_strip_session};
use crate::config::vhost::VhostAddress;

/// A directive that was read but is not in the written jkgate.ini.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Where it was written.
    pub origin: Origin,
    /// The directive (or `<Section>`) with its arguments, as read.
    pub directive: String,
    /// Why it has no place in jkgate.ini.
    pub reason: String,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.origin, self.directive, self.reason)
    }
}

/// The written jkgate.ini and what was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// The jkgate.ini text (what was left out is listed at its end as comments).
    pub ini: String,
    /// Every directive not carried over, in file order.
    pub skipped: Vec<Skipped>,
    /// What the reader noted (undefined `${NAME}`, left-out `<IfModule !...>` blocks).
    pub notes: Vec<ReadNote>,
}

/// One `<VirtualHost>` as it will be written.
#[derive(Default)]
struct Vhost {
    origin: Option<Origin>,
    addresses: Vec<String>,
    server_name: Option<String>,
    aliases: Vec<String>,
    certificate: Option<String>,
    key: Option<String>,
    ssl: bool,
    mount_copy: Option<String>,
    mount_file: Option<String>,
    mounts: Vec<(String, String, Origin)>,
}

/// Everything gathered from the directives.
#[derive(Default)]
struct Out {
    top: Vec<(&'static str, String)>,
    options: Vec<String>,
    listens: Vec<(String, bool)>,
    main_ssl: bool,
    certificate: Option<String>,
    key: Option<String>,
    mounts: Vec<(String, String, Origin)>,
    env: Vec<(String, String)>,
    /// `[access]` lines: a main-server location's path and its `Require ...` rule.
    access: Vec<(String, String)>,
    vhosts: Vec<Vhost>,
    skipped: Vec<Skipped>,
}

impl Out {
    fn set(&mut self, key: &'static str, value: String) {
        self.top.retain(|(k, _)| *k != key);
        self.top.push((key, value));
    }

    fn skip(&mut self, d: &Directive, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            origin: d.origin.clone(),
            directive: shown(d),
            reason: reason.into(),
        });
    }

    /// Adds `value` to a top-level key whose lines add up (RemoteIPTrustedProxy, ...).
    fn append(&mut self, key: &'static str, value: String) {
        match self.top.iter_mut().find(|(k, _)| *k == key) {
            Some((_, existing)) => {
                existing.push(' ');
                existing.push_str(&value);
            }
            None => self.top.push((key, value)),
        }
    }
}

/// The directive as the operator wrote it (sections as `<Name args>`).
fn shown(d: &Directive) -> String {
    let args = d.args.join(" ");
    match (&d.children, args.is_empty()) {
        (Some(_), true) => format!("<{}>", d.name),
        (Some(_), false) => format!("<{} {args}>", d.name),
        (None, true) => d.name.clone(),
        (None, false) => format!("{} {args}", d.name),
    }
}

const REQUIRE_OUTSIDE_LOCATION: &str = "jkgate's [access] rules belong to a location or a worker: put the Require line in a <Location> (or write `worker:NAME = Require ...` in [access])";
const VHOST_GLOBAL_ACCESS: &str = "jkgate's [access] rules and RemoteIP settings are global, not per vhost: write them at the top level if they may apply to every host";
const PROXY_PROTOCOL: &str = "the PROXY protocol is per listen address in jkgate: write `RemoteIPProxyProtocol = ADDRESS` with the Listen address that receives the headers";

/// The `Require` forms jkgate's `[access]` rules take (httpd's mod_authz_host and
/// mod_authz_core): `ip`, `not ip`, `all granted|denied`, `local`.
fn access_rule(args: &[String]) -> Option<String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let fits = match words.as_slice() {
        ["ip", _, ..] | ["not", "ip", _, ..] | ["local"] => true,
        ["all", what] => {
            what.eq_ignore_ascii_case("granted") || what.eq_ignore_ascii_case("denied")
        }
        _ => false,
    };
    fits.then(|| format!("Require {}", words.join(" ")))
}

/// A RemoteIP directive of the main server into its top-level key.
fn remote_ip_directive(out: &mut Out, d: &Directive, name: &str) {
    match name {
        "remoteipheader" => top_value(out, d, "RemoteIPHeader"),
        "remoteipproxiesheader" => top_value(out, d, "RemoteIPProxiesHeader"),
        "remoteiptrustedproxy" => out.append("RemoteIPTrustedProxy", d.args.join(" ")),
        "remoteipinternalproxy" => out.append("RemoteIPInternalProxy", d.args.join(" ")),
        "remoteipproxyprotocol" => out.skip(d, PROXY_PROTOCOL),
        "remoteiptrustedproxylist" | "remoteipinternalproxylist" => out.skip(
            d,
            "jkgate reads no address list files: copy the addresses into RemoteIPTrustedProxy or RemoteIPInternalProxy",
        ),
        _ => out.skip(d, reason_for(&d.name)),
    }
}

/// Why a directive jkgate has no key for is not needed, or what to do instead.
fn reason_for(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let text = match lower.as_str() {
        "loadmodule" | "loadfile" => "jkgate has what it needs built in; nothing to load",
        "user" | "group" => "run jkgate as that user (the systemd unit's User=/Group=)",
        "pidfile" => "jkgate does not write a PID file; systemd (or your supervisor) tracks it",
        "documentroot"
        | "alias"
        | "scriptalias"
        | "directoryindex"
        | "options"
        | "allowoverride"
        | "accessfilename"
        | "addtype"
        | "addhandler"
        | "typesconfig"
        | "addcharset"
        | "adddefaultcharset"
        | "addoutputfilterbytype"
        | "expiresactive"
        | "expiresbytype"
        | "expiresdefault"
        | "indexoptions"
        | "addicon"
        | "addiconbytype"
        | "addiconbyencoding"
        | "defaulticon"
        | "readmename"
        | "headername"
        | "indexignore"
        | "addlanguage"
        | "languagepriority"
        | "forcelanguagepriority"
        | "mimemagicfile" => {
            "jkgate serves no files of its own: every request it does not mount gets 404"
        }
        "errorlog" => {
            "jkgate has one error log: JkLogFile (set it if the mod_jk log was not your error log)"
        }
        "loglevel" => "jkgate's log level is JkLogLevel",
        "customlog" | "transferlog" | "logformat" => {
            "jkgate's access log is AccessLog with JkRequestLogFormat's items (see docs/migration.md)"
        }
        "timeout" => {
            "client timeouts are RequestReadTimeout and KeepAliveTimeout; backend timeouts are the workers' socket_timeout, reply_timeout"
        }
        "maxrequestworkers"
        | "maxclients"
        | "startservers"
        | "minspareservers"
        | "maxspareservers"
        | "minsparethreads"
        | "maxsparethreads"
        | "threadsperchild"
        | "serverlimit"
        | "threadlimit"
        | "maxconnectionsperchild"
        | "maxrequestsperchild"
        | "threadstacksize"
        | "asyncrequestworkerfactor"
        | "listenbacklog" => {
            "jkgate is one asynchronous process without worker pools; MaxConnections bounds the open client connections"
        }
        "maxkeepaliverequests" => "jkgate does not cap the requests of a keep-alive connection",
        "hostnamelookups" | "usecanonicalname" | "serversignature" | "servertokens"
        | "serveradmin" | "traceenable" | "enablesendfile" | "enablemmap" | "mutex"
        | "defaultruntimedir" | "scoreboardfile" | "coredumpdirectory" | "errordocument"
        | "fileetag" | "acceptfilter" | "protocols" => {
            "an httpd server setting jkgate has no counterpart for (it serves no content itself)"
        }
        "jkshmfile" | "jkshmsize" => {
            "jkgate keeps the lb state in its one process: no shared memory file is needed"
        }
        "jkautoalias" => "jkgate serves no files: there is no context directory to alias",
        "jkworkerindicator"
        | "jkremoteaddrindicator"
        | "jkremoteportindicator"
        | "jkremotehostindicator"
        | "jkremoteuserindicator"
        | "jkauthtypeindicator"
        | "jklocalnameindicator"
        | "jklocalportindicator"
        | "jklocaladdrindicator"
        | "jkignoreclindicator"
        | "jksslprotocolindicator"
        | "jkhttpsindicator"
        | "jkcertsindicator"
        | "jkcipherindicator"
        | "jkcertchainprefix"
        | "jksessionindicator"
        | "jkkeysizeindicator"
        | "jkrequestidindicator" => {
            "mod_jk reads these from httpd's environment (set by other modules); jkgate has no environment of request variables"
        }
        "jklogstampformat" => "jkgate's log lines carry their own time stamps (RFC 3339)",
        "jkextractssl" => {
            "jkgate always forwards the TLS facts (cipher, key size, session, client chain), as JkExtractSSL On"
        }
        "jklogfilename" => "not a mod_jk directive",
        "sethandler" => {
            "mod_jk's handler mapping by environment (JK_WORKER_NAME) has no jkgate equivalent: mount the path with a JkMount"
        }
        "setenv" | "setenvif" | "setenvifnocase" | "browsermatch" | "unsetenv" | "passenv" => {
            "jkgate has no environment of request variables; [env] sends fixed attributes"
        }
        "rewriteengine" | "rewriterule" | "rewritecond" | "rewritemap" | "rewritebase"
        | "rewriteoptions" | "redirect" | "redirectmatch" | "redirectpermanent"
        | "redirecttemp" => {
            "jkgate does not rewrite or redirect URLs: do it in Tomcat (RewriteValve) or in front of jkgate"
        }
        "header" | "requestheader" => "jkgate does not edit headers",
        "proxypass" | "proxypassreverse" | "proxypreservehost" | "proxyrequests"
        | "proxytimeout" | "proxyset" | "balancermember" => {
            "mod_proxy directives: jkgate relays to AJP workers only (write them in workers.properties)"
        }
        "sslprotocol"
        | "sslciphersuite"
        | "sslhonorcipherorder"
        | "sslcompression"
        | "sslsessiontickets"
        | "sslopensslconfcmd"
        | "sslsessioncache"
        | "sslsessioncachetimeout"
        | "sslrandomseed"
        | "sslpassphrasedialog"
        | "sslstaplingcache"
        | "sslusestapling"
        | "sslcryptodevice"
        | "sslinsecurerenegotiation"
        | "sslstrictsnivhostcheck"
        | "ssloptions" => {
            "jkgate uses rustls' safe defaults (TLS 1.2 and 1.3, modern ciphers); there is nothing to set"
        }
        "sslcertificatechainfile" => {
            "append the chain to the certificate file: jkgate's Certificate holds the certificate, then its chain"
        }
        "sslverifyclient" | "sslverifydepth" | "sslcacertificatefile" | "sslcacertificatepath" => {
            "client certificates: set [tls] ClientCA (jkgate asks for a certificate and forwards it, like SSLVerifyClient optional)"
        }
        "keepalive" => "carried over",
        "serveralias" => "ServerAlias belongs in a <VirtualHost> (httpd refuses it elsewhere)",
        "addoutputfilter" | "setoutputfilter" | "setinputfilter" | "deflatecompressionlevel" => {
            "jkgate does not filter or compress bodies"
        }
        _ => "no jkgate equivalent",
    };
    text.to_owned()
}

/// Translates `directives` (the whole configuration, read) into jkgate.ini text.
pub(crate) fn translate(
    directives: &[Directive],
    server_root: &Path,
    files: &[PathBuf],
    notes: Vec<ReadNote>,
) -> Imported {
    let mut out = Out::default();
    for d in directives {
        main_directive(&mut out, d);
    }
    drop_unknown_workers(&mut out, server_root);
    let ini = render(&out, server_root, files);
    Imported {
        ini,
        skipped: out.skipped,
        notes,
    }
}

fn first(d: &Directive) -> Option<&str> {
    d.args.first().map(String::as_str)
}

fn is_on(d: &Directive) -> bool {
    first(d).is_some_and(|v| v.eq_ignore_ascii_case("on"))
}

/// A directive of the main server (outside any `<VirtualHost>`).
fn main_directive(out: &mut Out, d: &Directive) {
    let name = d.name.to_ascii_lowercase();
    if let Some(children) = &d.children {
        match name.as_str() {
            "virtualhost" => virtual_host(out, d, children),
            "location" | "locationmatch" => {
                let mut mounts = Vec::new();
                location(out, d, children, &mut mounts, false);
                out.mounts.extend(mounts);
            }
            _ => section_skipped(out, d, children),
        }
        return;
    }
    if common_directive(out, d, &name) {
        return;
    }
    match name.as_str() {
        "servername" => match first(d) {
            Some(value) => out.set("ServerName", server_name(value)),
            None => out.skip(d, "ServerName needs a name"),
        },
        "serverroot" => {} // written as the ini's ServerRoot
        "listen" => match first(d) {
            Some(addr) if out.listens.iter().any(|(a, _)| a == addr) => out.skip(
                d,
                "the same address is already listened on (httpd refuses a second Listen for it)",
            ),
            Some(addr) => {
                let https = d
                    .args
                    .get(1)
                    .is_some_and(|p| p.eq_ignore_ascii_case("https"));
                out.listens.push((addr.to_owned(), https));
            }
            None => out.skip(d, "Listen needs an address"),
        },
        "sslengine" => out.main_ssl = is_on(d),
        "sslcertificatefile" => out.certificate = first(d).map(str::to_owned),
        "sslcertificatekeyfile" => out.key = first(d).map(str::to_owned),
        "jkmount" | "jkunmount" => mount_directive(out, d, None, MountPlace::Main),
        "jkmountcopy" => match first(d) {
            Some(v) if v.eq_ignore_ascii_case("all") => out.set("JkMountCopy", "All".to_owned()),
            _ => out.skip(
                d,
                "outside a <VirtualHost> only `JkMountCopy All` means something (as in mod_jk)",
            ),
        },
        "jkmountfile" => top_value(out, d, "JkMountFile"),
        "jkenvvar" => match (d.args.first(), d.args.get(1)) {
            (Some(var), Some(value)) => out.env.push((var.clone(), value.clone())),
            _ => out.skip(
                d,
                "JkEnvVar without a value sends httpd's environment variable of that name; jkgate has no request environment ([env] sends fixed values)",
            ),
        },
        _ => out.skip(d, reason_for(&d.name)),
    }
}

/// Directives whose jkgate key is global: carried from the main server; in a vhost only
/// reported. Returns whether `d` was one of them.
fn common_directive(out: &mut Out, d: &Directive, name: &str) -> bool {
    match name {
        "jkworkersfile" => top_value(out, d, "JkWorkersFile"),
        "jkmountfilereload" => top_value(out, d, "JkMountFileReload"),
        "jkloglevel" => match first(d).map(LogLevel::parse) {
            Some(Ok(_)) => top_value(out, d, "JkLogLevel"),
            Some(Err(e)) => out.skip(d, e.to_string()),
            None => out.skip(d, "JkLogLevel needs a level"),
        },
        "jklogfile" => match first(d) {
            Some(pipe) if pipe.starts_with('|') => out.skip(
                d,
                "piped logs: jkgate writes the file itself and reopens it on SIGUSR1 (logrotate), or logs to standard error for journald",
            ),
            Some(_) => top_value(out, d, "JkLogFile"),
            None => out.skip(d, "JkLogFile needs a file"),
        },
        "jkrequestlogformat" => match first(d).map(RequestLogFormat::parse) {
            Some(Ok(_)) => top_value(out, d, "JkRequestLogFormat"),
            Some(Err(e)) => out.skip(d, e.to_string()),
            None => out.skip(d, "JkRequestLogFormat needs a format"),
        },
        "jkoptions" => {
            let words = d.args.join(" ");
            match JkOptions::parse(&words) {
                Ok(_) => out.options.push(words),
                Err(e) => out.skip(d, e.to_string()),
            }
        }
        "jkstripsession" => match parse_strip_session(&d.args.join(" ")) {
            Ok(_) => out.set("JkStripSession", d.args.join(" ")),
            Err(e) => out.skip(d, e.to_string()),
        },
        "jkwatchdoginterval" => top_value(out, d, "JkWatchdogInterval"),
        "keepalive" => {
            if first(d).is_some_and(|v| v.eq_ignore_ascii_case("off")) {
                out.set("KeepAliveTimeout", "0".to_owned());
            }
        }
        "keepalivetimeout" => top_value(out, d, "KeepAliveTimeout"),
        "limitrequestline" => top_value(out, d, "LimitRequestLine"),
        "limitrequestfieldsize" => top_value(out, d, "LimitRequestFieldSize"),
        "limitrequestfields" => top_value(out, d, "LimitRequestFields"),
        "limitrequestbody" => top_value(out, d, "LimitRequestBody"),
        "requestreadtimeout" => out.set("RequestReadTimeout", d.args.join(" ")),
        "gracefulshutdowntimeout" => top_value(out, d, "GracefulShutdownTimeout"),
        "require" => out.skip(d, REQUIRE_OUTSIDE_LOCATION),
        other if other.starts_with("remoteip") => remote_ip_directive(out, d, other),
        _ => return false,
    }
    true
}

fn top_value(out: &mut Out, d: &Directive, key: &'static str) {
    match first(d) {
        Some(value) => out.set(key, value.to_owned()),
        None => out.skip(d, format!("{} needs a value", d.name)),
    }
}

/// `https://name:port` → `name:port` (httpd accepts a scheme in ServerName).
fn server_name(value: &str) -> String {
    let value = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .unwrap_or(value);
    value.to_owned()
}

fn section_skipped(out: &mut Out, d: &Directive, children: &[Directive]) {
    let what = match d.name.to_ascii_lowercase().as_str() {
        "directory" | "directorymatch" | "files" | "filesmatch" => {
            "jkgate serves no files: a file or directory section has nothing to apply to"
        }
        "proxy" | "proxymatch" => "mod_proxy: jkgate relays to AJP workers only",
        "limit" | "limitexcept" | "requireall" | "requireany" | "requirenone" => {
            "jkgate's [access] rules take plain Require lines of a <Location> (ip, not ip, all, local), not method limits or Require containers"
        }
        "if" | "elseif" | "else" => "jkgate has no expression conditions",
        _ => "no jkgate equivalent",
    };
    out.skip(
        d,
        format!(
            "{what} ({} directive{} inside, not carried over)",
            children.len(),
            if children.len() == 1 { "" } else { "s" }
        ),
    );
}

/// Where a JkMount stands.
#[derive(Clone, Copy)]
enum MountPlace {
    Main,
    Vhost,
}

/// `JkMount path worker` / `JkUnMount path worker` outside a `<Location>`, or
/// `JkMount worker` inside one (`location` is its path).
fn mount_directive(out: &mut Out, d: &Directive, location: Option<&str>, place: MountPlace) {
    let unmount = d.is("JkUnMount");
    let (path, worker) = match (location, d.args.as_slice()) {
        (None, [path, worker]) => (path.as_str(), worker.as_str()),
        (Some(path), [worker]) => (path, worker.as_str()),
        (None, [_]) => {
            return out.skip(
                d,
                format!(
                    "{} needs a path when not in a <Location> (mod_jk refuses it too)",
                    d.name
                ),
            );
        }
        (Some(_), [_, _]) => {
            return out.skip(
                d,
                format!(
                    "{} cannot have a path inside a <Location> (mod_jk refuses it too)",
                    d.name
                ),
            );
        }
        _ => return out.skip(d, format!("{} takes a path and a worker", d.name)),
    };
    if !path.starts_with('/') {
        return out.skip(
            d,
            format!("the path `{path}` does not start with `/` (mod_jk refuses it too)"),
        );
    }
    let pattern = if unmount {
        format!("!{path}")
    } else {
        path.to_owned()
    };
    let mount = (pattern, worker.to_owned(), d.origin.clone());
    match place {
        MountPlace::Main => out.mounts.push(mount),
        MountPlace::Vhost => {
            if let Some(vhost) = out.vhosts.last_mut() {
                vhost.mounts.push(mount);
            }
        }
    }
}

/// A `<Location>` or `<LocationMatch>`: its JkMount/JkUnMount lines become mounts of its
/// path; the rest is reported.
fn location(
    out: &mut Out,
    d: &Directive,
    children: &[Directive],
    mounts: &mut Vec<(String, String, Origin)>,
    in_vhost: bool,
) {
    let Some(path) = first(d) else {
        return out.skip(d, "a location section needs a path");
    };
    if d.is("LocationMatch") && !path.starts_with('/') {
        return section_skipped_with(
            out,
            d,
            children,
            "mod_jk takes a <LocationMatch> regular expression as a literal path, which must start with `/` (httpd refuses this one at start); rewrite it as a JkMount wildcard",
        );
    }
    for child in children {
        if child.is("JkMount") || child.is("JkUnMount") {
            let before = out.mounts.len();
            mount_directive(out, child, Some(path), MountPlace::Main);
            // Collected for the caller (main server or vhost).
            mounts.extend(out.mounts.drain(before..));
        } else if child.is("Require") {
            match access_rule(&child.args) {
                _ if in_vhost => out.skip(child, VHOST_GLOBAL_ACCESS),
                _ if d.is("LocationMatch") => out.skip(
                    child,
                    "jkgate's [access] paths are prefixes and wildcards, not regular expressions: write the rule for the paths it means",
                ),
                Some(rule) => out.access.push((path.to_owned(), rule)),
                None => out.skip(
                    child,
                    "jkgate's [access] rules take Require ip, not ip, all granted/denied and local; for users, the status worker has AuthUserFile",
                ),
            }
        } else if child.name.to_ascii_lowercase().starts_with("remoteip") {
            out.skip(child, "RemoteIP settings are global in jkgate (and in httpd they are not per location): set them at the top level");
        } else if let Some(grand) = &child.children {
            section_skipped(out, child, grand);
        } else {
            out.skip(child, reason_for(&child.name));
        }
    }
    if d.is("LocationMatch") {
        out.skip(
            d,
            "its JkMount lines were carried over with the regular expression as a literal path, as mod_jk does; check that this is what you meant",
        );
    }
}

fn section_skipped_with(out: &mut Out, d: &Directive, children: &[Directive], why: &str) {
    out.skip(
        d,
        format!(
            "{why} ({} directives inside, not carried over)",
            children.len()
        ),
    );
}

/// A `<VirtualHost>` section.
fn virtual_host(out: &mut Out, d: &Directive, children: &[Directive]) {
    let mut addresses = Vec::new();
    for address in &d.args {
        if VhostAddress::parse(address).is_ok() {
            addresses.push(address.clone());
            continue;
        }
        // A host name: httpd resolves it once at start and answers on those addresses.
        // jkgate takes IP addresses only; `*` on the same port keeps the vhost reachable.
        let port = address
            .rsplit_once(':')
            .map(|(_, p)| p)
            .filter(|p| *p == "*" || p.parse::<u16>().is_ok());
        let wildcard = match port {
            Some(port) => format!("*:{port}"),
            None => "*".to_owned(),
        };
        out.skip(
            d,
            format!(
                "the address `{address}` is a host name (httpd resolves it at start); written as `{wildcard}`: give the IP address if the vhost must answer on that address only"
            ),
        );
        addresses.push(wildcard);
    }
    out.vhosts.push(Vhost {
        origin: Some(d.origin.clone()),
        addresses,
        ..Vhost::default()
    });
    for child in children {
        let name = child.name.to_ascii_lowercase();
        if let Some(grand) = &child.children {
            if name == "location" || name == "locationmatch" {
                let mut mounts = Vec::new();
                location(out, child, grand, &mut mounts, true);
                if let Some(vhost) = out.vhosts.last_mut() {
                    vhost.mounts.extend(mounts);
                }
            } else {
                section_skipped(out, child, grand);
            }
            continue;
        }
        let vhost = out.vhosts.last_mut().expect("pushed above");
        match name.as_str() {
            "servername" => vhost.server_name = first(child).map(server_name),
            "serveralias" => vhost.aliases.extend(child.args.iter().cloned()),
            "sslengine" => vhost.ssl = is_on(child),
            "sslcertificatefile" => vhost.certificate = first(child).map(str::to_owned),
            "sslcertificatekeyfile" => vhost.key = first(child).map(str::to_owned),
            "jkmountcopy" => match first(child) {
                Some(v) if v.eq_ignore_ascii_case("on") || v.eq_ignore_ascii_case("off") => {
                    vhost.mount_copy = Some(if v.eq_ignore_ascii_case("on") {
                        "On".to_owned()
                    } else {
                        "Off".to_owned()
                    });
                }
                _ => out.skip(
                    child,
                    "in a <VirtualHost>, JkMountCopy is On or Off (mod_jk refuses All here)",
                ),
            },
            "jkmountfile" => vhost.mount_file = first(child).map(str::to_owned),
            "jkmount" | "jkunmount" => mount_directive(out, child, None, MountPlace::Vhost),
            "require" => out.skip(child, VHOST_GLOBAL_ACCESS),
            other if other.starts_with("remoteip") => out.skip(child, VHOST_GLOBAL_ACCESS),
            "jkworkersfile" | "jkmountfilereload" | "jkloglevel" | "jklogfile"
            | "jkrequestlogformat" | "jkoptions" | "jkstripsession" | "jkenvvar"
            | "keepalive" | "keepalivetimeout" | "limitrequestline" | "limitrequestfieldsize"
            | "limitrequestfields" | "limitrequestbody" | "requestreadtimeout" => out.skip(
                child,
                format!(
                    "jkgate has one {} for every vhost: set it at the top level (the main server's value applies here)",
                    child.name
                ),
            ),
            _ => out.skip(child, reason_for(&child.name)),
        }
    }
}

/// Leaves out the mounts whose worker is not in the workers file's `worker.list` (when
/// the file can be read): mod_jk starts with them and answers their requests with 500;
/// jkgate refuses them at start, so they are reported instead.
fn drop_unknown_workers(out: &mut Out, server_root: &Path) {
    let Some(file) = out
        .top
        .iter()
        .find(|(k, _)| *k == "JkWorkersFile")
        .map(|(_, v)| crate::config::ini::resolve_path(server_root, v))
    else {
        return;
    };
    let root = server_root.display().to_string();
    let Ok(workers) =
        crate::config::load_workers_properties_seeded(&file, &[("ServerRoot", &root)])
    else {
        return;
    };
    let known = |worker: &str| {
        let name = worker.split(';').next().unwrap_or(worker).trim();
        name == "*" || workers.config.get(name).is_some()
    };
    let mut dropped = Vec::new();
    let mut keep = |mounts: &mut Vec<(String, String, Origin)>| {
        mounts.retain(|(pattern, worker, origin)| {
            if known(worker) {
                return true;
            }
            dropped.push(Skipped {
                origin: origin.clone(),
                directive: format!("JkMount {pattern} {worker}"),
                reason: format!(
                    "worker `{worker}` is not in worker.list of {} (mod_jk answers its requests with 500; jkgate refuses the mount)",
                    file.display()
                ),
            });
            false
        });
    };
    keep(&mut out.mounts);
    for vhost in &mut out.vhosts {
        keep(&mut vhost.mounts);
    }
    out.skipped.extend(dropped);
}

/// The port of an address (`*:443`, `10.0.0.1:443`, `443`).
fn port_of(address: &str) -> Option<u16> {
    if let Ok(port) = address.parse() {
        return Some(port);
    }
    address.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

/// The jkgate.ini text.
fn render(out: &Out, server_root: &Path, files: &[PathBuf]) -> String {
    let mut ini = String::new();
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let _ = writeln!(
        ini,
        "; jkgate.ini written by `jkgate import-httpd` from {}",
        names.join(" ")
    );
    let _ = writeln!(
        ini,
        "; Relative paths start at ServerRoot, as in httpd. Check it with `jkgate check --config FILE`."
    );
    let _ = writeln!(ini, "ServerRoot = {}", server_root.display());
    // A port is HTTPS when a Listen says so, or an `SSLEngine on` vhost answers on it.
    let tls_ports: Vec<u16> = out
        .vhosts
        .iter()
        .filter(|v| v.ssl)
        .flat_map(|v| v.addresses.iter().filter_map(|a| port_of(a)))
        .collect();
    type Listens<'a> = Vec<&'a (String, bool)>;
    let (tls, plain): (Listens<'_>, Listens<'_>) = out.listens.iter().partition(|(addr, https)| {
        *https || out.main_ssl || port_of(addr).is_some_and(|p| tls_ports.contains(&p))
    });
    for (addr, _) in &plain {
        let _ = writeln!(ini, "Listen = {addr}");
    }
    if out.listens.is_empty() {
        let _ = writeln!(
            ini,
            "; The httpd configuration has no Listen: jkgate listens on 127.0.0.1:8080 unless told (Listen = ...)."
        );
    }
    for (key, value) in &out.top {
        let _ = writeln!(ini, "{key} = {value}");
    }
    if !out.options.is_empty() {
        let _ = writeln!(ini, "JkOptions = {}", out.options.join(" "));
    }
    if !tls.is_empty() || out.certificate.is_some() {
        let _ = writeln!(ini, "\n[tls]");
        for (addr, _) in &tls {
            let _ = writeln!(ini, "Listen = {addr}");
        }
        if let Some(certificate) = &out.certificate {
            let _ = writeln!(ini, "Certificate = {certificate}");
            let _ = writeln!(ini, "Key = {}", out.key.as_ref().unwrap_or(certificate));
        }
    }
    if !out.mounts.is_empty() {
        let _ = writeln!(ini, "\n[mounts]");
        for (pattern, worker, _) in &out.mounts {
            let _ = writeln!(ini, "{pattern} = {worker}");
        }
    }
    if !out.env.is_empty() {
        let _ = writeln!(ini, "\n[env]");
        for (name, value) in &out.env {
            let _ = writeln!(ini, "{name} = {value}");
        }
    }
    if !out.access.is_empty() {
        let _ = writeln!(ini, "\n[access]");
        for (path, rule) in &out.access {
            let _ = writeln!(ini, "{path} = {rule}");
        }
    }
    let main_name = out
        .top
        .iter()
        .find(|(k, _)| *k == "ServerName")
        .map(|(_, v)| v.clone());
    let mut labels: Vec<String> = Vec::new();
    for (index, vhost) in out.vhosts.iter().enumerate() {
        let name = vhost
            .server_name
            .clone()
            .or_else(|| main_name.clone())
            .unwrap_or_else(|| format!("vhost-{}", index + 1));
        let host = crate::config::vhost::split_server_name(&name).0.to_owned();
        let mut label = host.clone();
        if labels.contains(&label) {
            label = match vhost.addresses.first().and_then(|a| port_of(a)) {
                Some(port) => format!("{host}:{port}"),
                None => format!("{host}#{}", index + 1),
            };
        }
        if labels.contains(&label) {
            label = format!("{host}#{}", index + 1);
        }
        labels.push(label.clone());
        let _ = writeln!(ini, "\n[vhost {label}]");
        if let Some(origin) = &vhost.origin {
            let _ = writeln!(
                ini,
                "; <VirtualHost {}> at {origin}",
                vhost.addresses.join(" ")
            );
        }
        let _ = writeln!(ini, "ServerName = {name}");
        if !vhost.aliases.is_empty() {
            let _ = writeln!(ini, "ServerAlias = {}", vhost.aliases.join(" "));
        }
        if !vhost.addresses.is_empty() {
            let _ = writeln!(ini, "VirtualHost = {}", vhost.addresses.join(" "));
        }
        if vhost.ssl
            && let Some(certificate) = &vhost.certificate
        {
            let _ = writeln!(ini, "Certificate = {certificate}");
            let _ = writeln!(ini, "Key = {}", vhost.key.as_ref().unwrap_or(certificate));
        }
        if let Some(copy) = &vhost.mount_copy {
            let _ = writeln!(ini, "JkMountCopy = {copy}");
        }
        if let Some(file) = &vhost.mount_file {
            let _ = writeln!(ini, "JkMountFile = {file}");
        }
        for (pattern, worker, _) in &vhost.mounts {
            let _ = writeln!(ini, "{pattern} = {worker}");
        }
    }
    if !out.skipped.is_empty() {
        let _ = writeln!(
            ini,
            "\n; Directives of the httpd configuration that were not carried over (file:line: directive: why):"
        );
        for skipped in &out.skipped {
            let _ = writeln!(ini, "; not carried over: {skipped}");
        }
    }
    ini
}
