//! Connection options against real servers: a Prometheus behind TLS that
//! requires a client certificate and basic auth, and headers and Thanos'
//! `dedup` as they reach the wire. Secrets never appear in any output.

mod support;

use support::{Certificates, Prometheus, Run, Secured, WINDOW_END, binary, run_command};

const USER: &str = "summit";
const PASSWORD: &str = "correct-horse-42";
/// bcrypt of PASSWORD (cost 4), as Prometheus' web config wants it.
const PASSWORD_HASH: &str = "$2b$04$ec5eZbi7.IUZLtBpAzNxSePomwfmJqIz97ngFIqfBOXKDpjrPAuni";

fn secured_prometheus(certificates: &Certificates) -> Prometheus {
    let web_config = format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\nbasic_auth_users:\n  {USER}: '{PASSWORD_HASH}'\n",
        certificates.path("server.crt").display(),
        certificates.path("server.key").display(),
        certificates.path("ca.crt").display(),
    );
    let read = |name: &str| std::fs::read(certificates.path(name)).expect("readable");
    let mut identity = read("client.crt");
    identity.extend(read("client.key"));
    Prometheus::start_secured(
        &["release-pass"],
        &web_config,
        &Secured {
            tls: summit_slo::http::TlsSettings {
                ca_pem: Some(read("ca.crt")),
                identity_pem: Some(identity),
                insecure_skip_verify: false,
            },
            user: USER.into(),
            password: PASSWORD.into(),
        },
    )
}

/// `verify --format json` of the passing fixture with `extra` flags and the
/// password in the environment.
fn verify(prometheus: &Prometheus, extra: &[&str], password: &str) -> Run {
    run_command(
        binary()
            .args([
                "verify",
                "--prometheus",
                &prometheus.url,
                "--end",
                WINDOW_END,
            ])
            .args(["--format", "json", "--retries", "0"])
            .args(extra)
            .env("SUMMIT_SLO_PROMETHEUS_PASSWORD", password),
    )
}

#[test]
fn tls_with_client_certificates_and_basic_auth() {
    let certificates = Certificates::make();
    let prometheus = secured_prometheus(&certificates);
    let path = |name: &str| certificates.path(name).display().to_string();
    let (ca, cert, key) = (path("ca.crt"), path("client.crt"), path("client.key"));
    let full = [
        "--ca-file",
        &ca,
        "--client-cert",
        &cert,
        "--client-key",
        &key,
        "--prometheus-user",
        USER,
    ];

    let passed = verify(&prometheus, &full, PASSWORD);
    assert_eq!(passed.code, 0, "{}", passed.stderr);
    assert_eq!(passed.json()["verdict"], "pass");

    // Without the CA the server is unknown; skipping verification is the
    // explicit way round it.
    let unknown = verify(&prometheus, &full[2..], PASSWORD);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown.json()["slos"][0]["message"]
            .as_str()
            .is_some_and(|message| message.contains("certificate") && message.contains("--ca-file")),
        "{}",
        unknown.stdout
    );
    let skipped = verify(
        &prometheus,
        &[&full[2..], &["--insecure-skip-verify"]].concat(),
        PASSWORD,
    );
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);

    // Without a client certificate, or with a wrong password: no pass.
    let anonymous = verify(&prometheus, &[&full[..2], &full[6..]].concat(), PASSWORD);
    assert_eq!(anonymous.code, 2, "{}", anonymous.stderr);
    let wrong = verify(&prometheus, &full, "not-the-password");
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert_eq!(wrong.json()["slos"][0]["reason"], "query_error");

    for output in [&passed, &unknown, &skipped, &anonymous, &wrong] {
        for secret in [PASSWORD, "not-the-password"] {
            assert!(
                !output.stdout.contains(secret) && !output.stderr.contains(secret),
                "a password was printed: {}{}",
                output.stdout,
                output.stderr
            );
        }
    }
}

