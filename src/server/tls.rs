//! HTTPS with rustls 0.23 (ring): server configuration, the certificate chosen by SNI
//! among the vhosts a connection's address reaches (httpd's choice, see
//! [`crate::config::vhost`]), and the TLS facts forwarded to Tomcat (cipher, session id,
//! key size, client chain, protocol).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use rustls::server::{ClientHello, ResolvesServerCert, ServerConnection, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::backend::TlsInfo;
use crate::config::vhost::VirtualHosts;

/// Which TLS file a [`TlsError`] is about; says which setting names it and what it must
/// hold, so the operator knows what to fix without reading rustls' terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsFile {
    /// jkgate.ini `[tls] Certificate` / `--cert`.
    Certificate,
    /// jkgate.ini `[tls] Key` / `--key`.
    Key,
    /// jkgate.ini `[tls] ClientCA` / `--client-ca`.
    ClientCa,
}

impl TlsFile {
    /// The settings that name this file.
    pub fn setting(self) -> &'static str {
        match self {
            TlsFile::Certificate => "[tls] Certificate (--cert)",
            TlsFile::Key => "[tls] Key (--key)",
            TlsFile::ClientCa => "[tls] ClientCA (--client-ca)",
        }
    }

    /// What a valid file holds.
    pub fn expected(self) -> &'static str {
        match self {
            TlsFile::Certificate => {
                "a readable PEM file of `-----BEGIN CERTIFICATE-----` blocks, the server's certificate first, then its chain"
            }
            TlsFile::Key => {
                "a readable PEM private key (`-----BEGIN PRIVATE KEY-----`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`) belonging to the certificate"
            }
            TlsFile::ClientCa => {
                "a readable PEM file of `-----BEGIN CERTIFICATE-----` blocks: the CAs that sign client certificates"
            }
        }
    }
}

/// An error setting up TLS: the setting, the file, what is wrong and what would be valid.
#[derive(Debug, thiserror::Error)]
#[error("{setting} {file}: {cause}; valid: {expected}", setting = setting_text(*role, place.as_deref()), expected = role.expected())]
pub struct TlsError {
    /// Which of the TLS files.
    pub role: TlsFile,
    /// The `[vhost NAME]` section that names it (`None`: `[tls]` or the flags).
    pub place: Option<String>,
    /// The file involved.
    pub file: String,
    /// What went wrong.
    pub cause: String,
}

fn setting_text(role: TlsFile, place: Option<&str>) -> String {
    match (place, role) {
        (Some(section), TlsFile::Certificate) => format!("[{section}] Certificate"),
        (Some(section), TlsFile::Key) => format!("[{section}] Key"),
        _ => role.setting().to_owned(),
    }
}

fn tls_error(role: TlsFile, file: &Path, cause: impl std::fmt::Display) -> TlsError {
    TlsError {
        role,
        place: None,
        file: file.display().to_string(),
        cause: cause.to_string(),
    }
}

/// rustls-pki-types' PEM errors in an operator's words.
fn pem_problem(error: rustls_pki_types::pem::Error, wanted: &str) -> String {
    use rustls_pki_types::pem::Error;
    match error {
        Error::Io(e) => format!("cannot be read: {e}"),
        Error::NoItemsFound => format!("holds no {wanted} (is it PEM, not DER or PKCS#12?)"),
        other => format!("is not valid PEM: {other}"),
    }
}

/// One certificate chain and its key, from PEM files.
///
/// Each failure names the file and setting: a missing file, a file without the expected
/// PEM blocks and a key that does not belong to the certificate are told apart, because
/// rustls alone reports an empty certificate file as "peer sent no certificates" against
/// the key.
fn certified_key(
    cert: &Path,
    key: &Path,
    provider: &rustls::crypto::CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    use TlsFile::{Certificate, Key};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| tls_error(Certificate, cert, pem_problem(e, "certificate")))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls_error(Certificate, cert, pem_problem(e, "certificate")))?;
    if chain.is_empty() {
        return Err(tls_error(
            Certificate,
            cert,
            pem_problem(rustls_pki_types::pem::Error::NoItemsFound, "certificate"),
        ));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| tls_error(Key, key, pem_problem(e, "private key")))?;
    CertifiedKey::from_der(chain, key_der, provider)
        .map(Arc::new)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => tls_error(
                Key,
                key,
                format!(
                    "does not belong to the certificate in {} (their public keys differ)",
                    cert.display()
                ),
            ),
            other => tls_error(
                Key,
                key,
                format!("cannot be used with the certificate: {other}"),
            ),
        })
}

