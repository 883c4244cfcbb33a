//! The catalogue: every hostile behaviour, where the target shows it, what the runner is asked
//! to do with it, and the verdict it must reach.

use super::raw::Raw;
use super::site::Twist;
use super::tls::BadCert;

/// Where the hostile behaviour sits.
pub enum Setup {
    /// The raw server is the MCP endpoint itself (`--target`).
    RawTarget(Raw),
    /// A well-behaved site whose 401 challenge names the raw server as its PRM document.
    RawPrm(Raw),
    /// The site with one twisted answer.
    Site(Twist),
    /// An HTTPS target with a bad certificate; `trusted`: its CA is given with `--ca-cert`.
    Tls(BadCert, bool),
}

/// What the runner is asked to do.
pub enum Command {
    /// `run --target … --spec 2025-11-25 -t TAGS`.
    Run(&'static str),
    /// `run --target … --spec auto -t TAGS`: the revision asked of the target.
    RunAuto(&'static str),
    /// `login URL`: one authorization at the site's authorization endpoint.
    Login,
}

/// The verdict a case must reach: the exit code, and words that must appear in the runner's
/// output or reports (what the target did, or the requirement it broke).
pub struct Expect {
    pub code: i32,
    pub says: &'static [&'static str],
}

pub struct Case {
    pub name: &'static str,
    /// What the target does, for the README's table.
    pub does: &'static str,
    pub setup: Setup,
    pub command: Command,
    pub expect: Expect,
}

/// Exit 3: the harness could not proceed, for the reason given.
const fn harness(says: &'static [&'static str]) -> Expect {
    Expect { code: 3, says }
}

/// Exit 1: the target failed a requirement.
const fn failure(says: &'static [&'static str]) -> Expect {
    Expect { code: 1, says }
}

const DISCOVERY: &str = "@PRM-07";
const CHALLENGE: &str = "@PRM-02 or @PRM-03";
const AUTHORIZED: &str = "@RS-02";

fn deep_json() -> Vec<u8> {
    let mut v = vec![b'['; 100_000];
    v.extend(vec![b']'; 100_000]);
    v
}

