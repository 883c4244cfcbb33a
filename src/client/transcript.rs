//! The transcript: every exchange, redacted, as reports show it.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::http::Body;
use super::redact;

/// How much of a body a transcript keeps.
const EXCERPT_CHARS: usize = 1500;

/// One request and its response, redacted, as transcripts show it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub elapsed: Duration,
}

impl Exchange {
    /// Scrubs every value the run knows as a secret from what the exchange shows.
    pub fn scrub(&mut self, secrets: &redact::Redactor) {
        let texts = std::iter::once(&mut self.url)
            .chain(self.request_headers.iter_mut().map(|(_, v)| v))
            .chain(self.response_headers.iter_mut().map(|(_, v)| v))
            .chain(self.request_body.iter_mut())
            .chain(self.response_body.iter_mut())
            .chain(self.error.iter_mut());
        for text in texts {
            *text = secrets.scrub(text);
        }
    }
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "> {} {}", self.method, self.url)?;
        for (k, v) in &self.request_headers {
            writeln!(f, "> {k}: {v}")?;
        }
        if let Some(b) = &self.request_body {
            writeln!(f, ">")?;
            for line in b.lines() {
                writeln!(f, "> {line}")?;
            }
        }
        match (&self.status, &self.error) {
            (Some(s), _) => {
                writeln!(f, "< {s}")?;
                for (k, v) in &self.response_headers {
                    writeln!(f, "< {k}: {v}")?;
                }
                if let Some(b) = &self.response_body {
                    writeln!(f, "<")?;
                    for line in b.lines() {
                        writeln!(f, "< {line}")?;
                    }
                }
            }
            (None, Some(e)) => writeln!(f, "! {e}")?,
            (None, None) => writeln!(f, "! no response")?,
        }
        Ok(())
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= EXCERPT_CHARS {
        return s.to_string();
    }
    let cut: String = s.chars().take(EXCERPT_CHARS).collect();
    format!("{cut}… [{} more bytes]", s.len() - cut.len())
}

pub(super) fn excerpt_request(body: &Body, secret_fields: &[String]) -> String {
    match body {
        Body::Form(pairs) => {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter().map(|(k, v)| {
                    if secret_fields.contains(k) {
                        (k.clone(), redact::redact(v))
                    } else {
                        (k.clone(), v.clone())
                    }
                }))
                .finish();
            truncate(&redact::redact_form(&encoded))
        }
        Body::Json(v) => {
            let mut v = v.clone();
            redact::redact_json(&mut v);
            truncate(&v.to_string())
        }
        Body::Raw { bytes, .. } => truncate(&redact::redact_text(&String::from_utf8_lossy(bytes))),
    }
}

pub(super) fn excerpt_body(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            redact::redact_json(&mut v);
            truncate(&v.to_string())
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            if text.contains('=') && !text.contains(['<', ' ', '\n']) {
                truncate(&redact::redact_form(&text))
            } else {
                truncate(&redact::redact_text(&text))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_form_fields_are_redacted_whatever_their_name() {
        let body = Body::Form(vec![
            ("login".into(), "alice".into()),
            ("pw".into(), "wonderland-secret".into()),
        ]);
        let text = excerpt_request(&body, &["pw".to_string()]);
        assert!(text.contains("login=alice"), "{text}");
        assert!(!text.contains("wonderland-secret"), "{text}");
        assert!(!excerpt_request(&body, &[]).contains("login=x"));
    }
}
