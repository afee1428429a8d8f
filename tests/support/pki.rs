//! A test PKI: a CA that issues server and client certificates ([`TestCa`]), and the
//! two-certificate PKI with a TLS client configuration that the reload and wire tests use
//! ([`TestPki`]). Everything is generated in memory (rcgen) for each test run.
#![allow(dead_code)]

use std::sync::Arc;

use rustls::pki_types::CertificateDer;

/// A certificate signed by a [`TestCa`], with its key.
pub struct IssuedCert {
    /// Its subject CN.
    pub cn: String,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM.
    pub key_pem: String,
    /// The certificate, DER (what the other side is shown).
    pub der: Vec<u8>,
}

/// A test CA that signs server certificates for the names a test serves.
pub struct TestCa {
    /// The CA certificate, PEM (what a client or `ca.pem` trusts).
    pub pem: String,
    /// The CA certificate, DER.
    pub der: Vec<u8>,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    /// A new CA whose subject CN is `cn`.
    pub fn generate(cn: &str) -> TestCa {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, cn);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa {
            pem: cert.pem(),
            der: cert.der().to_vec(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate (a key of its own) for the subject alternative names `sans`,
    /// with subject CN `cn`.
    pub fn issue_server(&self, sans: &[&str], cn: &str) -> IssuedCert {
        let sans = sans.iter().map(|san| (*san).to_owned()).collect();
        self.issue(sans, cn, rcgen::ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate (a key of its own) with subject CN `cn` and no names.
    pub fn issue_client(&self, cn: &str) -> IssuedCert {
        self.issue(Vec::new(), cn, rcgen::ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(
        &self,
        sans: Vec<String>,
        cn: &str,
        usage: rcgen::ExtendedKeyUsagePurpose,
    ) -> IssuedCert {
        use rcgen::{CertificateParams, DnType, KeyPair};
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(sans).expect("certificate params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        IssuedCert {
            cn: cn.to_owned(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }
}

/// A test CA and two server certificates it signed (SAN `localhost` and `127.0.0.1`,
/// CNs `jkgate reload test A` and `... B`), and a TLS client configuration trusting the
/// CA.
pub struct TestPki {
    /// The CA certificate, DER.
    pub ca_der: Vec<u8>,
    /// The first server certificate.
    pub a: IssuedCert,
    /// The second server certificate (a different key too).
    pub b: IssuedCert,
}

impl TestPki {
    /// Generates the CA and both certificates.
    pub fn generate() -> TestPki {
        let ca = TestCa::generate("jkgate reload test CA");
        let local = ["localhost", "127.0.0.1"];
        TestPki {
            a: ca.issue_server(&local, "jkgate reload test A"),
            b: ca.issue_server(&local, "jkgate reload test B"),
            ca_der: ca.der,
        }
    }

    /// A client configuration trusting the test CA, without session resumption (so every
    /// connection gets a full handshake and sees the certificate served right now), no
    /// ALPN (HTTP/1.1).
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(self.ca_der.clone()))
            .expect("CA certificate is a valid root");
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.resumption = rustls::client::Resumption::disabled();
        Arc::new(config)
    }

    /// Which of the two certificates `der` is: `"A"`, `"B"` or `"unknown"`.
    pub fn which(&self, der: &[u8]) -> &'static str {
        if der == self.a.der.as_slice() {
            "A"
        } else if der == self.b.der.as_slice() {
            "B"
        } else {
            "unknown"
        }
    }
}
