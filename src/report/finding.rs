//! A violation, warning, error or skip as the reports show it, read back from the text a
//! record carries (`Violation`'s `Display`): the headline, and Expected and Actual apart.

use serde::Serialize;

/// A violation, warning, error or skip as the reports show it: the headline (the requirement
/// and its text, or the reason), and expected versus actual where there are both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub headline: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// Why a MUST was graded as a warning.
    pub graded: Option<String>,
}

impl Finding {
    /// Reads a record's message or warning, written by `Violation`'s `Display`:
    /// `ID (MUST): text`, `  Expected: …`, `  Actual:   …`, `  Sources:  …`,
    /// `  Graded as a warning: …`, each value possibly over several lines.
    pub fn parse(text: &str) -> Finding {
        let text = text.strip_prefix("violation of ").unwrap_or(text);
        let mut f = Finding::default();
        let mut field = Field::Headline;
        for line in text.lines() {
            let labelled = [
                ("  Expected: ", Field::Expected),
                ("  Actual:   ", Field::Actual),
                ("  Sources:  ", Field::Sources),
                ("  Graded as a warning: ", Field::Graded),
            ]
            .into_iter()
            .find_map(|(label, to)| line.strip_prefix(label).map(|v| (to, v)));
            let value = match labelled {
                Some((to, v)) => {
                    field = to;
                    v
                }
                None => line,
            };
            let slot = match field {
                Field::Headline => &mut f.headline,
                Field::Expected => f.expected.get_or_insert_with(String::new),
                Field::Actual => f.actual.get_or_insert_with(String::new),
                Field::Graded => f.graded.get_or_insert_with(String::new),
                // The catalogue gives the links.
                Field::Sources => continue,
            };
            if labelled.is_none() && !slot.is_empty() {
                slot.push('\n');
            }
            slot.push_str(value);
        }
        f
    }

    /// One line for a table: the actual behaviour where there is one, else the headline.
    pub fn one_line(&self) -> String {
        let text = self.actual.as_deref().unwrap_or(&self.headline);
        let text = text
            .strip_prefix("harness error: ")
            .or_else(|| text.strip_prefix("skipped: "))
            .unwrap_or(text);
        let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        shorten(line.trim(), 200)
    }
}

/// At most `max` characters, with `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The part of a violation's text a line belongs to.
#[derive(Clone, Copy)]
enum Field {
    Headline,
    Expected,
    Actual,
    Sources,
    Graded,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_read_expected_and_actual() {
        let f = Finding::parse(
            "violation of PKCE-06 (MUST): A wrong verifier is refused.\n  Expected: 400 invalid_grant\n  Actual:   200 with tokens\n  and a second line\n  Sources:  RFC 7636 §4.6 <https://x>\n  Graded as a warning: the other route",
        );
        assert_eq!(f.headline, "PKCE-06 (MUST): A wrong verifier is refused.");
        assert_eq!(f.expected.as_deref(), Some("400 invalid_grant"));
        assert_eq!(
            f.actual.as_deref(),
            Some("200 with tokens\n  and a second line")
        );
        assert_eq!(f.graded.as_deref(), Some("the other route"));
        assert_eq!(f.one_line(), "200 with tokens");
    }

    #[test]
    fn other_messages_are_a_headline() {
        let f = Finding::parse("skipped: no refresh token was issued\nsecond line");
        assert_eq!(
            f.headline,
            "skipped: no refresh token was issued\nsecond line"
        );
        assert_eq!(f.expected, None);
        assert_eq!(f.one_line(), "no refresh token was issued");
        assert_eq!(shorten("abcdef", 4), "abc…");
    }
}
