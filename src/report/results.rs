//! `results.json` in full: what [`super::results_json`] writes for tools, plus everything the
//! other reports are made of (the run's header, each scenario's feature, warned requirements
//! and redacted exchanges, the shard, the baseline's outcome), and the reader that turns such
//! a file back into records. `merge-reports` writes JUnit, HTML and the summary from files
//! read here, with the same writers a run uses, so a merged report cannot drift from a run's.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::requests::{EndpointKind, KindCount};
use super::view::RunInfo;
use super::{FailOn, Requests, ScenarioRecord, Verdict};
use crate::baseline::Outcome;
use crate::client::http::Exchange;
use crate::client::ratelimit::{EndpointStats, RequestStats};
use crate::requirements::{Impact, Severity};
use crate::run::shard::ShardInfo;

/// What identifies a run beside its records and header: the target as something stable
/// (an embedded server's URL changes with every start, its layout and defects do not), the
/// shard, and how the baseline fared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub target_id: String,
    pub shard: Option<ShardInfo>,
    pub baseline: Vec<Outcome>,
}

/// The whole `results.json` of a run.
pub fn render(records: &[ScenarioRecord], info: &RunInfo, identity: &Identity) -> Value {
    let requests = info.requests.clone().unwrap_or_default();
    let mut json = super::results_json(
        records,
        &info.revision,
        info.exit_code,
        info.fail_on,
        &requests,
    );
    if let Some(o) = json.as_object_mut() {
        o.insert(
            "harness_version".into(),
            super::view::harness_version().into(),
        );
        o.insert("target".into(), info.target.clone().into());
        o.insert("target_id".into(), identity.target_id.clone().into());
        o.insert(
            "revision_reason".into(),
            info.revision_reason.clone().into(),
        );
        o.insert("strict".into(), info.strict.into());
        o.insert(
            "finished".into(),
            humantime::format_rfc3339_millis(info.finished)
                .to_string()
                .into(),
        );
        o.insert("shard".into(), serde_json::json!(identity.shard));
        o.insert("baseline".into(), serde_json::json!(identity.baseline));
    }
    if let Some(list) = json["scenarios"].as_array_mut() {
        for (s, r) in list.iter_mut().zip(records) {
            if let Some(o) = s.as_object_mut() {
                o.insert("feature".into(), r.feature.clone().into());
                o.insert("warned".into(), serde_json::json!(r.warned));
                let exchanges: Vec<ExchangeJson> =
                    r.transcript.iter().map(ExchangeJson::from).collect();
                o.insert("transcript".into(), serde_json::json!(exchanges));
            }
        }
    }
    json
}

/// A run as read back from its `results.json`.
#[derive(Debug, Clone)]
pub struct ReadResults {
    pub records: Vec<ScenarioRecord>,
    pub info: RunInfo,
    pub identity: Identity,
    pub harness_version: String,
}

/// The oldest layout the reader takes; older files lack what the reports need.
const OLDEST_READABLE: u32 = 2;

/// Reads a `results.json` written by this harness. A file of another layout, or one written
/// before the fields the reports need were added, is refused with the reason.
pub fn read(path: &Path) -> Result<ReadResults, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn parse(text: &str) -> Result<ReadResults, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let version = value["schema_version"].as_u64().unwrap_or(0);
    if version < u64::from(OLDEST_READABLE) || version > u64::from(super::RESULTS_SCHEMA_VERSION) {
        return Err(format!(
            "results.json schema_version {version}; this harness reads {OLDEST_READABLE} to {}",
            super::RESULTS_SCHEMA_VERSION
        ));
    }
    if value.get("target_id").is_none() || value.get("harness_version").is_none() {
        return Err(
            "written by an older harness: it lacks target_id, harness_version and the scenarios' exchanges, which merging needs; run it again with this version".into(),
        );
    }
    let file: FileJson = serde_json::from_value(value).map_err(|e| e.to_string())?;
    let records = file
        .scenarios
        .into_iter()
        .map(ScenarioJson::into_record)
        .collect::<Result<Vec<_>, String>>()?;
    let finished = humantime::parse_rfc3339_weak(&file.finished)
        .map_err(|e| format!("finished {:?}: {e}", file.finished))?;
    let fail_on: FailOn = file.fail_on.parse()?;
    Ok(ReadResults {
        records,
        info: RunInfo {
            target: file.target,
            revision: file.revision,
            revision_reason: file.revision_reason,
            exit_code: file.exit_code,
            strict: file.strict,
            fail_on,
            requests: Some(file.requests.into_requests()),
            finished,
        },
        identity: Identity {
            target_id: file.target_id,
            shard: file.shard,
            baseline: file.baseline,
        },
        harness_version: file.harness_version,
    })
}

