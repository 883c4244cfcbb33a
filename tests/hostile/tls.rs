//! HTTPS listeners (127.0.0.1 only) whose certificates a careful client refuses: expired, for
//! another host, or self-signed. Each makes its own CA with rcgen; no key leaves memory.

use std::io::Read;
use std::net::TcpListener;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

#[derive(Debug, Clone, Copy)]
pub enum BadCert {
    /// Signed by the trusted CA, valid for 127.0.0.1, expired in 2021.
    Expired,
    /// Signed by the trusted CA, valid only for `wrong-host.example`.
    WrongHost,
    /// Valid for 127.0.0.1, but signed by itself (no trusted CA).
    SelfSigned,
}

/// A listener's origin and the CA certificate (PEM) a client may be told to trust.
pub struct Listener {
    pub base: String,
    pub ca_pem: String,
}

fn leaf_params(names: SanType, expired: bool) -> CertificateParams {
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name.push(DnType::CommonName, "hostile");
    leaf.subject_alt_names = vec![names];
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = rcgen::date_time_ymd(2020, 1, 1);
    leaf.not_after = if expired {
        rcgen::date_time_ymd(2021, 1, 1)
    } else {
        rcgen::date_time_ymd(2099, 1, 1)
    };
    leaf
}

/// Starts a TLS listener with the bad certificate in a thread; it completes no handshake a
/// careful client accepts, and serves nothing.
pub fn start(bad: BadCert) -> Listener {
    let loopback = SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let other = SanType::DnsName("wrong-host.example".try_into().expect("dns name"));
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "hostile test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = rcgen::date_time_ymd(2020, 1, 1);
    ca.not_after = rcgen::date_time_ymd(2099, 1, 1);
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("server key");
    let leaf = match bad {
        BadCert::Expired => leaf_params(loopback, true).signed_by(&key, &issuer),
        BadCert::WrongHost => leaf_params(other, false).signed_by(&key, &issuer),
        BadCert::SelfSigned => leaf_params(loopback, false).self_signed(&key),
    }
    .expect("server certificate");
    let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config"),
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local addr").port();
    std::thread::spawn(move || {
        for socket in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, socket);
                let mut buf = [0u8; 1024];
                // The client aborts the handshake; nothing is ever served.
                let _ = tls.read(&mut buf);
            });
        }
    });
    Listener {
        base: format!("https://127.0.0.1:{port}"),
        ca_pem: ca_cert.pem(),
    }
}
