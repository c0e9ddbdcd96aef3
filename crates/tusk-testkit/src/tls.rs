//! Certificates for a cluster started with `tls()`: a private CA, a server
//! certificate for `localhost`, 127.0.0.1 and ::1, and client certificates on
//! demand (all ECDSA P-256, made by rcgen in microseconds).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SanType, SerialNumber,
};

/// The serial number of a TLS cluster's server certificate (what a CRL
/// from [`Tls::crl`] revokes).
const SERVER_SERIAL: u64 = 0x7e57_0001;

use crate::env::{write_private, Env};
use crate::error::{Error, Result};

/// A cluster's certificate authority and the files it wrote.
pub(crate) struct Tls {
    issuer: Issuer<'static, KeyPair>,
    dir: PathBuf,
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    issued: AtomicU64,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("ca_cert", &self.ca_cert)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Makes the CA and the server certificate, writing them into `dir`
    /// (created, owned by the server's user).
    pub fn create(env: &Env, dir: &Path) -> Result<Tls> {
        env.make_dir(dir)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tusk-testkit CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let mut server = CertificateParams::new(Vec::<String>::new())?;
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        server.subject_alt_names = vec![
            SanType::DnsName("localhost".try_into()?),
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ];
        server.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server.use_authority_key_identifier_extension = true;
        server.serial_number = Some(SerialNumber::from(SERVER_SERIAL));
        let server_key = KeyPair::generate()?;
        let server_cert = server.signed_by(&server_key, &issuer)?;

        let tls = Tls {
            issuer,
            dir: dir.to_owned(),
            ca_cert: dir.join("ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            issued: AtomicU64::new(0),
        };
        env.write_file(&tls.ca_cert, ca_cert.pem().as_bytes(), 0o644)?;
        env.write_file(&tls.server_cert, server_cert.pem().as_bytes(), 0o644)?;
        // PostgreSQL refuses a key that others can read.
        env.write_file(
            &tls.server_key,
            server_key.serialize_pem().as_bytes(),
            0o600,
        )?;
        Ok(tls)
    }

    /// A certificate revocation list signed by the CA, revoking the server
    /// certificate or nothing; returns its PEM file.
    pub fn crl(&self, revoke_server: bool) -> Result<PathBuf> {
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        let params = CertificateRevocationListParams {
            this_update: date_time_ymd(2024, 1, 1),
            next_update: date_time_ymd(2100, 1, 1),
            crl_number: SerialNumber::from(n + 1),
            issuing_distribution_point: None,
            revoked_certs: if revoke_server {
                vec![RevokedCertParams {
                    serial_number: SerialNumber::from(SERVER_SERIAL),
                    revocation_time: date_time_ymd(2024, 1, 1),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                }]
            } else {
                Vec::new()
            },
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer)?;
        let path = self.dir.join(format!("crl-{n}.pem"));
        write_private(&path, crl.pem()?.as_bytes(), 0o644)?;
        Ok(path)
    }

    /// A client certificate with CN = `user`, signed by the CA; returns
    /// (certificate, key). The files belong to the calling user (libpq
    /// insists on that) and the key has mode 0600.
    pub fn client_cert(&self, user: &str) -> Result<(PathBuf, PathBuf)> {
        if user.is_empty() {
            return Err(Error::InvalidArgument(
                "client_cert needs a user name".into(),
            ));
        }
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, user);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;

        let safe: String = user
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        let cert_path = self.dir.join(format!("client-{safe}-{n}.crt"));
        let key_path = self.dir.join(format!("client-{safe}-{n}.key"));
        write_private(&cert_path, cert.pem().as_bytes(), 0o644)?;
        write_private(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
        Ok((cert_path, key_path))
    }
}