/// The fields the reader needs; the totals and the failures by impact are worked out again
/// from the scenarios.
#[derive(Deserialize)]
struct FileJson {
    harness_version: String,
    target: String,
    target_id: String,
    revision: String,
    revision_reason: String,
    exit_code: u8,
    fail_on: String,
    strict: bool,
    finished: String,
    shard: Option<ShardInfo>,
    #[serde(default)]
    baseline: Vec<Outcome>,
    requests: RequestsJson,
    scenarios: Vec<ScenarioJson>,
}

#[derive(Deserialize)]
struct ScenarioJson {
    name: String,
    requirements: Vec<String>,
    level: Severity,
    area: String,
    file: String,
    line: usize,
    revision: String,
    verdict: String,
    violated: Option<String>,
    impact: Option<Impact>,
    message: Option<String>,
    warnings: Vec<String>,
    duration_ms: u64,
    feature: String,
    warned: Vec<String>,
    transcript: Vec<ExchangeJson>,
}

impl ScenarioJson {
    fn into_record(self) -> Result<ScenarioRecord, String> {
        let verdict = parse_verdict(&self.verdict)
            .ok_or_else(|| format!("scenario {:?}: verdict {:?}", self.name, self.verdict))?;
        Ok(ScenarioRecord {
            feature: self.feature,
            area: self.area,
            file: self.file,
            name: self.name,
            line: self.line,
            ids: self.requirements,
            severity: self.level,
            revision: self.revision,
            verdict,
            message: self.message,
            violated: self.violated,
            impact: self.impact,
            warnings: self.warnings,
            warned: self.warned,
            transcript: self.transcript.into_iter().map(Exchange::from).collect(),
            duration: Duration::from_millis(self.duration_ms),
        })
    }
}

fn parse_verdict(s: &str) -> Option<Verdict> {
    [
        Verdict::Pass,
        Verdict::Info,
        Verdict::Warn,
        Verdict::Skip,
        Verdict::Known,
        Verdict::Fail,
        Verdict::Error,
    ]
    .into_iter()
    .find(|v| v.label().eq_ignore_ascii_case(s))
}

/// One redacted exchange as `results.json` keeps it.
#[derive(Serialize, Deserialize)]
struct ExchangeJson {
    method: String,
    url: String,
    request_headers: Vec<(String, String)>,
    request_body: Option<String>,
    status: Option<u16>,
    response_headers: Vec<(String, String)>,
    response_body: Option<String>,
    error: Option<String>,
    elapsed_ms: u64,
}

