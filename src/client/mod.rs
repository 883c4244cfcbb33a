//! The client library: everything the scenarios need to talk to a target, usable without
//! cucumber. Valid requests come from types; invalid ones from named tampering
//! ([`params::Params::tamper`], [`params::Params::omit`]).

mod causes;
pub mod cimd;
pub mod discovery;
pub mod hosts;
pub mod http;
pub mod json;
pub mod limits;
pub mod login;
pub mod mcp;
pub mod oauth;
pub mod params;
pub mod pkce;
pub mod ratelimit;
pub mod redact;
pub mod registration;
pub mod replicas;
pub mod tokens;
pub mod transcript;
pub mod wellknown;
pub mod www_authenticate;
