//! TLS with rustls: configuration from the libpq `sslmode` family, and the
//! `tls-server-end-point` channel binding data for SCRAM-SHA-256-PLUS.

use pkcs1::RsaPssParams;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
};
use rustls::{DigitallySignedStruct, Error as TlsError, SignatureScheme};
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Any, Decode, Encode};
use x509_cert::Certificate;

use crate::error::Error;

/// How much of the server's certificate is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Encrypt only (sslmode prefer/require without a root certificate).
    None,
    /// Verify the chain, not the host name (verify-ca).
    Chain,
    /// Verify the chain and the host name (verify-full).
    Full,
}

/// Everything needed to build a rustls client configuration.
#[derive(Debug, Clone)]
pub(crate) struct TlsParams {
    pub verify: Verify,
    /// PEM file of trusted roots; `None` means the system store.
    pub root_cert: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// Certificate revocation lists (`sslcrl`, the files of `sslcrldir`),
    /// checked when the chain is verified.
    pub crls: Vec<PathBuf>,
    /// Whether a client certificate may or must be sent (`sslcertmode`).
    pub cert_mode: crate::config::SslCertMode,
    /// `ssl_min_protocol_version`, `ssl_max_protocol_version`.
    pub min_version: crate::config::SslProtocolVersion,
    pub max_version: Option<crate::config::SslProtocolVersion>,
    /// Offer ALPN `postgresql` (direct TLS negotiation, PostgreSQL 17).
    pub alpn: bool,
}

/// A built client configuration, and what the handshake must be checked for.
pub(crate) struct ClientTls {
    pub config: Arc<rustls::ClientConfig>,
    /// Set when the server asked for a client certificate (`Some` when
    /// `sslcertmode=require`: it must be set after the handshake).
    pub cert_requested: Option<Arc<AtomicBool>>,
}

/// The TLS versions rustls is to offer for `min..=max`; an error when
/// none it implements (1.2, 1.3) is in the range.
fn versions(
    min: crate::config::SslProtocolVersion,
    max: Option<crate::config::SslProtocolVersion>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, Error> {
    use crate::config::SslProtocolVersion as V;
    let mut out = Vec::new();
    for (v, r) in [
        (V::Tls1_2, &rustls::version::TLS12),
        (V::Tls1_3, &rustls::version::TLS13),
    ] {
        if v >= min && max.is_none_or(|m| v <= m) {
            out.push(r);
        }
    }
    if out.is_empty() {
        return Err(Error::config(format!(
            "no TLS version in ssl_min_protocol_version={min} .. ssl_max_protocol_version={} \
             is supported: tusk's TLS (rustls) speaks TLSv1.2 and TLSv1.3 only",
            max.map_or("(none)".to_string(), |m| m.to_string())
        )));
    }
    Ok(out)
}

fn load_crls(paths: &[PathBuf]) -> Result<Vec<CertificateRevocationListDer<'static>>, Error> {
    let mut out = Vec::new();
    for path in paths {
        let crls: Result<Vec<_>, _> = CertificateRevocationListDer::pem_file_iter(path)
            .map_err(|e| Error::config(format!("cannot read CRL file {}: {e}", path.display())))?
            .collect();
        let crls =
            crls.map_err(|e| Error::config(format!("bad CRL in {}: {e}", path.display())))?;
        out.extend(crls);
    }
    Ok(out)
}

/// Sends the client certificate when the server asks, and notes that it asked.
#[derive(Debug)]
struct ClientCert {
    key: Arc<rustls::sign::CertifiedKey>,
    asked: Arc<AtomicBool>,
}

impl rustls::client::ResolvesClientCert for ClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.asked.store(true, Ordering::SeqCst);
        Some(self.key.clone())
    }
    fn has_certs(&self) -> bool {
        true
    }
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| {
            Error::config(format!(
                "cannot read certificate file {}: {e}",
                path.display()
            ))
        })?
        .collect();
    let certs =
        certs.map_err(|e| Error::config(format!("bad certificate in {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::config(format!(
            "no certificate found in {}",
            path.display()
        )));
    }
    Ok(certs)
}

