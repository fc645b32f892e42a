//! A fault-injecting HTTP proxy on loopback: requests whose PromQL contains
//! a marker get a canned fault (a 503, a 400, a hang, a delay, a dropped
//! connection, a truncated or endless body, a reply with warnings);
//! everything else is forwarded to a real Prometheus.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the proxy answers instead of forwarding.
#[derive(Clone, Debug)]
pub enum Fault {
    /// A status and a JSON body.
    Status(u16, String),
    /// Never answer (until the proxy stops).
    Hang,
    /// Announce a body and send only its first half.
    Truncate(String),
    /// Wait this long, then forward the request as usual.
    Delay(Duration),
    /// Close the connection without answering.
    Drop,
    /// Answer 200 with a chunked body that never ends: a byte every 100 ms
    /// until the proxy stops or the client goes away.
    Endless,
}

/// A fault for requests whose query contains `marker`; with `times`, only
/// the first that many such requests get it, the rest are forwarded.
#[derive(Clone, Debug)]
pub struct Rule {
    /// A substring of the decoded `query` parameter.
    pub marker: String,
    /// The fault.
    pub fault: Fault,
    /// How many times to inject it (`None`: always).
    pub times: Option<usize>,
}

/// The running proxy; stopped on drop.
pub struct Proxy {
    /// Base URL, e.g. `http://127.0.0.1:41235`.
    pub url: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    heads: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy in front of the Prometheus on `upstream` (or answering
    /// 404 to everything unmatched when there is none).
    pub fn start(upstream: Option<u16>, rules: Vec<Rule>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("loopback binds");
        let port = listener.local_addr().expect("bound").port();
        listener.set_nonblocking(true).expect("non-blocking accept");
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let rules = Arc::new(rules);

        let thread = {
            let (hits, heads, stop) = (hits.clone(), heads.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (hits, heads, stop, rules) =
                                (hits.clone(), heads.clone(), stop.clone(), rules.clone());
                            std::thread::spawn(move || {
                                let _ = serve(stream, upstream, &rules, &hits, &heads, &stop);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Self {
            url: format!("http://127.0.0.1:{port}"),
            hits,
            heads,
            stop,
            thread: Some(thread),
        }
    }

    /// The requests received so far: request line, headers and body.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("not poisoned").clone()
    }

    /// How many requests carried this marker.
    pub fn hits(&self, marker: &str) -> usize {
        self.hits
            .lock()
            .expect("not poisoned")
            .get(marker)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    stream: TcpStream,
    upstream: Option<u16>,
    rules: &[Rule],
    hits: &Mutex<HashMap<String, usize>>,
    heads: &Mutex<Vec<String>>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse().unwrap_or(0);
        }
        let end = line == "\r\n";
        head.push(line);
        if end {
            break;
        }
    }
    let mut body = vec![0u8; content_length];
    reader.read_exact(&mut body)?;
    heads
        .lock()
        .expect("not poisoned")
        .push(head.concat() + &String::from_utf8_lossy(&body));

    let request_line = head.first().cloned().unwrap_or_default();
    let target = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let query_string = target.split_once('?').map(|(_, query)| query).unwrap_or("");
    let parameters: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .chain(url::form_urlencoded::parse(query_string.as_bytes()))
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let query = parameters
        .iter()
        .find(|(key, _)| key == "query" || key == "match[]")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();

    let mut stream = stream;
    for rule in rules {
        if !query.contains(&rule.marker) {
            continue;
        }
        let count = {
            let mut hits = hits.lock().expect("not poisoned");
            let count = hits.entry(rule.marker.clone()).or_insert(0);
            *count += 1;
            *count
        };
        if rule.times.is_some_and(|times| count > times) {
            break;
        }
        return match &rule.fault {
            Fault::Status(status, body) => respond(&mut stream, *status, body),
            Fault::Truncate(body) => {
                write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                    body.len(),
                    &body[..body.len() / 2]
                )?;
                stream.flush()
            }
            Fault::Delay(pause) => {
                std::thread::sleep(*pause);
                break;
            }
            Fault::Drop => Ok(()),
            Fault::Endless => {
                write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                )?;
                while !stop.load(Ordering::Relaxed) {
                    stream.write_all(b"1\r\n \r\n")?;
                    stream.flush()?;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Ok(())
            }
            Fault::Hang => {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(())
            }
        };
    }

    let Some(port) = upstream else {
        return respond(
            &mut stream,
            404,
            r#"{"status":"error","errorType":"not_found","error":"no upstream"}"#,
        );
    };
    let mut upstream = TcpStream::connect(("127.0.0.1", port))?;
    for line in &head {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || line == "\r\n" {
            continue;
        }
        upstream.write_all(line.as_bytes())?;
    }
    upstream.write_all(b"Connection: close\r\n\r\n")?;
    upstream.write_all(&body)?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    stream.write_all(&response)?;
    stream.flush()
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status} Fault\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}
