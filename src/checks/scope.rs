//! Scopes: challenges, step-up, and what a grant states (MCP 2025-11-25 §10.1.1, 2026-07-28
//! §10, §11.1; OAuth 2.1 §3.2.3).

/// Judged by the MCP server's acceptance of a request ([`super::resource::accepted`]).
pub const JUDGED_BY_ACCEPTANCE: &[req::Id] = &[
    req::SCOPE_04, // the stepped-up token allows the operation and the rest (MCP-C §10.1.1)
    req::SCOPE_07, // a down-scoped token works for what it covers (SBP-C §2.5.3)
];
