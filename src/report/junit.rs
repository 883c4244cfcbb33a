//! JUnit XML: one testsuite per feature, one testcase per scenario (classname = area), a
//! `<failure>` for a violated MUST, an `<error>` for a harness fault, `<skipped>` with its
//! reason, warnings in `system-out` (failures only under `--strict`), and properties carrying
//! the requirement IDs, the level and the spec revision.

use std::io::Cursor;

use junit_report::{ReportBuilder, TestCase, TestCaseBuilder, TestSuiteBuilder};
use quick_xml::events::{BytesEnd, BytesStart, Event};
use quick_xml::{Reader, Writer};

use super::{ScenarioRecord, Verdict};

/// The JUnit document for these records.
pub fn render(records: &[ScenarioRecord], strict: bool) -> Result<String, String> {
    // Suites in feature order; testcases in scenario order within each.
    let mut suites: Vec<(String, Vec<&ScenarioRecord>)> = Vec::new();
    for r in records {
        match suites.iter_mut().find(|(f, _)| *f == r.feature) {
            Some((_, list)) => list.push(r),
            None => suites.push((r.feature.clone(), vec![r])),
        }
    }
    let mut properties: Vec<Vec<(String, String)>> = Vec::new();
    let mut report = ReportBuilder::new();
    for (feature, list) in &suites {
        let mut suite = TestSuiteBuilder::new(feature);
        for r in list {
            suite.add_testcase(testcase(r, strict));
            properties.push(vec![
                ("requirements".into(), r.ids.join(" ")),
                ("level".into(), r.severity.to_string()),
                ("revision".into(), r.revision.clone()),
                ("verdict".into(), r.verdict.label().into()),
            ]);
        }
        report.add_testsuite(suite.build());
    }
    let mut xml = Vec::new();
    report
        .build()
        .write_xml(&mut xml)
        .map_err(|e| format!("cannot write JUnit: {e}"))?;
    add_properties(&xml, &properties)
}

fn testcase(r: &ScenarioRecord, strict: bool) -> TestCase {
    let time = junit_report::Duration::try_from(r.duration).unwrap_or(junit_report::Duration::ZERO);
    let message = r.message.clone().unwrap_or_default();
    let first_line = message.lines().next().unwrap_or("").to_string();
    let transcript = r.transcript_text();
    let detail = |m: &str| {
        if transcript.is_empty() {
            m.to_string()
        } else {
            format!("{m}\n\nHTTP exchanges (redacted):\n{transcript}")
        }
    };
    let warnings = r.warnings.join("\n\n");
    let first_warning = r
        .warnings
        .first()
        .and_then(|w| w.lines().next())
        .unwrap_or("");
    let mut tc = match r.verdict {
        Verdict::Pass => TestCaseBuilder::success(&r.name, time),
        Verdict::Info => {
            let mut t = TestCaseBuilder::success(&r.name, time);
            t.set_system_out(&format!("INFO\n{}", detail(&message)));
            t
        }
        Verdict::Known => {
            let mut t = TestCaseBuilder::skipped_with_cause(&r.name, "known failure", &first_line);
            t.set_system_out(&detail(&message));
            t
        }
        Verdict::Warn if strict => {
            let mut t = TestCaseBuilder::failure(&r.name, time, "warning", first_warning);
            t.set_trace(&detail(&warnings));
            t
        }
        Verdict::Warn => {
            let mut t = TestCaseBuilder::success(&r.name, time);
            t.set_system_out(&format!("WARNING\n{}", detail(&warnings)));
            t
        }
        Verdict::Fail => {
            let kind = r.violated.as_deref().unwrap_or("violation");
            let mut t = TestCaseBuilder::failure(&r.name, time, kind, &first_line);
            t.set_trace(&detail(&message));
            t
        }
        Verdict::Error => {
            let mut t = TestCaseBuilder::error(&r.name, time, "harness", &first_line);
            t.set_trace(&detail(&message));
            t
        }
        Verdict::Skip => TestCaseBuilder::skipped_with_cause(&r.name, "skipped", &first_line),
    };
    tc.set_classname(&r.area);
    tc.set_filepath(&r.file);
    if matches!(r.verdict, Verdict::Fail | Verdict::Error) && !r.warnings.is_empty() {
        tc.set_system_out(&warnings);
    }
    tc.build()
}

