//! `jkgate import-httpd` without httpd: how each kind of directive is written into
//! jkgate.ini, what is listed as not carried over, and what stops the import.
#![cfg(feature = "proxy")]

use std::path::{Path, PathBuf};

use jkgate::config::httpd::{HttpdError, Imported, import};

fn dir(label: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("jkgate-import-unit-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("parent");
    }
    std::fs::write(&path, content).expect("write");
    path
}

fn run(label: &str, files: &[(&str, &str)]) -> (PathBuf, Result<Imported, HttpdError>) {
    let dir = dir(label);
    for (name, content) in files {
        write(&dir, name, content);
    }
    let main = dir.join(files[0].0);
    let result = import(&[main], &dir);
    (dir, result)
}

fn skipped_lines(imported: &Imported) -> Vec<String> {
    imported.skipped.iter().map(|s| s.to_string()).collect()
}

#[test]
fn tls_vhosts_listeners_and_certificates() {
    let (dir, result) = run(
        "tls",
        &[(
            "httpd.conf",
            "Listen 80\nListen 443\nListen 127.0.0.1:8443 https\n\
                 <VirtualHost *:80>\n  ServerName www.example.com\n  JkMount /app/* lb\n</VirtualHost>\n\
                 <VirtualHost *:443>\n  ServerName www.example.com\n  SSLEngine on\n  SSLCertificateFile certs/www.pem\n  SSLCertificateKeyFile certs/www.key\n  SSLCertificateChainFile certs/chain.pem\n  SSLProtocol -all +TLSv1.2\n  JkMount /app/* lb\n</VirtualHost>\n\
                 <VirtualHost _default_:443>\n  SSLEngine on\n  SSLCertificateFile certs/both.pem\n</VirtualHost>\n\
                 <VirtualHost old.example.com:80>\n  ServerName old.example.com\n  JkMount /old/* lb\n</VirtualHost>\n",
        )],
    );
    let imported = result.expect("reads");
    let ini = &imported.ini;
    assert!(
        ini.contains(&format!("ServerRoot = {}", dir.display())),
        "{ini}"
    );
    assert!(ini.contains("Listen = 80\n"), "{ini}");
    assert!(
        ini.contains("[tls]\nListen = 443\nListen = 127.0.0.1:8443\n"),
        "{ini}"
    );
    // The same name on two ports: the second section is labelled with its port.
    assert!(ini.contains("[vhost www.example.com]\n"), "{ini}");
    assert!(ini.contains("[vhost www.example.com:443]\n"), "{ini}");
    assert!(
        ini.contains("Certificate = certs/www.pem\nKey = certs/www.key\n"),
        "{ini}"
    );
    // A key inside the certificate file.
    assert!(
        ini.contains("Certificate = certs/both.pem\nKey = certs/both.pem\n"),
        "{ini}"
    );
    assert!(
        ini.contains("[vhost old.example.com]\n; <VirtualHost *:80>"),
        "{ini}"
    );
    let skipped = skipped_lines(&imported);
    assert!(
        skipped.iter().any(|s| s.contains(
            "httpd.conf:21: <VirtualHost old.example.com:80>: the address `old.example.com:80` is a host name"
        )),
        "{skipped:?}"
    );
    assert!(
        skipped
            .iter()
            .any(|s| s.contains("httpd.conf:13: SSLCertificateChainFile")
                && s.contains("append the chain")),
        "{skipped:?}"
    );
    assert!(
        skipped
            .iter()
            .any(|s| s.contains("httpd.conf:14: SSLProtocol")),
        "{skipped:?}"
    );
}

