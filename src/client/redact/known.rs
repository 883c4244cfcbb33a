//! The secrets one run knows, and scrubbing them from text by value.
//!
//! A [`Redactor`] belongs to one run: its transport learns every secret that crosses the wire
//! (see [`super::learn`]), the plan adds the configured ones (the password, a client secret, a
//! login script's values), and every report, log line and transcript of the run is scrubbed
//! with it. Two runs in one process (the self-test runs dozens) share nothing, and what a run
//! learned goes away with it.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, RwLock};

use base64::Engine as _;

/// The sets are looked up at every position of every text scrubbed: a fast hash, seeded at
/// random per process.
type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use serde_json::Value;

use super::{redact, redact_text};

/// The shortest value learned off the wire: shorter ones would scrub ordinary words.
const MIN_LEARNED: usize = 6;
/// The shortest configured secret scrubbed (a password is scrubbed even when short).
const MIN_CONFIGURED: usize = 4;
/// The length of the start of a base64 core that is looked up at every position of a run.
const ANCHOR: usize = 12;
/// The length of the start of a token by which the token is looked up where a run may hold
/// one: a position's few candidate lengths are tried, not every length the run knows.
const TOKEN_START: usize = 6;
/// The bits of the filter of the cores' anchors (128 kB): a position whose window is not in
/// it starts no core, and is passed over without a lookup.
const FILTER_BITS: usize = 1 << 20;

/// The most values one run remembers. A run learns a few thousand; a long `load` run may learn
/// millions, of which only the newest are kept.
pub const MAX_VALUES: usize = 100_000;

/// The secret values of one run, in every form in which they may be echoed. Cloning shares
/// them.
#[derive(Clone, Default)]
pub struct Redactor {
    known: Arc<RwLock<Known>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} values)", self.len())
    }
}

#[derive(Default)]
struct Known {
    /// Forms made only of [`is_token_char`] characters, found in runs of such characters, so
    /// that the cost of a scrub does not grow with the number of secrets.
    tokens: HashSet<String>,
    /// The lengths of the forms shorter than [`TOKEN_START`] (configured secrets of four or
    /// five characters): a run is searched at those lengths.
    short_lengths: BTreeSet<usize>,
    /// The lengths of the longer forms, by their first [`TOKEN_START`] characters (a length
    /// once per form that has it, so that forgetting one form keeps the others').
    token_starts: HashMap<[u8; TOKEN_START], Vec<usize>>,
    /// Other forms (a password with spaces or punctuation): found by substring search, each
    /// with its searcher made once.
    phrases: Vec<(String, memchr::memmem::Finder<'static>)>,
    /// The base64 encodings of each value at the three alignments it may have inside a longer
    /// base64 text (`Basic base64(user:secret)`), without the groups the neighbours share:
    /// found anywhere inside a run, which is then redacted whole.
    cores: HashSet<String>,
    /// The first [`ANCHOR`] characters of each core, and the cores' lengths.
    core_anchors: HashSet<[u8; ANCHOR]>,
    core_lengths: BTreeSet<usize>,
    /// The rolling hashes of the anchors ([`window_hash`]), as [`FILTER_BITS`] bits; empty
    /// until the first core.
    core_filter: Vec<u64>,
    /// The values remembered, each with the shortest form kept of it, oldest first (forgotten
    /// first past [`MAX_VALUES`], their forms and cores made again to be removed).
    order: VecDeque<(String, usize)>,
    values: HashSet<String>,
}

impl Redactor {
    pub fn new() -> Self {
        Redactor::default()
    }