pub fn all() -> Vec<Case> {
    use Command::*;
    use Setup::*;
    let case = |name, does, setup, command, expect| Case {
        name,
        does,
        setup,
        command,
        expect,
    };
    vec![
        case(
            "slowloris-headers",
            "sends the status line, then one header byte every 200 ms",
            RawTarget(Raw::SlowHeaders),
            Run(DISCOVERY),
            harness(&["cannot be reached", "no answer within 2s (no complete status line and headers)"]),
        ),
        case(
            "slowloris-body",
            "declares a 1 MB body and sends one byte of it every 200 ms",
            RawPrm(Raw::SlowBody),
            Run(DISCOVERY),
            harness(&["the headers came but the body did not end within 2s"]),
        ),
        case(
            "body-over-limit-declared",
            "declares a 2 GiB body (Content-Length) and sends zeros",
            RawPrm(Raw::HugeDeclared),
            Run(DISCOVERY),
            harness(&["declares 2147483648 bytes (Content-Length), over the 1048576-byte cap"]),
        ),
        case(
            "body-over-limit-chunked",
            "sends chunked zeros as fast as they are taken, without Content-Length",
            RawPrm(Raw::HugeChunked),
            Run(DISCOVERY),
            harness(&["the response body exceeded the 1048576-byte cap"]),
        ),
        case(
            "body-never-ends",
            "sends a small chunk every 100 ms, never the last one",
            RawPrm(Raw::EndlessTrickle),
            Run(DISCOVERY),
            harness(&["the headers came but the body did not end within 2s"]),
        ),
        case(
            "gzip-bomb",
            "serves PRM as `Content-Encoding: gzip`, 512 KiB that inflate to 83 MB",
            Site(Twist::PrmEncoded("gzip", super::bomb::gzip(512 * 1024))),
            Run(DISCOVERY),
            failure(&["PRM-07", "unusable: the body is not JSON"]),
        ),
        case(
            "brotli-bomb",
            "serves PRM as `Content-Encoding: br`, a brotli stream that decodes to 256 MB",
            Site(Twist::PrmEncoded("br", super::bomb::brotli(256 << 20))),
            Run(DISCOVERY),
            failure(&["PRM-07", "unusable: the body is not JSON"]),
        ),
        case(
            "invalid-utf8-json",
            "serves PRM with the bytes FF FE inside a JSON string",
            Site(Twist::PrmBody(b"{\"resource\": \"\xff\xfe\", \"authorization_servers\": []}".to_vec())),
            Run(DISCOVERY),
            failure(&["PRM-07", "not JSON (invalid unicode code point"]),
        ),
        case(
            "invalid-utf8-header",
            "sends a WWW-Authenticate header with the bytes FF FE in it",
            Site(Twist::Challenge(b"Bearer resource_metadata=\"\xff\xfe\"".to_vec())),
            Run(CHALLENGE),
            failure(&["PRM-02", "malformed WWW-Authenticate at byte 26: a byte outside visible ASCII"]),
        ),
        case(
            "deeply-nested-json",
            "serves PRM as 100,000 nested JSON arrays",
            Site(Twist::PrmBody(deep_json())),
            Run(DISCOVERY),
            failure(&["PRM-07", "recursion limit exceeded"]),
        ),
        case(
            "duplicate-json-keys",
            "serves PRM with `resource` twice, the first naming another server",
            Site(Twist::PrmBody(b"{\"resource\": \"https://elsewhere.example/mcp\", \"resource\": \"{base}/mcp\", \"authorization_servers\": [\"{base}\"]}".to_vec())),
            Run(DISCOVERY),
            failure(&["PRM-07", "appears more than once"]),
        ),
        case(
            "huge-number",
            "serves PRM with a 100,000-digit number",
            Site(Twist::PrmBody(format!("{{\"resource\": 1{}}}", "0".repeat(100_000)).into_bytes())),
            Run(DISCOVERY),
            failure(&["PRM-07", "number out of range"]),
        ),
        case(
            "nul-bytes",
            "serves PRM with raw NUL bytes inside a JSON string",
            Site(Twist::PrmBody(b"{\"resource\": \"a\x00b\", \"authorization_servers\": []}".to_vec())),
            Run(DISCOVERY),
            failure(&["PRM-07", "control character"]),
        ),
        case(
            "thousands-of-headers",
            "answers with 10,000 header lines",
            RawTarget(Raw::ManyHeaders),
            Run(DISCOVERY),
            harness(&["cannot be reached", "over 100 header lines"]),
        ),
        case(
            "huge-header",
            "answers with one header line of 1 MiB",
            RawTarget(Raw::HugeHeader),
            Run(DISCOVERY),
            harness(&["cannot be reached", "about 400 kB of status line and headers"]),
        ),
        case(
            "interim-storm",
            "answers with `100 Continue` and `103 Early Hints` without end, never a final status",
            RawTarget(Raw::InterimStorm),
            Run(DISCOVERY),
            harness(&["cannot be reached"]),
        ),
        case(
            "broken-chunk-size",
            "sends a chunked body whose chunk size is not hexadecimal",
            RawPrm(Raw::BadChunkSize),
            Run(DISCOVERY),
            harness(&["the response body broke off or was malformed"]),
        ),
        case(
            "overlong-chunk",
            "sends a chunk longer than its size says",
            RawPrm(Raw::OverlongChunk),
            Run(DISCOVERY),
            harness(&["the response body broke off or was malformed"]),
        ),
        case(
            "length-and-chunked",
            "sends Content-Length and chunked Transfer-Encoding together",
            RawPrm(Raw::LengthAndChunked),
            Run(DISCOVERY),
            harness(&["the response body broke off or was malformed"]),
        ),
        case(
            "two-content-lengths",
            "sends two different Content-Length headers",
            RawPrm(Raw::TwoLengths),
            Run(DISCOVERY),
            harness(&["the response head was unusable"]),
        ),
        case(
            "reset-mid-body",
            "declares 1000 bytes, sends 100, then resets the connection",
            RawPrm(Raw::ResetMidBody),
            Run(DISCOVERY),
            harness(&["the response body broke off or was malformed"]),
        ),
        case(
            "not-http",
            "answers with an SSH banner instead of HTTP",
            RawTarget(Raw::GarbageStatus),
            Run(DISCOVERY),
            harness(&["cannot be reached", "the response head was unusable"]),
        ),
        case(
            "tls-expired",
            "presents a certificate from a trusted CA that expired in 2021",
            Tls(BadCert::Expired, true),
            Run(DISCOVERY),
            harness(&["TLS certificate is not trusted (certificate expired"]),
        ),
        case(
            "tls-wrong-host",
            "presents a certificate from a trusted CA for another host name",
            Tls(BadCert::WrongHost, true),
            Run(DISCOVERY),
            harness(&["TLS certificate is not trusted (certificate not valid for name"]),
        ),
        case(
            "tls-self-signed",
            "presents a self-signed certificate",
            Tls(BadCert::SelfSigned, false),
            Run(DISCOVERY),
            harness(&["TLS certificate is not trusted (UnknownIssuer"]),
        ),
        case(
            "redirect-loop-discovery",
            "answers the PRM URL with a 302 to itself",
            Site(Twist::PrmRedirect("/.well-known/oauth-protected-resource/mcp".into())),
            Run(DISCOVERY),
            failure(&["PRM-07", "302"]),
        ),
        case(
            "redirect-chain-discovery",
            "answers the PRM URL with a 302 into an endless chain of redirects",
            Site(Twist::PrmRedirect("/hop/1".into())),
            Run(DISCOVERY),
            failure(&["PRM-07", "302"]),
        ),
        case(
            "redirect-loop-login",
            "answers the authorization request with a 302 to itself",
            Site(Twist::AuthorizeRedirect("/authorize".into())),
            Login,
            harness(&["the login did not finish"]),
        ),
        case(
            "redirect-chain-login",
            "answers the authorization request with an endless chain of redirects",
            Site(Twist::AuthorizeRedirect("/hop/1".into())),
            Login,
            harness(&["the login did not finish"]),
        ),
        case(
            "redirect-outside-allowed-hosts",
            "redirects the login to a host outside allowed_hosts",
            Site(Twist::AuthorizeRedirect("http://outside.example/login".into())),
            Login,
            Expect { code: 0, says: &["http://outside.example/login"] },
        ),
        case(
            "redirect-outside-allowed-hosts-run",
            "redirects the authorization request of a run to a host outside allowed_hosts",
            Site(Twist::AuthorizeRedirect("http://outside.example/login".into())),
            Run(AUTHORIZED),
            harness(&["outside.example"]),
        ),
        case(
            "metadata-address",
            "names http://169.254.169.254/ (cloud metadata) as its authorization server",
            Site(Twist::AuthorizationServer("http://169.254.169.254/".into())),
            Run("@ASM-02"),
            harness(&["169.254.169.254 is not an allowed host", "link-local"]),
        ),
        case(
            "private-range",
            "names http://10.0.0.1/ (a private range) as its authorization server",
            Site(Twist::AuthorizationServer("http://10.0.0.1/".into())),
            Run("@ASM-02"),
            harness(&["10.0.0.1 is not an allowed host", "private-range address"]),
        ),
        case(
            "file-url",
            "names file:///etc/passwd as its authorization server",
            Site(Twist::AuthorizationServer("file:///etc/passwd".into())),
            Run("@ASM-02"),
            harness(&["file: URL"]),
        ),
        case(
            "www-authenticate-10000-params",
            "sends a Bearer challenge with 10,000 parameters, then `scope` twice",
            Site(Twist::Challenge(
                format!(
                    "Bearer {}",
                    (0..10_000)
                        .map(|i| format!("p{i}=\"v\", "))
                        .collect::<String>()
                        + "scope=\"mcp\", scope=\"again\""
                )
                .into_bytes(),
            )),
            Run(CHALLENGE),
            failure(&["PRM-02", "scope"]),
        ),
        case(
            "login-10000-forms",
            "serves a login page with 10,000 login forms",
            Site(Twist::AuthorizePage(format!(
                "<html><body>{}</body></html>",
                "<form method=post action=/l><input name=u><input type=password name=p></form>".repeat(10_000)
            ))),
            Login,
            harness(&["the login did not finish"]),
        ),
        case(
            "set-cookie-flood",
            "sets 10,000 cookies on the authorization redirect",
            Site(Twist::CookieFlood(10_000)),
            Login,
            harness(&["the login did not finish"]),
        ),
        case(
            "sse-without-events",
            "answers an authorized MCP request with an event stream of comments, never an event",
            Site(Twist::SilentEvents),
            Run(AUTHORIZED),
            harness(&["the event stream did not end within 2s (no complete response)"]),
        ),
        case(
            "jsonrpc-wrong-id",
            "answers an authorized MCP request with a JSON-RPC response for another id",
            Site(Twist::WrongId),
            RunAuto(AUTHORIZED),
            failure(&[
                "initialize got no JSON-RPC response with its id",
                "RS-02",
                "987654321",
            ]),
        ),
    ]
}
