//! What every HTTP client of summit-slo shares: one TLS set-up, credentials
//! taken out of URLs so URLs can be shown, and errors flattened to a line.

use std::sync::Once;
use std::time::Duration;

use url::Url;

/// How TLS connections are verified and which certificate the client shows.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// PEM certificates of authorities trusted besides the system's.
    pub ca_pem: Option<Vec<u8>>,
    /// A PEM client certificate followed by its private key, for servers
    /// that ask for one (mutual TLS).
    pub identity_pem: Option<Vec<u8>>,
    /// Accept any server certificate. Only for a test server; it gives up
    /// knowing who answers.
    pub insecure_skip_verify: bool,
}

/// Builds the HTTP client every outgoing request goes through.
pub fn build_client() -> Result<reqwest::Client, String> {
    build_client_with(&TlsSettings::default())
}

/// Builds the HTTP client with TLS settings of its own.
pub fn build_client_with(tls: &TlsSettings) -> Result<reqwest::Client, String> {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // Another part of the process may have installed one already; either
        // is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("summit-slo/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        // A redirect would turn a query's POST into a GET without its form,
        // and carry headers to another host: an error is clearer.
        .redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = &tls.ca_pem {
        let certificates = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|error| format!("the CA file holds no usable PEM certificate: {error}"))?;
        if certificates.is_empty() {
            return Err("the CA file holds no PEM certificate".to_string());
        }
        builder = builder.tls_certs_merge(certificates);
    }
    if let Some(pem) = &tls.identity_pem {
        let identity = reqwest::Identity::from_pem(pem).map_err(|error| {
            format!("the client certificate and key are not a usable PEM pair: {error}")
        })?;
        builder = builder.identity(identity);
    }
    if tls.insecure_skip_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder
        .build()
        .map_err(|error| format!("cannot set up HTTP: {}", describe_build_error(error)))
}

/// A client-building error and its causes on one line.
fn describe_build_error(error: reqwest::Error) -> String {
    with_causes(&error)
}

/// An error followed by each of its causes, on one line.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut detail = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        detail = format!("{detail}: {cause}");
        source = cause.source();
    }
    detail
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
    with_causes(&error.without_url())
}

/// `base`'s path with `path` appended, and no query.
pub fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{prefix}/{path}"));
    url.set_query(None);
    url
}

/// Removes known secrets from text that came from elsewhere (a server's
/// error body may echo the request's headers), so they never reach a
/// message or report.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// The secrets, longest first, so a secret inside another is not left
    /// half shown.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for `secrets`; those under four characters are too short to
    /// tell from ordinary text and are left alone. A basic-auth pair is also
    /// recognised in its encoded `Authorization` form.
    pub fn new(secrets: &[String], basic_auth: Option<&(String, String)>) -> Self {
        let mut secrets: Vec<String> = secrets
            .iter()
            .filter(|secret| secret.chars().count() >= 4)
            .cloned()
            .collect();
        if let Some((user, password)) = basic_auth {
            secrets.push(base64(format!("{user}:{password}").as_bytes()));
            if password.chars().count() >= 4 {
                secrets.push(password.clone());
            }
        }
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Self { secrets }
    }

    /// `text` with every secret replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_string(), |text, secret| {
            text.replace(secret, "[redacted]")
        })
    }
}

/// Standard base64 with padding, as HTTP's basic auth writes credentials.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let value = chunk.iter().enumerate().fold(0u32, |value, (index, byte)| {
            value | (u32::from(*byte) << (16 - 8 * index))
        });
        for index in 0..4 {
            if index <= chunk.len() {
                text.push(ALPHABET[(value >> (18 - 6 * index) & 63) as usize] as char);
            } else {
                text.push('=');
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_encoding_of_basic_auth() {
        // RFC 7617's example, and each padding length.
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn secrets_are_redacted_wherever_they_appear() {
        let redactor = Redactor::new(
            &["tok-123456".into(), "ab".into()],
            Some(&("alice".into(), "pw-secret".into())),
        );
        assert_eq!(
            redactor.redact("Authorization: Bearer tok-123456, Basic YWxpY2U6cHctc2VjcmV0 ab"),
            "Authorization: Bearer [redacted], Basic [redacted] ab"
        );
        assert_eq!(redactor.redact("password pw-secret"), "password [redacted]");
    }
}