/// Builds the client configuration. (In small functions: a connect runs
/// deep inside a pool's futures, and debug builds give every local of a
/// function its own stack slot.)
pub(crate) fn client_config(p: &TlsParams) -> Result<ClientTls, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = verifier(p, &provider)?;
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(p.min_version, p.max_version)?)
        .map_err(|e| Error::config(format!("TLS setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let asked = Arc::new(AtomicBool::new(false));
    let mut config = match client_cert(p, &provider, &asked)? {
        Some(resolver) => builder.with_client_cert_resolver(resolver),
        None => builder.with_no_client_auth(),
    };
    if p.alpn {
        config.alpn_protocols = vec![b"postgresql".to_vec()];
    }
    Ok(ClientTls {
        config: Arc::new(config),
        cert_requested: (p.cert_mode == crate::config::SslCertMode::Require).then_some(asked),
    })
}

/// How the server's certificate is checked (`sslmode`, `sslrootcert`, CRLs).
fn verifier(
    p: &TlsParams,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, Error> {
    if p.verify == Verify::None {
        return Ok(Arc::new(NoVerify(provider.clone())));
    }
    let mut roots = rustls::RootCertStore::empty();
    match &p.root_cert {
        Some(path) => {
            for c in load_certs(path)? {
                roots.add(c).map_err(|e| {
                    Error::config(format!("bad root certificate in {}: {e}", path.display()))
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for c in found.certs {
                let _ = roots.add(c);
            }
            if roots.is_empty() {
                return Err(Error::config(
                    "sslmode requires certificate verification but no root certificate was given \
                     (set sslrootcert) and the system store is empty",
                ));
            }
        }
    }
    // With CRLs, as libpq (CRL_CHECK_ALL): every certificate of the chain
    // but the root needs its issuer's CRL.
    let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .with_crls(load_crls(&p.crls)?)
    .build()
    .map_err(|e| Error::config(format!("TLS verifier setup failed: {e}")))?;
    Ok(if p.verify == Verify::Full {
        webpki
    } else {
        Arc::new(ChainOnly(webpki))
    })
}

/// The client certificate to send when the server asks (`sslcert`,
/// `sslkey`, `sslcertmode`); `None`: none is sent.
fn client_cert(
    p: &TlsParams,
    provider: &Arc<rustls::crypto::CryptoProvider>,
    asked: &Arc<AtomicBool>,
) -> Result<Option<Arc<dyn rustls::client::ResolvesClientCert>>, Error> {
    use crate::config::SslCertMode;
    match (&p.client_cert, &p.client_key) {
        // sslcertmode=disable: never send one, configured or not.
        _ if p.cert_mode == SslCertMode::Disable => Ok(None),
        (Some(cert), Some(key)) => {
            let certs = load_certs(cert)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                Error::config(format!("cannot read private key {}: {e}", key.display()))
            })?;
            let signer = provider
                .key_provider
                .load_private_key(key)
                .map_err(|e| Error::config(format!("bad client key: {e}")))?;
            let key = Arc::new(rustls::sign::CertifiedKey::new(certs, signer));
            key.keys_match()
                .map_err(|e| Error::config(format!("bad client certificate or key: {e}")))?;
            Ok(Some(Arc::new(ClientCert {
                key,
                asked: asked.clone(),
            })))
        }
        (Some(_), None) | (None, Some(_)) => {
            Err(Error::config("sslcert and sslkey must be given together"))
        }
        (None, None) if p.cert_mode == SslCertMode::Require => Err(Error::config(
            "sslcertmode=require needs a client certificate: set sslcert and sslkey \
             (or put them in ~/.postgresql/postgresql.crt and .key)",
        )),
        (None, None) => Ok(None),
    }
}

/// The name rustls checks the certificate against.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(host.to_string())
        .map_err(|e| Error::config(format!("invalid TLS server name {host:?}: {e}")))
}

/// `tls-server-end-point` channel binding data (RFC 5929): the hash of the
/// server certificate, with the hash of the certificate's own signature
/// algorithm (for RSASSA-PSS, the hash in its parameters), SHA-256 for MD5
/// and SHA-1 and for a certificate that does not parse.
pub(crate) fn server_end_point(cert_der: &[u8]) -> Vec<u8> {
    match signature_hash(cert_der) {
        Some(Hash::Sha224) => sha2::Sha224::digest(cert_der).to_vec(),
        Some(Hash::Sha384) => sha2::Sha384::digest(cert_der).to_vec(),
        Some(Hash::Sha512) => sha2::Sha512::digest(cert_der).to_vec(),
        Some(Hash::Sha256) | None => sha2::Sha256::digest(cert_der).to_vec(),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Hash {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// The hash of a certificate's `signatureAlgorithm` (parsed with
/// x509-cert), or `None` when it does not parse.
fn signature_hash(der: &[u8]) -> Option<Hash> {
    let cert = Certificate::from_der(der).ok()?;
    let alg = cert.signature_algorithm();
    if alg.oid == oid::RSASSA_PSS {
        // RSASSA-PSS-params: the hash is a parameter (SHA-1 when absent).
        let params = alg.parameters.as_ref()?;
        let pss = RsaPssParams::<Any>::from_der(&params.to_der().ok()?).ok()?;
        return Some(hash_of_digest(pss.hash.oid));
    }
    Some(match alg.oid {
        oid::SHA224_WITH_RSA | oid::ECDSA_WITH_SHA224 => Hash::Sha224,
        oid::SHA384_WITH_RSA | oid::ECDSA_WITH_SHA384 => Hash::Sha384,
        oid::SHA512_WITH_RSA | oid::ECDSA_WITH_SHA512 => Hash::Sha512,
        // SHA-256 itself, MD5 and SHA-1 (RFC 5929 maps both to SHA-256),
        // and algorithms with no hash of their own (Ed25519).
        _ => Hash::Sha256,
    })
}

/// The hash named by a digest algorithm's OID; SHA-256 for SHA-1 and MD5.
fn hash_of_digest(digest: ObjectIdentifier) -> Hash {
    match digest {
        oid::SHA224 => Hash::Sha224,
        oid::SHA384 => Hash::Sha384,
        oid::SHA512 => Hash::Sha512,
        _ => Hash::Sha256,
    }
}

/// The object identifiers [`signature_hash`] tells apart.
mod oid {
    use x509_cert::der::asn1::ObjectIdentifier as Oid;

    pub const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
    pub const SHA224_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.14");
    pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
    pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
    pub const ECDSA_WITH_SHA224: Oid = Oid::new_unwrap("1.2.840.10045.4.3.1");
    pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    pub const ECDSA_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
    pub const SHA224: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.4");
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
}

/// sslmode=require/prefer: encryption without authentication of the server
/// (libpq's behaviour without a root certificate).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// sslmode=verify-ca: the chain must verify; the host name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(TlsError::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(TlsError::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_hashes_with_sha256() {
        assert_eq!(signature_hash(&[]), None);
        assert_eq!(signature_hash(&[0x30, 0x85, 1, 2, 3, 4, 5]), None);
        assert_eq!(signature_hash(&[0x31, 0x00]), None);
        assert_eq!(server_end_point(&[0x31, 0x00]).len(), 32);
    }

    /// Certificates made by `openssl req -x509` with each signature
    /// algorithm (tests/fixtures/certs/README.md says how).
    #[test]
    fn each_signature_algorithm_picks_its_hash() {
        for (file, hash, len) in [
            ("rsa-sha256.der", Hash::Sha256, 32),
            ("rsa-sha384.der", Hash::Sha384, 48),
            ("rsa-sha512.der", Hash::Sha512, 64),
            ("rsa-sha1.der", Hash::Sha256, 32),
            ("rsa-pss-sha384.der", Hash::Sha384, 48),
            ("rsa-pss-sha256.der", Hash::Sha256, 32),
            ("ecdsa-sha384.der", Hash::Sha384, 48),
            ("ed25519.der", Hash::Sha256, 32),
        ] {
            let path = format!("{}/tests/fixtures/certs/{file}", env!("CARGO_MANIFEST_DIR"));
            let der = std::fs::read(&path).unwrap();
            assert_eq!(signature_hash(&der), Some(hash), "{file}");
            assert_eq!(server_end_point(&der).len(), len, "{file}");
        }
        let pss = std::fs::read(format!(
            "{}/tests/fixtures/certs/rsa-pss-sha384.der",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert_eq!(server_end_point(&pss), sha2::Sha384::digest(&pss).to_vec());
    }
}