impl From<&Exchange> for ExchangeJson {
    fn from(e: &Exchange) -> Self {
        ExchangeJson {
            method: e.method.clone(),
            url: e.url.clone(),
            request_headers: e.request_headers.clone(),
            request_body: e.request_body.clone(),
            status: e.status,
            response_headers: e.response_headers.clone(),
            response_body: e.response_body.clone(),
            error: e.error.clone(),
            elapsed_ms: u64::try_from(e.elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

impl From<ExchangeJson> for Exchange {
    fn from(e: ExchangeJson) -> Self {
        Exchange {
            method: e.method,
            url: e.url,
            request_headers: e.request_headers,
            request_body: e.request_body,
            status: e.status,
            response_headers: e.response_headers,
            response_body: e.response_body,
            error: e.error,
            elapsed: Duration::from_millis(e.elapsed_ms),
        }
    }
}

#[derive(Deserialize)]
struct RequestsJson {
    by_endpoint: std::collections::BTreeMap<String, KindJson>,
    estimate: Option<EstimateJson>,
    endpoints: Vec<EndpointJson>,
}

#[derive(Deserialize)]
struct EstimateJson {
    registrations: usize,
    authorizations: usize,
    token_requests: usize,
}

#[derive(Deserialize)]
struct KindJson {
    requests: u64,
    rate_limited: u64,
    waited_secs: f64,
}

#[derive(Deserialize)]
struct EndpointJson {
    method: String,
    url: String,
    requests: u64,
    limited: u64,
    waited_secs: f64,
    paced_secs: f64,
}

fn duration(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or_default()
}

impl RequestsJson {
    fn into_requests(self) -> Requests {
        let by_kind = EndpointKind::ALL
            .iter()
            .map(|k| {
                let c = self
                    .by_endpoint
                    .get(&k.name().to_lowercase())
                    .map(|c| KindCount {
                        requests: c.requests,
                        limited: c.rate_limited,
                        waited: duration(c.waited_secs),
                    })
                    .unwrap_or_default();
                (*k, c)
            })
            .collect();
        Requests {
            by_kind,
            endpoints: RequestStats {
                endpoints: self
                    .endpoints
                    .into_iter()
                    .map(|e| EndpointStats {
                        method: e.method,
                        url: e.url,
                        requests: e.requests,
                        limited: e.limited,
                        waited: duration(e.waited_secs),
                        paced: duration(e.paced_secs),
                    })
                    .collect(),
            },
            estimate: self.estimate.map(|e| super::requests::Estimate {
                registrations: e.registrations,
                authorizations: e.authorizations,
                token_requests: e.token_requests,
            }),
        }
    }
}

/// Whether two finish times are the same to the millisecond (what the file keeps).
pub fn same_millisecond(a: SystemTime, b: SystemTime) -> bool {
    let ms = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default()
    };
    ms(a) == ms(b)
}

#[cfg(test)]
mod tests {
    use super::super::tests::record;
    use super::*;
    use crate::client::ratelimit::EndpointStats;

    fn info(records: &[ScenarioRecord]) -> RunInfo {
        let stats = RequestStats {
            endpoints: vec![EndpointStats {
                method: "POST".into(),
                url: "http://127.0.0.1:1/token".into(),
                requests: 7,
                limited: 1,
                waited: Duration::from_millis(1500),
                paced: Duration::ZERO,
            }],
        };
        RunInfo {
            target: "http://127.0.0.1:1/mcp".into(),
            revision: "2025-11-25".into(),
            revision_reason: "chosen with --spec or the profile".into(),
            exit_code: super::super::exit_code(records, false, FailOn::All),
            strict: false,
            fail_on: FailOn::All,
            requests: Some(Requests::new(
                stats,
                &super::super::requests::EndpointMap::default(),
                None,
            )),
            finished: SystemTime::UNIX_EPOCH + Duration::from_millis(1_765_000_000_123),
        }
    }

    /// What is written reads back as the same records and header, and writes again as the
    /// same file.
    #[test]
    fn results_read_back_as_they_were_written() {
        let mut fail = record(Verdict::Fail, &["PKCE-06"]);
        fail.violated = Some("PKCE-06".into());
        fail.impact = Some(Impact::Security);
        fail.message = Some("violation of PKCE-06".into());
        fail.transcript = vec![Exchange {
            method: "POST".into(),
            url: "http://127.0.0.1:1/token".into(),
            request_headers: vec![("content-type".into(), "x".into())],
            request_body: Some("code=abcd…[redacted]".into()),
            status: Some(200),
            response_headers: Vec::new(),
            response_body: Some("{}".into()),
            error: None,
            elapsed: Duration::from_millis(12),
        }];
        let mut warn = record(Verdict::Warn, &["CODE-03"]);
        warn.warned = vec!["CODE-03".into()];
        warn.warnings = vec!["CODE-03 (SHOULD): …".into()];
        let records = vec![fail, warn];
        let info = info(&records);
        let identity = Identity {
            target_id: "http://127.0.0.1:1/mcp".into(),
            shard: None,
            baseline: Vec::new(),
        };
        let json = render(&records, &info, &identity);
        let back = parse(&json.to_string()).expect("reads");
        assert_eq!(back.identity, identity);
        assert_eq!(back.records.len(), 2);
        assert_eq!(
            back.records[0].transcript[0].to_string(),
            records[0].transcript[0].to_string()
        );
        assert_eq!(back.records[1].warned, vec!["CODE-03".to_string()]);
        assert!(same_millisecond(back.info.finished, info.finished));
        let again = render(&back.records, &back.info, &back.identity);
        assert_eq!(again, json);
    }

    #[test]
    fn foreign_files_are_refused_with_the_reason() {
        let e = parse("{").expect_err("not JSON");
        assert!(e.contains("not JSON"), "{e}");
        let e = parse(r#"{"schema_version": 1}"#).expect_err("old");
        assert!(e.contains("schema_version 1"), "{e}");
        let records = [record(Verdict::Pass, &["PKCE-02"])];
        let mut json = super::super::results_json(
            &records,
            "2025-11-25",
            0,
            FailOn::All,
            &Requests::default(),
        );
        let e = parse(&json.to_string()).expect_err("no target_id");
        assert!(e.contains("older harness"), "{e}");
        json = render(&records, &info(&records), &Identity::default());
        json["scenarios"][0]["verdict"] = "passed".into();
        let e = parse(&json.to_string()).expect_err("a bad verdict");
        assert!(e.contains("verdict \"passed\""), "{e}");
    }
}