/// Inserts `<properties>` as the first child of each `<testcase>`, in document order.
fn add_properties(xml: &[u8], properties: &[Vec<(String, String)>]) -> Result<String, String> {
    let mut reader = Reader::from_reader(xml);
    let mut writer = Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 2);
    let mut buf = Vec::new();
    let mut index = 0;
    let err = |e: &dyn std::fmt::Display| format!("cannot add JUnit properties: {e}");
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| err(&e))?;
        match event {
            Event::Eof => break,
            Event::Start(e) if e.name().as_ref() == b"testcase" => {
                writer
                    .write_event(Event::Start(e.to_owned()))
                    .map_err(|e| err(&e))?;
                write_properties(&mut writer, properties.get(index)).map_err(|e| err(&e))?;
                index += 1;
            }
            Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                let start = e.to_owned();
                writer
                    .write_event(Event::Start(start))
                    .map_err(|e| err(&e))?;
                write_properties(&mut writer, properties.get(index)).map_err(|e| err(&e))?;
                writer
                    .write_event(Event::End(BytesEnd::new("testcase")))
                    .map_err(|e| err(&e))?;
                index += 1;
            }
            Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
            other => writer.write_event(other).map_err(|e| err(&e))?,
        }
        buf.clear();
    }
    String::from_utf8(writer.into_inner().into_inner()).map_err(|e| err(&e))
}

fn write_properties(
    w: &mut Writer<Cursor<Vec<u8>>>,
    props: Option<&Vec<(String, String)>>,
) -> std::io::Result<()> {
    let Some(props) = props else {
        return Ok(());
    };
    w.write_event(Event::Start(BytesStart::new("properties")))?;
    for (k, v) in props {
        let mut p = BytesStart::new("property");
        p.push_attribute(("name", k.as_str()));
        p.push_attribute(("value", v.as_str()));
        w.write_event(Event::Empty(p))?;
    }
    w.write_event(Event::End(BytesEnd::new("properties")))
}

#[cfg(test)]
mod tests {
    use super::super::tests::record;
    use super::*;

    #[test]
    fn verdicts_map_to_junit_elements() {
        let mut fail = record(Verdict::Fail, &["PKCE-06"]);
        fail.message =
            Some("violation of PKCE-06 (MUST): …\n  Expected: 400\n  Actual:   200".into());
        fail.violated = Some("PKCE-06".into());
        let mut err = record(Verdict::Error, &["RS-06"]);
        err.message = Some("harness error: timeout".into());
        let mut skip = record(Verdict::Skip, &["REFRESH-01"]);
        skip.message = Some("skipped: the AS issued no refresh token".into());
        let mut warn = record(Verdict::Warn, &["CODE-03"]);
        warn.warnings = vec!["CODE-03 (SHOULD): …".into()];
        let records = [record(Verdict::Pass, &["PKCE-02"]), fail, err, skip, warn];

        let xml = render(&records, false).expect("renders");
        assert!(xml.contains(r#"<testsuite id="0" name="PKCE""#), "{xml}");
        assert!(xml.contains(r#"tests="5""#));
        assert!(xml.contains(r#"failures="1""#));
        assert!(xml.contains(r#"errors="1""#));
        assert!(
            xml.contains(r#"<failure type="PKCE-06" message="violation of PKCE-06 (MUST): …""#),
            "{xml}"
        );
        assert!(xml.contains(r#"<error type="harness" message="harness error: timeout""#));
        assert!(xml.contains("the AS issued no refresh token"));
        assert!(xml.contains(r#"<property name="requirements" value="PKCE-06"/>"#));
        assert!(xml.contains(r#"<property name="revision" value="2025-11-25"/>"#));
        assert!(xml.contains(r#"classname="pkce""#));
        assert!(xml.contains("WARNING"));
        assert_eq!(xml.matches("<properties>").count(), 5);

        let strict = render(&records, true).expect("renders");
        assert!(strict.contains(r#"failures="2""#), "{strict}");
    }
}
