//! HTTPS for the reference server (`--tls`): a fresh certificate authority made at start, and a
//! server certificate it signs for the loopback names. Only the CA certificate leaves memory (the
//! file clients are told to trust); no private key is ever written anywhere.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Names the server certificate is valid for.
pub const SERVER_NAMES: [&str; 3] = ["127.0.0.1", "::1", "localhost"];

/// How long the generated certificates are valid, counted from the day before start.
const VALIDITY_DAYS: i64 = 397;

/// A CA and the server certificate it signed, ready to serve.
pub struct Material {
    /// The CA certificate, PEM: what clients trust.
    pub ca_pem: String,
    /// The TLS configuration every listener uses.
    pub server_config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Material").finish_non_exhaustive()
    }
}

/// Makes a fresh CA (ECDSA P-256) and a server certificate for [`SERVER_NAMES`] signed by it.
pub fn generate() -> Result<Material, String> {
    let ca_key = KeyPair::generate().map_err(|e| format!("cannot make the CA key: {e}"))?;
    let mut ca = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "reference-server test CA");
    dn.push(DnType::OrganizationName, "mcp-oauth-conformance");
    ca.distinguished_name = dn;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut ca);
    let ca_cert = ca
        .self_signed(&ca_key)
        .map_err(|e| format!("cannot sign the CA certificate: {e}"))?;
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate().map_err(|e| format!("cannot make the server key: {e}"))?;
    let mut leaf = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    leaf.distinguished_name = dn;
    leaf.subject_alt_names = vec![
        SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
        SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()),
        SanType::DnsName(
            "localhost"
                .to_string()
                .try_into()
                .map_err(|e| format!("bad DNS name: {e}"))?,
        ),
    ];
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    set_validity(&mut leaf);
    let leaf_cert = leaf
        .signed_by(&server_key, &issuer)
        .map_err(|e| format!("cannot sign the server certificate: {e}"))?;
    // The CA key goes no further than this function.
    drop(issuer);

    let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS configuration: {e}"))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| format!("TLS configuration: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Material {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(config),
    })
}

/// Where the CA certificate goes when no file is named: the temp dir, named after this process
/// and the main listener's port (so servers started side by side in one process do not collide).
pub fn default_ca_path(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!(
        "reference-server-{}-{port}-ca.pem",
        std::process::id()
    ))
}

/// Writes the CA certificate to `path`; returns the absolute path written.
pub fn write_ca(path: &Path, pem: &str) -> Result<PathBuf, std::io::Error> {
    let abs = std::path::absolute(path)?;
    std::fs::write(&abs, pem)?;
    Ok(abs)
}

/// Valid from the day before today to [`VALIDITY_DAYS`] later (whole days, UTC).
fn set_validity(params: &mut CertificateParams) {
    let today = i64::try_from(crate::clock::now_secs() / 86_400).unwrap_or(0);
    let day = |n: i64| {
        let (y, m, d) = civil_from_days(n);
        rcgen::date_time_ymd(y, m, d)
    };
    params.not_before = day(today - 1);
    params.not_after = day(today + VALIDITY_DAYS);
}

/// The proleptic Gregorian date of `days` since 1970-01-01.
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m as u8, d as u8)
}

/// rustls needs one process-wide crypto provider; the first caller installs ring's.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The TLS settings of an HTTP client that trusts the platform's root certificates, as the
/// HTTP client library makes them by default (the platform's verifier; HTTP/2 and HTTP/1.1
/// offered), with the verifier made once per process: making one reads every root certificate
/// on the system, and the self-test starts two clients for each of its hundreds of runs.
/// `None` when it cannot be made: the caller lets the library make its own.
pub fn platform_client_config() -> Option<rustls::ClientConfig> {
    static VERIFIER: std::sync::LazyLock<Option<Arc<rustls_platform_verifier::Verifier>>> =
        std::sync::LazyLock::new(|| {
            install_crypto_provider();
            let provider = rustls::crypto::CryptoProvider::get_default()?.clone();
            rustls_platform_verifier::Verifier::new(provider)
                .ok()
                .map(Arc::new)
        });
    let verifier = VERIFIER.as_ref()?.clone();
    let provider = rustls::crypto::CryptoProvider::get_default()?.clone();
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Some(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_become_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_000), (2024, 10, 4));
    }

    #[test]
    fn material_is_made() {
        install_crypto_provider();
        let m = generate().expect("generates");
        assert!(m.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!m.ca_pem.contains("PRIVATE KEY"));
    }
}
