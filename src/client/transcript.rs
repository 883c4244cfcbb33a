//! The transcript: every exchange, redacted, as reports show it.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::http::{Body, Request, Response};
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

/// One exchange as it went, unredacted: what a transport deferring its transcripts keeps.
#[derive(Debug, Clone)]
pub(super) struct RawExchange {
    pub request: Request,
    /// The response, or the error's text.
    pub outcome: Result<Response, String>,
    pub elapsed: Duration,
}

/// A transport fork's exchanges: redacted as they happened, or raw until read.
pub(super) enum Recording {
    Redacted(Vec<Exchange>),
    Raw(Vec<RawExchange>),
}

impl Recording {
    pub(super) fn new(deferred: bool) -> Self {
        if deferred {
            Recording::Raw(Vec::new())
        } else {
            Recording::Redacted(Vec::new())
        }
    }

    pub(super) fn push(&mut self, exchange: Exchange) {
        match self {
            Recording::Redacted(t) => t.push(exchange),
            // Not reached: a deferring transport keeps only raw exchanges.
            Recording::Raw(_) => {}
        }
    }

    pub(super) fn push_raw(&mut self, raw: RawExchange) {
        match self {
            Recording::Raw(t) => t.push(raw),
            Recording::Redacted(t) => {
                let error = raw.outcome.as_ref().err().cloned();
                t.push(exchange_of(
                    &raw.request,
                    raw.outcome.as_ref().ok(),
                    error,
                    raw.elapsed,
                ));
            }
        }
    }
}

/// Teaches `secrets` what the raw exchanges carried.
pub(super) fn learn(raw: &[RawExchange], secrets: &redact::Redactor) {
    for r in raw {
        redact::learn::request(secrets, &r.request);
        if let Ok(resp) = &r.outcome {
            redact::learn::response(secrets, resp);
        }
    }
}

/// The raw exchanges redacted: their secrets learned first (all of them, as a transport that
/// does not defer would know them), then each exchange redacted and scrubbed.
pub(super) fn redacted(raw: &[RawExchange], secrets: &redact::Redactor) -> Vec<Exchange> {
    learn(raw, secrets);
    raw.iter()
        .map(|r| {
            let mut e = exchange_of(
                &r.request,
                r.outcome.as_ref().ok(),
                r.outcome.as_ref().err().cloned(),
                r.elapsed,
            );
            e.scrub(secrets);
            e
        })
        .collect()
}

/// An exchange as transcripts show it, redacted by name and shape (not yet scrubbed of the
/// run's known values).
pub(super) fn exchange_of(
    req: &Request,
    resp: Option<&Response>,
    error: Option<String>,
    elapsed: Duration,
) -> Exchange {
    let header = |(k, v): (&reqwest::header::HeaderName, &reqwest::header::HeaderValue)| {
        let value = v.to_str().unwrap_or("<binary>");
        (k.to_string(), redact::header_value(k.as_str(), value))
    };
    Exchange {
        method: req.method.to_string(),
        url: redact::redact_url(req.url.as_str()),
        request_headers: req.headers.iter().map(|(k, v)| header((k, v))).collect(),
        request_body: req
            .body
            .as_ref()
            .map(|b| excerpt_request(b, &req.secret_fields)),
        status: resp.map(|r| r.status.as_u16()),
        response_headers: resp
            .map(|r| r.headers.iter().map(header).collect())
            .unwrap_or_default(),
        response_body: resp
            .filter(|r| !r.body.is_empty())
            .map(|r| excerpt_body(&r.body)),
        error: if resp.is_some() { None } else { error },
        elapsed,
    }
}

/// The first [`EXCERPT_CHARS`] characters of `s`, never ending inside a run of characters a
/// token may hold: a secret is either whole, and so found and scrubbed, or not there at all.
fn truncate(s: &str) -> String {
    let Some((end, _)) = s.char_indices().nth(EXCERPT_CHARS) else {
        return s.to_string();
    };
    let mut cut = &s[..end];
    if s[end..].starts_with(redact::is_token_char) {
        cut = cut.trim_end_matches(redact::is_token_char);
    }
    format!("{cut}… [{} more bytes]", s.len() - cut.len())
}

/// The `-v` log of one transport fork (one scenario): its exchanges are logged together when
/// the fork's last clone goes, scrubbed again then, so that a secret the run learns while the
/// scenario runs (another scenario's token, which the target echoed here first) is scrubbed
/// from the log too.
pub(super) struct VerboseLog {
    secrets: redact::Redactor,
    pending: std::sync::Mutex<Vec<Exchange>>,
}

impl VerboseLog {
    pub(super) fn new(secrets: redact::Redactor) -> Self {
        VerboseLog {
            secrets,
            pending: std::sync::Mutex::new(Vec::new()),
        }
    }

    pub(super) fn push(&self, exchange: Exchange) {
        if let Ok(mut p) = self.pending.lock() {
            p.push(exchange);
        }
    }
}

impl Drop for VerboseLog {
    fn drop(&mut self) {
        let pending = self
            .pending
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        for mut exchange in pending {
            exchange.scrub(&self.secrets);
            tracing::info!(target: "exchange", "\n{exchange}");
        }
    }
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
    fn an_excerpt_never_ends_inside_a_token() {
        let token = "t".repeat(100);
        let text = format!("{} {token} tail", "x ".repeat(EXCERPT_CHARS / 2 - 10));
        let cut = truncate(&text);
        let (kept, note) = cut.split_once('…').expect("a note");
        assert!(!kept.contains('t'), "{cut}");
        assert!(note.ends_with("more bytes]"), "{cut}");
        assert_eq!(truncate("short"), "short");
    }

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
