//! An HTTP error's chain of causes, read for what the target did: a certificate that is not
//! trusted, a response head too large.

/// The certificate verification failure somewhere in `e`'s chain of causes, if that is what
/// it is.
pub fn certificate_problem(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let tls = err.downcast_ref::<rustls::Error>().or_else(|| {
            err.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(c)) = tls {
            return Some(format!("{c:?}"));
        }
        cur = err.source();
    }
    // The verifier's error may reach us wrapped in a type this crate cannot name; its text is
    // rustls' own.
    let text = error_chain(e);
    text.find("invalid peer certificate: ").map(|i| {
        let rest = &text[i + "invalid peer certificate: ".len()..];
        rest.split([':', ')'])
            .next()
            .unwrap_or(rest)
            .trim()
            .to_string()
    })
}

/// The HTTP stack's words for a response it refused, with the limit that made it refuse.
pub(super) fn explain(chain: &str) -> String {
    if chain.contains("message head is too large") {
        format!(
            "{chain} (over {} header lines or about 400 kB of status line and headers)",
            super::limits::MAX_HEADER_LINES
        )
    } else {
        chain.to_string()
    }
}

pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_failure_is_recognised_in_the_chain_of_causes() {
        let inner = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert_eq!(
            certificate_problem(&inner).as_deref(),
            Some("UnknownIssuer")
        );
        let other = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(certificate_problem(&other), None);
    }
}
