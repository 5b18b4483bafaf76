//! Who is calling: the bearer token (header, or `?token=` for browsers' `EventSource`), hashed and looked
//! up; the per-device rate limit; and the versions the device reports in its headers.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use hearth_core::DeviceId;
use hearth_core::wire::{APP_VERSION_HEADER, SCHEMA_VERSION_HEADER};

use crate::AppState;
use crate::error::{ApiError, Result};

/// An authenticated device, with the versions it runs.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The space its token is for.
    pub space: String,
    /// Its device id.
    pub device: DeviceId,
    /// App version (header, else the one recorded at pairing).
    pub app_version: String,
    /// Schema version (header, else the one recorded at pairing).
    pub schema_version: i64,
}

impl Caller {
    /// Refuse a request about another space than the token's.
    pub fn check_space(&self, space: &str) -> Result<()> {
        if self.space == space {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this device's token is for space {:?}, not {space:?}; pair with a code for {space:?}",
                self.space
            )))
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|pair| pair.strip_prefix("token="))
}

/// The versions a request reports, if it does.
pub fn versions(headers: &HeaderMap) -> Result<(Option<String>, Option<i64>)> {
    let app = match headers.get(APP_VERSION_HEADER) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .filter(|s| !s.is_empty() && s.len() <= 64)
                .ok_or_else(|| {
                    ApiError::Malformed(format!("{APP_VERSION_HEADER} must be 1–64 visible characters"))
                })?
                .to_owned(),
        ),
    };
    let schema = match headers.get(SCHEMA_VERSION_HEADER) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .ok_or_else(|| ApiError::Malformed(format!("{SCHEMA_VERSION_HEADER} must be an integer")))?,
        ),
    };
    Ok((app, schema))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let token = bearer(&parts.headers).or_else(|| query_token(parts.uri.query())).ok_or_else(|| {
            ApiError::Unauthorized(
                "this request needs a device token (Authorization: Bearer …); pair the device with a code from \
                 `hearth invite`"
                    .into(),
            )
        })?;
        let (space, device) = state.authenticate(token).await?;
        state.rate_limit(&space, device)?;
        let (app, schema) = versions(&parts.headers)?;
        let (app_version, schema_version) = state.touch_peer(&space, device, app, schema);
        Ok(Caller {
            space,
            device,
            app_version,
            schema_version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_from_header_or_query() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert("authorization", "Bearer abc".parse().expect("header"));
        assert_eq!(bearer(&h), Some("abc"));
        h.insert("authorization", "Basic abc".parse().expect("header"));
        assert_eq!(bearer(&h), None);
        assert_eq!(query_token(Some("a=1&token=xyz")), Some("xyz"));
        assert_eq!(query_token(Some("a=1")), None);
    }
}
