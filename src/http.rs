//! What every HTTP client of summit-slo shares: one TLS set-up, credentials
//! taken out of URLs so URLs can be shown, and errors flattened to a line.

use std::sync::Once;
use std::time::Duration;

use url::Url;

/// Builds the HTTP client every outgoing request goes through.
pub fn build_client() -> Result<reqwest::Client, String> {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // Another part of the process may have installed one already; either
        // is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .user_agent(concat!("summit-slo/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|error| format!("cannot set up HTTP: {error}"))
}

/// Takes `user:password@` out of `url` and returns them decoded, to be sent
/// as basic auth; the URL can then appear in messages.
pub fn take_credentials(url: &mut Url) -> Option<(String, String)> {
    // The URL holds credentials percent-encoded (`s3cr%40t` for `s3cr@t`).
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let credentials = (!url.username().is_empty()).then(|| {
        (
            decode(url.username()),
            decode(url.password().unwrap_or_default()),
        )
    });
    let _ = url.set_username("");
    let _ = url.set_password(None);
    credentials
}

/// The error and its causes on one line, without the URL (which may be
/// long; callers name the server themselves).
pub fn describe_error(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        detail = format!("{detail}: {cause}");
        source = cause.source();
    }
    detail
}

/// `base`'s path with `path` appended, and no query.
pub fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{prefix}/{path}"));
    url.set_query(None);
    url
}