    /// How many values are remembered.
    pub fn len(&self) -> usize {
        self.known.read().map(|k| k.order.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Remembers a secret learned off the wire or made by the run, so that every output of
    /// the run is scrubbed of it: as it is, percent-encoded, form-encoded, base64-encoded
    /// (standard and URL-safe alphabets), JSON-escaped and HTML-escaped. Values shorter than
    /// six characters are not remembered.
    pub fn remember(&self, value: &str) {
        self.remember_from(value, MIN_LEARNED);
    }

    /// Remembers a configured secret (a password, a client secret, a login script's value),
    /// which is scrubbed from four characters on.
    pub fn remember_configured(&self, value: &str) {
        self.remember_from(value, MIN_CONFIGURED);
    }

    /// Remembers `value` and wraps it.
    pub fn secret(&self, value: impl Into<String>) -> super::Secret {
        let value = value.into();
        self.remember(&value);
        super::Secret::new(value)
    }

    fn remember_from(&self, value: &str, min: usize) {
        if value.chars().count() < min {
            return;
        }
        let Ok(mut known) = self.known.write() else {
            return;
        };
        if known.values.contains(value) {
            return;
        }
        for form in &kept_forms(value, min) {
            if form.chars().all(is_token_char) {
                known.add_token(form);
            } else if !known.phrases.iter().any(|(p, _)| p == form) {
                let finder = memchr::memmem::Finder::new(form.as_bytes()).into_owned();
                known.phrases.push((form.clone(), finder));
            }
        }
        for core in &base64_cores(value) {
            known.add_core(core);
        }
        known.values.insert(value.to_string());
        known.order.push_back((value.to_string(), min));
        while known.order.len() > MAX_VALUES {
            let Some((old, min)) = known.order.pop_front() else {
                break;
            };
            known.values.remove(&old);
            let cores = base64_cores(&old);
            for form in kept_forms(&old, min) {
                if form.chars().all(is_token_char) {
                    known.forget_token(&form);
                } else {
                    known.phrases.retain(|(p, _)| *p != form);
                }
            }
            for core in cores {
                known.cores.remove(&core);
            }
        }
    }

    /// `text` with every remembered value replaced by its redacted form.
    pub fn scrub(&self, text: &str) -> String {
        let Ok(known) = self.known.read() else {
            return text.to_string();
        };
        if known.order.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(is_token_char) {
            out.push_str(&rest[..start]);
            let run = &rest[start..];
            let end = run.find(|c: char| !is_token_char(c)).unwrap_or(run.len());
            known.scrub_run(&run[..end], &mut out);
            rest = &run[end..];
        }
        out.push_str(rest);
        for (phrase, finder) in &known.phrases {
            if finder.find(out.as_bytes()).is_some() {
                out = out.replace(phrase.as_str(), &redact(phrase));
            }
        }
        out
    }

    /// [`Redactor::scrub`], then what [`redact_text`] finds by name and by shape.
    pub fn text(&self, text: &str) -> String {
        redact_text(&self.scrub(text))
    }

    /// Scrubs every string of a JSON value (members' values, not their names).
    pub fn scrub_json(&self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.scrub(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_json(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.scrub_json(v)),
            _ => {}
        }
    }
}

impl Known {
    /// Copies `run` (a run of token characters) to `out` with every remembered token in it
    /// redacted. A token is found where it starts and ends at the run's edges or at a
    /// separator inside it (`.`, `/`, `+`, `~`, `-`, `_`, a percent-escape), so that
    /// `path/SECRET`, `SECRET.` and `x%20SECRET` are found, and `xSECRET` (another value) is
    /// not.
    fn scrub_run(&self, run: &str, out: &mut String) {
        if self.tokens.contains(run) || self.holds_a_core(run) {
            out.push_str(&redact(run));
            return;
        }
        let bytes = run.as_bytes();
        let is_bound = |p: usize| {
            p == 0
                || p == bytes.len()
                || is_separator(bytes[p - 1])
                || is_separator(bytes[p])
                || bytes[p] == b'%'
                || (p >= 3 && bytes[p - 3] == b'%')
        };
        let mut copied = 0;
        let mut start = 0;
        while start < bytes.len() {
            if !is_bound(start) {
                start += 1;
                continue;
            }
            // The longest token that starts here and ends at a bound: the longer forms by
            // their start, then the short ones.
            let fits = |len: usize| {
                let end = start + len;
                (end <= bytes.len() && is_bound(end) && self.tokens.contains(&run[start..end]))
                    .then_some(end)
            };
            let long = bytes
                .get(start..start + TOKEN_START)
                .and_then(|head| self.token_starts.get(&head_of(head)))
                .and_then(|lengths| lengths.iter().filter_map(|&len| fits(len)).max());
            let found = long.or_else(|| self.short_lengths.iter().rev().find_map(|&len| fits(len)));
            match found {
                Some(end) => {
                    out.push_str(&run[copied..start]);
                    out.push_str(&redact(&run[start..end]));
                    copied = end;
                    start = end;
                }
                None => start += 1,
            }
        }
        out.push_str(&run[copied..]);
    }
}

impl Known {
    fn add_token(&mut self, form: &str) {
        if form.len() < TOKEN_START {
            self.short_lengths.insert(form.len());
        } else {
            self.token_starts
                .entry(head_of(form.as_bytes()))
                .or_default()
                .push(form.len());
        }
        self.tokens.insert(form.to_string());
    }

    fn forget_token(&mut self, form: &str) {
        self.tokens.remove(form);
        if form.len() >= TOKEN_START {
            let head = head_of(form.as_bytes());
            if let Some(lengths) = self.token_starts.get_mut(&head) {
                if let Some(i) = lengths.iter().position(|&l| l == form.len()) {
                    lengths.swap_remove(i);
                }
                if lengths.is_empty() {
                    self.token_starts.remove(&head);
                }
            }
        }
    }

    fn add_core(&mut self, core: &str) {
        let mut anchor = [0; ANCHOR];
        anchor.copy_from_slice(&core.as_bytes()[..ANCHOR]);
        if self.core_filter.is_empty() {
            self.core_filter = vec![0; FILTER_BITS / 64];
        }
        let bit = filter_bit(window_hash(&anchor));
        self.core_filter[bit / 64] |= 1 << (bit % 64);
        self.core_anchors.insert(anchor);
        self.core_lengths.insert(core.len());
        self.cores.insert(core.to_string());
    }

    /// Whether a base64 core of a remembered value stands anywhere in `run`. Each position's
    /// window of [`ANCHOR`] characters is hashed in passing (a rolling hash), and looked up
    /// only when the filter has its hash.
    fn holds_a_core(&self, run: &str) -> bool {
        if run.len() < ANCHOR || self.cores.is_empty() {
            return false;
        }
        let bytes = run.as_bytes();
        let mut hash = window_hash(&bytes[..ANCHOR]);
        for start in 0..=run.len() - ANCHOR {
            if start > 0 {
                hash = roll(hash, bytes[start - 1], bytes[start + ANCHOR - 1]);
            }
            let bit = filter_bit(hash);
            let maybe = self
                .core_filter
                .get(bit / 64)
                .is_some_and(|w| w & (1 << (bit % 64)) != 0);
            if maybe
                && <[u8; ANCHOR]>::try_from(&bytes[start..start + ANCHOR])
                    .is_ok_and(|anchor| self.core_anchors.contains(&anchor))
                && self
                    .core_lengths
                    .iter()
                    .take_while(|&&len| start + len <= run.len())
                    .any(|&len| self.cores.contains(&run[start..start + len]))
            {
                return true;
            }
        }
        false
    }
}

/// The first [`TOKEN_START`] bytes of `bytes` (at least that long).
fn head_of(bytes: &[u8]) -> [u8; TOKEN_START] {
    let mut head = [0; TOKEN_START];
    head.copy_from_slice(&bytes[..TOKEN_START]);
    head
}

/// The forms of `value` that are remembered: those of `min` characters or more.
fn kept_forms(value: &str, min: usize) -> Vec<String> {
    forms_of(value)
        .into_iter()
        .filter(|f| f.chars().count() >= min)
        .collect()
}

/// The multiplier of the rolling hash of [`ANCHOR`] bytes.
const ROLL_BASE: u32 = 0x0100_0193;
/// `ROLL_BASE` to the power `ANCHOR - 1`: the weight of a window's first byte.
const ROLL_FIRST: u32 = {
    let mut w: u32 = 1;
    let mut i = 1;
    while i < ANCHOR {
        w = w.wrapping_mul(ROLL_BASE);
        i += 1;
    }
    w
};

/// A polynomial hash of a window of [`ANCHOR`] bytes.
fn window_hash(window: &[u8]) -> u32 {
    window.iter().fold(0u32, |h, &b| {
        h.wrapping_mul(ROLL_BASE).wrapping_add(u32::from(b))
    })
}

/// The hash of the window one byte further: `out` leaves at the front, `next` comes in.
fn roll(hash: u32, out: u8, next: u8) -> u32 {
    hash.wrapping_sub(u32::from(out).wrapping_mul(ROLL_FIRST))
        .wrapping_mul(ROLL_BASE)
        .wrapping_add(u32::from(next))
}

/// The filter bit of a window's hash (its bits mixed, then the top 20 of them).
fn filter_bit(hash: u32) -> usize {
    (hash.wrapping_mul(0x9E37_79B1) >> (32 - FILTER_BITS.trailing_zeros())) as usize
}

/// The parts of `value`'s base64 encodings (both alphabets) that stay the same whatever
/// precedes and follows it in a longer encoded text: for each of the three alignments, the
/// whole three-byte groups made only of its own bytes. Values too short for a core of
/// [`ANCHOR`] characters have none.
fn base64_cores(value: &str) -> Vec<String> {
    let bytes = value.as_bytes();
    let mut cores = Vec::new();
    for skip in 0..3 {
        let Some(rest) = bytes.get(skip..) else {
            continue;
        };
        let whole = rest.len() / 3 * 3;
        if whole / 3 * 4 < ANCHOR {
            continue;
        }
        for engine in [
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            cores.push(engine.encode(&rest[..whole]));
        }
    }
    cores.sort();
    cores.dedup();
    cores
}

/// Characters that may stand inside a token-like secret: unreserved URL characters, the
/// base64 alphabets and percent-escapes. `=`, `&`, quotes, spaces and the like separate. All
/// are ASCII, so a run of them can be cut at any byte.
pub fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/' | '%')
}

/// Token characters that may also separate a secret from what surrounds it in one run.
fn is_separator(b: u8) -> bool {
    matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// Every form in which `value` may be echoed.
fn forms_of(value: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(value);
    let b64_url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value);
    let percent = percent_encode_all(value);
    let json = serde_json::to_string(value)
        .map(|j| j.trim_matches('"').to_string())
        .unwrap_or_default();
    let mut forms = vec![
        value.to_string(),
        url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>(),
        percent.to_ascii_lowercase_escapes(),
        percent,
        b64,
        b64_url,
        json.replace('/', "\\/"),
        json,
        html_escape(value),
    ];
    forms.sort();
    forms.dedup();
    forms.retain(|f| !f.is_empty());
    forms
}

/// Every byte that is not unreserved, percent-encoded (the form a URL path or a strict encoder
/// gives, with `%20` for a space where form encoding gives `+`).
pub(super) fn percent_encode_all(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

trait LowercaseEscapes {
    fn to_ascii_lowercase_escapes(&self) -> String;
}

impl LowercaseEscapes for String {
    /// `%2F` as `%2f`: some encoders write lower-case hex digits.
    fn to_ascii_lowercase_escapes(&self) -> String {
        let mut out = String::with_capacity(self.len());
        let mut escape = 0;
        for c in self.chars() {
            if c == '%' {
                escape = 2;
                out.push(c);
            } else if escape > 0 {
                escape -= 1;
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }
}

fn html_escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_values_are_scrubbed_in_every_encoding() {
        let secrets = Redactor::new();
        let plain = "Echoed secret/value+1";
        secrets.remember(plain);
        let form: String = url::form_urlencoded::byte_serialize(plain.as_bytes()).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(plain);
        let b64_url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(plain);
        let texts = [
            format!("<p>The demo password is {plain}.</p>"),
            format!("error sending request for url (http://127.0.0.1:9/cb?x={form}&y=1)"),
            format!("GET /cb?x={} HTTP/1.1", percent_encode_all(plain)),
            format!(
                "GET /cb/{}/x",
                percent_encode_all(plain).to_ascii_lowercase_escapes()
            ),
            format!("{{\"echo\":\"{b64}\"}}"),
            format!("X-Echo: {b64_url}."),
            serde_json::json!({ "note": plain }).to_string(),
            format!("<b>{}</b>", html_escape(plain)),
        ];
        for t in &texts {
            let r = secrets.scrub(t);
            assert!(!r.contains(plain), "{r}");
            assert!(!r.contains(&form), "{r}");
            assert!(!r.contains(b64.trim_end_matches('=')), "{r}");
            assert!(!r.contains(&b64_url), "{r}");
            assert!(r.contains("[redacted]"), "{t} -> {r}");
        }
    }

    #[test]
    fn a_value_inside_a_longer_base64_text_is_found_at_every_alignment() {
        let secrets = Redactor::new();
        let secret = "s3cret-0123456789-value";
        secrets.remember(secret);
        for user in ["a", "ab", "abc", "client-id-1"] {
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
            let r = secrets.scrub(&format!("Authorization: Basic {basic}"));
            assert!(!r.contains(&basic), "{user}: {r}");
            assert!(r.contains("[redacted]"), "{user}: {r}");
        }
        let other = base64::engine::general_purpose::STANDARD.encode("alice:not-the-secret-at-all");
        assert_eq!(secrets.scrub(&other), other);
    }

    #[test]
    fn tokens_are_found_between_separators_and_not_inside_other_values() {
        let secrets = Redactor::new();
        secrets.remember("opaque-0123456789abcdefXYZ");
        let token = "opaque-0123456789abcdefXYZ";
        assert_eq!(
            secrets.scrub(&format!("token {token},then")),
            "token opaq…[redacted],then"
        );
        assert_eq!(
            secrets.scrub(&format!("see /path/{token}. Done")),
            "see /path/opaq…[redacted]. Done"
        );
        assert_eq!(
            secrets.scrub(&format!("a%20{token}%20b")),
            "a%20opaq…[redacted]%20b"
        );
        // A longer run that merely contains a remembered token is another value.
        assert_eq!(secrets.scrub(&format!("x{token}")), format!("x{token}"));
        assert_eq!(secrets.scrub(&format!("{token}x")), format!("{token}x"));
    }

    #[test]
    fn the_rolling_hash_is_the_hash_of_each_window() {
        let text = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9-~_+/%2F0123456789";
        let mut hash = window_hash(&text[..ANCHOR]);
        for start in 1..=text.len() - ANCHOR {
            hash = roll(hash, text[start - 1], text[start + ANCHOR - 1]);
            assert_eq!(hash, window_hash(&text[start..start + ANCHOR]), "{start}");
        }
    }

    #[test]
    fn the_longest_token_at_a_position_wins_and_forgotten_forms_are_not_found() {
        let secrets = Redactor::new();
        secrets.remember_configured("abcd");
        secrets.remember("abcd-efgh-ijkl");
        assert_eq!(secrets.scrub("x abcd-efgh-ijkl y"), "x abcd…[redacted] y");
        assert_eq!(secrets.scrub("x abcd-zz y"), "x …[redacted]-zz y");
        let mut known = Known::default();
        known.add_token("value-one-123");
        known.add_token("value-one-123456");
        known.forget_token("value-one-123456");
        let mut out = String::new();
        known.scrub_run("value-one-123456", &mut out);
        assert_eq!(out, "value-one-123456");
        out.clear();
        known.scrub_run("value-one-123", &mut out);
        assert_eq!(out, redact("value-one-123"));
    }

    #[test]
    fn short_values_are_not_remembered_but_short_passwords_are() {
        let secrets = Redactor::new();
        secrets.remember("alice");
        assert_eq!(secrets.scrub("alice logs in"), "alice logs in");
        secrets.remember_configured("pw42");
        assert_eq!(
            secrets.scrub("the password pw42."),
            "the password …[redacted]."
        );
    }

    #[test]
    fn two_runs_share_nothing_and_a_run_forgets_its_oldest_values_past_the_bound() {
        let one = Redactor::new();
        let two = Redactor::new();
        one.remember("secret-of-run-one");
        assert!(one.scrub("secret-of-run-one").contains("[redacted]"));
        assert_eq!(two.scrub("secret-of-run-one"), "secret-of-run-one");
        for i in 0..MAX_VALUES + 10 {
            two.remember(&format!("value-{i:08}"));
        }
        assert_eq!(two.len(), MAX_VALUES);
        assert_eq!(two.scrub("value-00000000"), "value-00000000");
        assert!(
            two.scrub(&format!("value-{:08}", MAX_VALUES + 9))
                .contains("[redacted]")
        );
    }

    #[test]
    fn json_strings_are_scrubbed_and_names_kept() {
        let secrets = Redactor::new();
        secrets.remember("wonderland-pass");
        let mut v = serde_json::json!({"wonderland-pass": ["x wonderland-pass y", 3]});
        secrets.scrub_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"wonderland-pass": ["x wond…[redacted] y", 3]})
        );
    }
}
