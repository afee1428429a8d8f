//! HTTPS with rustls 0.23 (ring): server configuration and the TLS facts
//! forwarded to Tomcat (cipher, session id, key size, client chain, protocol).

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use rustls::server::{ServerConnection, WebPkiClientVerifier};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::backend::TlsInfo;

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
#[error("{setting} {file}: {cause}; valid: {expected}", setting = role.setting(), expected = role.expected())]
pub struct TlsError {
    /// Which of the TLS files.
    pub role: TlsFile,
    /// The file involved.
    pub file: String,
    /// What went wrong.
    pub cause: String,
}

fn tls_error(role: TlsFile, file: &Path, cause: impl std::fmt::Display) -> TlsError {
    TlsError {
        role,
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

/// Builds a TLS acceptor from PEM files; with `client_ca`, clients may present a
/// certificate signed by it (it is then forwarded to Tomcat).
///
/// Each failure names the file and setting: a missing file, a file without the expected
/// PEM blocks and a key that does not belong to the certificate are told apart, because
/// rustls alone reports an empty certificate file as "peer sent no certificates" against
/// the key.
pub fn acceptor(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    use TlsFile::{Certificate, ClientCa, Key};
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
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(Certificate, cert, e))?;
    let builder = match client_ca {
        Some(ca) => {
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
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| tls_error(ClientCa, ca, e))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key_der)
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
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
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