#[test]
fn locations_mounts_and_what_mod_jk_refuses_too() {
    let (_dir, result) = run(
        "locations",
        &[(
            "httpd.conf",
            "JkMount /a/* w\nJkUnMount /a/static/* w\nJkMount /only-path\nJkMount relative w\n\
             <Location /status>\n  JkMount jkstatus\n  Require ip 127.0.0.1 ::1\n  AuthType Basic\n</Location>\n\
             <Location /b>\n  JkMount /b w\n</Location>\n\
             <LocationMatch \"^/x\">\n  JkMount w\n</LocationMatch>\n\
             <LocationMatch /literal>\n  JkMount w\n</LocationMatch>\n\
             JkMountCopy On\nJkEnvVar FROM_ENV\nJkEnvVar SITE blue\nRemoteIPHeader X-Forwarded-For\n",
        )],
    );
    let imported = result.expect("reads");
    let ini = &imported.ini;
    assert!(
        ini.contains("[mounts]\n/a/* = w\n!/a/static/* = w\n/status = jkstatus\n/literal = w\n"),
        "{ini}"
    );
    assert!(ini.contains("[env]\nSITE = blue\n"), "{ini}");
    let skipped = skipped_lines(&imported);
    for expected in [
        "httpd.conf:3: JkMount /only-path: JkMount needs a path when not in a <Location>",
        "httpd.conf:4: JkMount relative w: the path `relative` does not start with `/`",
        "httpd.conf:8: AuthType Basic",
        "httpd.conf:11: JkMount /b w: JkMount cannot have a path inside a <Location>",
        "httpd.conf:13: <LocationMatch ^/x>",
        "httpd.conf:16: <LocationMatch /literal>: its JkMount lines were carried over",
        "httpd.conf:19: JkMountCopy On",
        "httpd.conf:20: JkEnvVar FROM_ENV",
    ] {
        assert!(
            skipped
                .iter()
                .any(|s| s.starts_with(&format!("{}/", _dir.display())) && s.contains(expected)),
            "`{expected}` not in {skipped:#?}"
        );
    }
    // RemoteIP and the location's `Require ip` carry over; what jkgate has no rule for is
    // listed.
    assert!(ini.contains("RemoteIPHeader = X-Forwarded-For\n"), "{ini}");
    assert!(
        ini.contains("[access]\n/status = Require ip 127.0.0.1 ::1\n"),
        "{ini}"
    );
    assert!(
        !skipped.iter().any(|s| s.contains("Require ip")),
        "{skipped:#?}"
    );
    assert!(ini.contains("; not carried over: "), "{ini}");
}

#[test]
fn includes_defines_and_conditions() {
    let (_dir, result) = run(
        "includes",
        &[
            (
                "apache2.conf",
                "Define LOGS /var/log/site\nInclude mods/*.load\nIncludeOptional nothing/*.conf\n\
                 Include extra\n<IfDefine LOGS>\nJkLogFile ${LOGS}/jk.log\n</IfDefine>\n\
                 <IfDefine !LOGS>\nJkLogLevel debug\n</IfDefine>\n<IfModule !jk_module>\nJkLogLevel error\n</IfModule>\n\
                 <IfModule jk_module>\nJkLogLevel warn\n</IfModule>\nJkWorkersFile ${UNDEFINED_THING}/w.properties\n",
            ),
            ("mods/b.load", "JkMount /b/* w\n"),
            ("mods/a.load", "JkMount /a/* w\n"),
            ("extra/one.conf", "JkMount /one w\n"),
        ],
    );
    let imported = result.expect("reads");
    let ini = &imported.ini;
    // Wildcards in name order, a directory's files, Define and ${NAME}, IfDefine both ways.
    assert!(
        ini.contains("[mounts]\n/a/* = w\n/b/* = w\n/one = w\n"),
        "{ini}"
    );
    assert!(ini.contains("JkLogFile = /var/log/site/jk.log\n"), "{ini}");
    assert!(ini.contains("JkLogLevel = warn\n"), "{ini}");
    assert!(
        ini.contains("JkWorkersFile = ${UNDEFINED_THING}/w.properties"),
        "{ini}"
    );
    assert!(
        imported
            .notes
            .iter()
            .any(|n| n.message.contains("${UNDEFINED_THING} is not defined")),
        "{:?}",
        imported.notes
    );
}

#[test]
fn ifmodule_follows_the_loadmodule_lines_and_listen_is_not_doubled() {
    let (_dir, result) = run(
        "ifmodule",
        &[(
            "httpd.conf",
            "LoadModule jk_module /usr/lib/apache2/modules/mod_jk.so\nListen 80\n\
             <IfModule ssl_module>\nListen 443\n</IfModule>\n<IfModule mod_jk.c>\nJkLogLevel debug\n</IfModule>\n\
             <IfModule log_config_module>\nJkLogFile logs/jk.log\n</IfModule>\nListen 80\n",
        )],
    );
    let imported = result.expect("reads");
    let ini = &imported.ini;
    assert!(!ini.contains("443"), "{ini}");
    assert!(ini.contains("JkLogLevel = debug\n"), "{ini}");
    assert!(ini.contains("JkLogFile = logs/jk.log\n"), "{ini}");
    assert_eq!(ini.matches("Listen = 80\n").count(), 1, "{ini}");
    assert!(
        imported
            .skipped
            .iter()
            .any(|s| s.origin.line == 12 && s.reason.contains("already listened on")),
        "{:?}",
        imported.skipped
    );
}