#[test]
fn headers_and_dedup_reach_the_server() {
    let prometheus = Prometheus::start(&["release-pass"]);
    let proxy = support::proxy::Proxy::start(Some(prometheus.port()), Vec::new());
    let result = run_command(binary().args([
        "verify",
        "--prometheus",
        &proxy.url,
        "--end",
        WINDOW_END,
        "--header",
        "X-Scope-OrgID=team-a",
        "--dedup",
        "false",
    ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    let queries: Vec<String> = proxy
        .heads()
        .into_iter()
        .filter(|request| request.starts_with("POST /api/v1/query"))
        .collect();
    assert!(!queries.is_empty());
    for request in &queries {
        let lower = request.to_ascii_lowercase();
        assert!(lower.contains("x-scope-orgid: team-a"), "{request}");
        assert!(request.contains("dedup=false"), "{request}");
        assert!(request.contains("partial_response=false"), "{request}");
    }
}

#[test]
fn connection_settings_are_checked_before_anything_is_judged() {
    let directory = tempfile::tempdir().expect("temp dir");
    let missing = directory.path().join("missing.pem");
    let not_pem = directory.path().join("not.pem");
    std::fs::write(&not_pem, "not a certificate").expect("written");
    for (arguments, password, expected) in [
        (
            vec!["--header", "Authorization=Bearer hunter2"],
            None,
            "--header Authorization is refused",
        ),
        (
            vec!["--header", "hunter2"],
            None,
            "a --header is not NAME=VALUE",
        ),
        (
            vec!["--header", "Content-Length=5"],
            None,
            "--header Content-Length is refused",
        ),
        (
            vec!["--ca-file", missing.to_str().expect("UTF-8")],
            None,
            "--ca-file",
        ),
        (
            vec!["--ca-file", not_pem.to_str().expect("UTF-8")],
            None,
            "the CA file holds no",
        ),
        (
            vec!["--prometheus-user", "summit"],
            None,
            "--prometheus-user needs SUMMIT_SLO_PROMETHEUS_PASSWORD",
        ),
        (
            vec![],
            Some("hunter2"),
            "a Prometheus password is set without --prometheus-user",
        ),
    ] {
        let mut command = binary();
        command
            .args(["verify", "--end", WINDOW_END, "--retries", "0"])
            .args(&arguments);
        if let Some(password) = password {
            command.env("SUMMIT_SLO_PROMETHEUS_PASSWORD", password);
        }
        let result = run_command(&mut command);
        assert_eq!(result.code, 3, "{arguments:?}: {}", result.stderr);
        assert!(
            result.stderr.contains(expected),
            "{arguments:?}: {}",
            result.stderr
        );
        assert!(!result.stderr.contains("hunter2"), "{}", result.stderr);
    }
}

#[test]
fn redirects_are_not_followed_and_401_says_what_to_set() {
    use support::proxy::{Fault, Proxy, Rule};
    let redirect = Proxy::start(
        None,
        vec![Rule {
            marker: String::new(),
            fault: Fault::Status(302, String::new()),
            times: None,
        }],
    );
    let unauthorised = Proxy::start(
        None,
        vec![Rule {
            marker: String::new(),
            fault: Fault::Status(401, "Unauthorized".into()),
            times: None,
        }],
    );
    for (proxy, expected) in [
        (
            &redirect,
            "the server redirects elsewhere, which is not followed",
        ),
        (
            &unauthorised,
            "the server wants credentials: set SUMMIT_SLO_PROMETHEUS_TOKEN",
        ),
    ] {
        let run = run_command(binary().args([
            "verify",
            "--prometheus",
            &proxy.url,
            "--end",
            WINDOW_END,
            "--format",
            "json",
            "--retries",
            "0",
        ]));
        assert_eq!(run.code, 2, "{}", run.stderr);
        let message = run.json()["slos"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(message.contains(expected), "{message}");
    }
}