/// The certificates of one configuration: the `[tls]` one and each vhost's own.
#[derive(Debug)]
struct Certificates {
    hosts: VirtualHosts,
    global: Option<Arc<CertifiedKey>>,
    vhosts: Vec<Option<Arc<CertifiedKey>>>,
}

impl Certificates {
    /// The certificate for a connection whose vhost chain is `chain` and whose TLS server
    /// name is `sni`: the vhost the name selects (as a Host header would), its own
    /// certificate, else the `[tls]` one (httpd: a vhost inherits the main server's
    /// SSLCertificateFile).
    fn choose(&self, chain: &[usize], sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        self.hosts
            .select_in(chain, sni)
            .and_then(|index| self.vhosts.get(index).cloned().flatten())
            .or_else(|| self.global.clone())
    }
}

/// Chooses the certificate by SNI among the vhosts a connection's local address reaches.
#[derive(Debug)]
struct SniResolver {
    chain: Vec<usize>,
    certificates: Arc<Certificates>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = self
            .certificates
            .choose(&self.chain, client_hello.server_name());
        if chosen.is_none() {
            tracing::warn!(
                sni = client_hello.server_name().unwrap_or("-"),
                "TLS handshake refused: the vhost it reaches has no certificate and [tls] has none"
            );
        }
        chosen
    }
}

/// A certificate and key a vhost serves: its section name (for messages) and the files.
#[derive(Clone, Debug)]
pub struct VhostCertificate<'a> {
    /// `vhost NAME`.
    pub section: String,
    /// PEM certificate chain.
    pub cert: &'a Path,
    /// PEM private key.
    pub key: &'a Path,
}

/// TLS for the HTTPS listeners of one configuration: every certificate loaded once, and one
/// acceptor per local address (its vhost chain decides which certificates SNI chooses
/// among), made when the first connection to that address arrives.
pub struct TlsSetup {
    certificates: Arc<Certificates>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    verifier: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
    acceptors: Mutex<HashMap<SocketAddr, tokio_rustls::TlsAcceptor>>,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup")
            .field("certificates", &self.certificates)
            .field("client_auth", &self.verifier.is_some())
            .finish_non_exhaustive()
    }
}