#[test]
fn what_cannot_be_read_fails_with_file_and_line() {
    let cases = [
        (
            "<VirtualHost *:80>\nServerName a\n",
            "open.conf:1: <VirtualHost> is never closed",
        ),
        (
            "ServerName a\n</Location>\n",
            "open.conf:2: `</Location>` without a matching <Location>",
        ),
        (
            "JkRequestLogFormat \"%w\n",
            "open.conf:1: the quote \" opened",
        ),
        (
            "Include missing/*.conf\n",
            "open.conf:1: Include `missing/*.conf` matches no file",
        ),
        (
            "Include nothere.conf\n",
            "open.conf:1: cannot read the included",
        ),
        (
            "<Location /a>\n</VirtualHost>\n",
            "open.conf:2: `</VirtualHost>` closes nothing: <Location> (opened at line 1)",
        ),
    ];
    for (index, (content, expected)) in cases.iter().enumerate() {
        let (_dir, result) = run(&format!("broken{index}"), &[("open.conf", content)]);
        let error = result.expect_err(content).to_string();
        assert!(
            error.contains(expected),
            "{content:?}: `{expected}` not in {error}"
        );
    }
    let missing = import(&[PathBuf::from("/nonexistent/httpd.conf")], Path::new("/"));
    assert!(
        missing
            .expect_err("missing file")
            .to_string()
            .starts_with("cannot read /nonexistent/httpd.conf")
    );
}

#[test]
fn an_imported_tls_configuration_passes_check_with_its_certificates() {
    use rcgen::{CertificateParams, KeyPair};
    let dir = dir("tls-check");
    for name in ["www", "shop"] {
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec![format!("{name}.example.com")])
            .expect("params")
            .self_signed(&key)
            .expect("certificate");
        write(&dir, &format!("certs/{name}.pem"), &cert.pem());
        write(&dir, &format!("certs/{name}.key"), &key.serialize_pem());
    }
    write(
        &dir,
        "workers.properties",
        "worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=n1\nworker.n1.host=127.0.0.1\nworker.n1.port=8009\n",
    );
    let conf = write(
        &dir,
        "httpd.conf",
        "Listen 127.0.0.1:8080\nListen 127.0.0.1:8443\nJkWorkersFile workers.properties\n\
         <VirtualHost *:8080>\nServerName www.example.com\nJkMount /app/* lb\n</VirtualHost>\n\
         <VirtualHost *:8443>\nServerName www.example.com\nSSLEngine on\nSSLCertificateFile certs/www.pem\nSSLCertificateKeyFile certs/www.key\nJkMount /app/* lb\n</VirtualHost>\n\
         <VirtualHost *:8443>\nServerName shop.example.com\nSSLEngine on\nSSLCertificateFile certs/shop.pem\nSSLCertificateKeyFile certs/shop.key\nJkMount /shop/* lb\n</VirtualHost>\n",
    );
    let ini = dir.join("jkgate.ini");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_jkgate"))
            .args(args)
            .output()
            .expect("run jkgate")
    };
    let imported = run(&[
        "import-httpd",
        conf.to_str().unwrap(),
        "-o",
        ini.to_str().unwrap(),
    ]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let check = run(&["check", "--config", ini.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(
        check.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&check.stderr),
        std::fs::read_to_string(&ini).unwrap_or_default()
    );
    assert!(
        stdout.contains("vhost [www.example.com:8443] ServerName=www.example.com")
            && stdout.contains("certs/shop.pem"),
        "{stdout}"
    );
    // A key that does not belong to its certificate is refused by check, naming the vhost.
    std::fs::copy(dir.join("certs/www.key"), dir.join("certs/shop.key")).expect("copy");
    let check = run(&["check", "--config", ini.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&check.stderr).into_owned();
    assert!(!check.status.success());
    assert!(
        stderr.contains("[vhost shop.example.com] Key") && stderr.contains("does not belong"),
        "{stderr}"
    );
}
