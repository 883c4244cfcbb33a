//! The `browser` login driver (being written).

use futures::future::LocalBoxFuture;
use url::Url;

use super::{AuthorizationOutcome, DriverSetup, LoginDriver, LoginError};
use crate::client::http::Http;

#[derive(Debug)]
pub struct BrowserDriver {}

impl BrowserDriver {
    pub fn new(_setup: &DriverSetup<'_>, _script: super::Script) -> Result<Self, String> {
        Err("the browser driver is not built yet".into())
    }
}

impl LoginDriver for BrowserDriver {
    fn authorize_until<'a>(
        &'a self,
        _http: &'a Http,
        _url: Url,
        _stop_at: &'a [Url],
    ) -> LocalBoxFuture<'a, Result<AuthorizationOutcome, LoginError>> {
        Box::pin(async { Err(LoginError::Unusable("not built".into())) })
    }
}