impl TlsSetup {
    /// Loads the `[tls]` certificate (`global`: certificate and key), each vhost's own
    /// (`vhosts[i]` for vhost `i` of `hosts`) and the client CA. With `client_ca`, clients
    /// may present a certificate signed by it (it is then forwarded to Tomcat).
    pub fn build(
        global: Option<(&Path, &Path)>,
        client_ca: Option<&Path>,
        vhosts: &[Option<VhostCertificate<'_>>],
        hosts: VirtualHosts,
    ) -> Result<TlsSetup, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let global = match global {
            Some((cert, key)) => Some(certified_key(cert, key, &provider)?),
            None => None,
        };
        let mut own = Vec::with_capacity(vhosts.len());
        for vhost in vhosts {
            own.push(match vhost {
                Some(v) => Some(certified_key(v.cert, v.key, &provider).map_err(|mut e| {
                    e.place = Some(v.section.clone());
                    e
                })?),
                None => None,
            });
        }
        let verifier = match client_ca {
            Some(ca) => {
                use TlsFile::ClientCa;
                let mut roots = rustls::RootCertStore::empty();
                for der in CertificateDer::pem_file_iter(ca)
                    .map_err(|e| tls_error(ClientCa, ca, pem_problem(e, "certificate")))?
                {
                    let der =
                        der.map_err(|e| tls_error(ClientCa, ca, pem_problem(e, "certificate")))?;
                    roots
                        .add(der)
                        .map_err(|e| tls_error(ClientCa, ca, format!("unusable CA: {e}")))?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .allow_unauthenticated()
                        .build()
                        .map_err(|e| tls_error(ClientCa, ca, e))?;
                Some(verifier)
            }
            None => None,
        };
        let setup = TlsSetup {
            certificates: Arc::new(Certificates {
                hosts,
                global,
                vhosts: own,
            }),
            provider,
            verifier,
            acceptors: Mutex::new(HashMap::new()),
        };
        // Fails now, not at the first connection, if rustls refuses the protocol settings.
        setup.config(Vec::new()).map_err(|e| TlsError {
            role: TlsFile::Certificate,
            place: None,
            file: String::new(),
            cause: e.to_string(),
        })?;
        Ok(setup)
    }

    fn config(&self, chain: Vec<usize>) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
        let builder = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?;
        let builder = match &self.verifier {
            Some(verifier) => builder.with_client_cert_verifier(verifier.clone()),
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(Arc::new(SniResolver {
            chain,
            certificates: self.certificates.clone(),
        }));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// The acceptor for connections to `local`.
    pub fn acceptor(&self, local: SocketAddr) -> Option<tokio_rustls::TlsAcceptor> {
        let mut acceptors = self
            .acceptors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(acceptor) = acceptors.get(&local) {
            return Some(acceptor.clone());
        }
        let chain = self.certificates.hosts.chain(local);
        match self.config(chain) {
            Ok(config) => {
                let acceptor = tokio_rustls::TlsAcceptor::from(config);
                acceptors.insert(local, acceptor.clone());
                Some(acceptor)
            }
            Err(err) => {
                tracing::error!(%local, %err, "no TLS configuration for this address");
                None
            }
        }
    }
}

/// OpenSSL's name (what mod_ssl reports as SSL_CIPHER) and the key size of a suite.
fn cipher_facts(suite: rustls::CipherSuite) -> (String, u16) {
    use rustls::CipherSuite as C;
    let (name, bits) = match suite {
        C::TLS13_AES_128_GCM_SHA256 => ("TLS_AES_128_GCM_SHA256", 128),
        C::TLS13_AES_256_GCM_SHA384 => ("TLS_AES_256_GCM_SHA384", 256),
        C::TLS13_CHACHA20_POLY1305_SHA256 => ("TLS_CHACHA20_POLY1305_SHA256", 256),
        C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => ("ECDHE-ECDSA-AES128-GCM-SHA256", 128),
        C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => ("ECDHE-ECDSA-AES256-GCM-SHA384", 256),
        C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => ("ECDHE-ECDSA-CHACHA20-POLY1305", 256),
        C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => ("ECDHE-RSA-AES128-GCM-SHA256", 128),
        C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => ("ECDHE-RSA-AES256-GCM-SHA384", 256),
        C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => ("ECDHE-RSA-CHACHA20-POLY1305", 256),
        other => return (format!("{other:?}"), 0),
    };
    (name.to_owned(), bits)
}

/// The TLS facts of an established connection, as mod_jk forwards them.
///
/// rustls has no session-id API; the session id is a per-connection value
/// derived with the TLS exporter (RFC 5705), hex-encoded, stable for the
/// connection and unique across connections.
pub fn tls_info(conn: &ServerConnection) -> TlsInfo {
    let (cipher, key_size) = conn
        .negotiated_cipher_suite()
        .map(|s| cipher_facts(s.suite()))
        .unwrap_or_default();
    let protocol = conn.protocol_version().map(|v| match v {
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
        other => format!("{other:?}"),
    });
    let session_id = conn
        .export_keying_material([0u8; 32], b"EXPORTER-jkgate-session-id", None)
        .ok()
        .map(|bytes| Bytes::from(hex(&bytes)));
    let client_cert = conn.peer_certificates().map(|chain| {
        let mut pem = String::new();
        for cert in chain {
            pem.push_str("-----BEGIN CERTIFICATE-----\n");
            let encoded = STANDARD.encode(cert);
            for line in encoded.as_bytes().chunks(64) {
                pem.push_str(std::str::from_utf8(line).unwrap_or_default());
                pem.push('\n');
            }
            pem.push_str("-----END CERTIFICATE-----\n");
        }
        Bytes::from(pem)
    });
    TlsInfo {
        cipher: (!cipher.is_empty()).then(|| Bytes::from(cipher)),
        session_id,
        key_size: (key_size > 0).then_some(key_size),
        client_cert,
        protocol: protocol.map(Bytes::from),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
