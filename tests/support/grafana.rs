//! A stand-in for Grafana's annotations HTTP API on loopback, for tests:
//! Grafana itself cannot be installed here. It follows the documented API
//! and the server's behaviour: the routes `GET/POST /api/annotations` and
//! `GET/PUT/PATCH/DELETE /api/annotations/:id`, bearer tokens (401 with
//! `Unauthorized` when missing, `Invalid API key` when wrong), RBAC
//! permissions (403 naming the permission needed), Grafana's error bodies
//! (`{"message": …}`) and statuses (400 `bad request data`, `Failed to
//! save annotation` for an empty text, `Invalid dashboard UID in annotation
//! request` when searching an unknown dashboard; 404 `Annotation not
//! found`), tag filtering with AND (or `matchAny`), and the quirk that
//! creating with an unknown dashboard UID silently makes an organisation
//! annotation. Every request is recorded; faults (a status, a hang, a body
//! that is not JSON) can be queued for the next requests.

use std::collections::{BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// An annotation as stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: u64,
    pub org: u64,
    pub dashboard_uid: Option<String>,
    pub panel_id: u64,
    pub time: i64,
    pub time_end: i64,
    pub tags: Vec<String>,
    pub text: String,
}

/// A request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What to answer instead of the API, for the next request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// A status with a body.
    Status(u16, String),
    /// No answer for this long, then the connection closes.
    Hang(Duration),
    /// The request is carried out, but the connection closes before the
    /// answer: what a client sees when a proxy or the network drops it.
    AnswerLost,
    /// The API's own answer (to let a later request meet a fault).
    None,
}

#[derive(Default)]
struct State {
    annotations: Vec<Stored>,
    next_id: u64,
    requests: Vec<Recorded>,
    faults: VecDeque<Fault>,
    /// The RBAC actions the token has; `None`: every one.
    permissions: Option<BTreeSet<String>>,
    dashboards: BTreeSet<String>,
}

/// The running stand-in; stopped on drop.
pub struct Grafana {
    /// Base URL, e.g. `http://127.0.0.1:41235`.
    pub url: String,
    token: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Grafana {
    /// Starts a Grafana that accepts the bearer `token` and knows the
    /// dashboard `summit-release`.
    pub fn start(token: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("loopback binds");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let state = Arc::new(Mutex::new(State {
            next_id: 1,
            dashboards: BTreeSet::from(["summit-release".to_string()]),
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping, token_owned) = (state.clone(), stop.clone(), token.to_string());
        std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (state, token) = (shared.clone(), token_owned.clone());
                        std::thread::spawn(move || serve(stream, &state, &token));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Self {
            url,
            token: token.to_string(),
            state,
            stop,
        }
    }

    /// The token this Grafana accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Queues faults for the next requests, in order.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.lock().faults.extend(faults.iter().cloned());
    }

    /// Gives the token only these RBAC actions (e.g. `annotations:read`).
    pub fn permit_only(&self, actions: &[&str]) {
        self.lock().permissions = Some(actions.iter().map(|action| action.to_string()).collect());
    }

    /// Every stored annotation.
    pub fn annotations(&self) -> Vec<Stored> {
        self.lock().annotations.clone()
    }

    /// Every request received.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Stores an annotation as if another client had written it.
    pub fn insert(&self, tags: &[&str], text: &str, time: i64) -> u64 {
        let mut state = self.lock();
        let id = state.next_id;
        state.next_id += 1;
        state.annotations.push(Stored {
            id,
            org: 1,
            dashboard_uid: None,
            panel_id: 0,
            time,
            time_end: time,
            tags: tags.iter().map(|tag| tag.to_string()).collect(),
            text: text.to_string(),
        });
        id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("not poisoned")
    }
}

impl Drop for Grafana {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, token: &str) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut stream = stream;
    loop {
        let Some(request) = read_request(&mut reader) else {
            return;
        };
        let fault = {
            let mut state = state.lock().expect("not poisoned");
            state.requests.push(request.clone());
            state.faults.pop_front()
        };
        let (status, body) = match fault {
            Some(Fault::Hang(duration)) => {
                std::thread::sleep(duration);
                return;
            }
            Some(Fault::Status(status, body)) => (status, body),
            Some(Fault::AnswerLost) => {
                let _ = answer(&request, state, token);
                return;
            }
            Some(Fault::None) | None => answer(&request, state, token),
        };
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            409 => "Conflict",
            500 => "Internal Server Error",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            _ => "Status",
        };
        let written = write!(
            stream,
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if written.is_err() {
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Recorded> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = url::form_urlencoded::parse(query.as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    Some(Recorded {
        method,
        path: path.to_string(),
        query,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn message(text: &str) -> String {
    json!({ "message": text }).to_string()
}

/// Grafana's answer to a request that got no fault.
fn answer(request: &Recorded, state: &Mutex<State>, token: &str) -> (u16, String) {
    match request.header("authorization") {
        None => return (401, message("Unauthorized")),
        Some(value) if value != format!("Bearer {token}") => {
            return (401, message("Invalid API key"));
        }
        Some(_) => {}
    }
    let org: u64 = request
        .header("x-grafana-org-id")
        .and_then(|org| org.parse().ok())
        .unwrap_or(1);
    let mut state = state.lock().expect("not poisoned");
    let denied = |state: &State, action: &str| {
        state
            .permissions
            .as_ref()
            .is_some_and(|permitted| !permitted.contains(action))
            .then(|| {
                (
                    403,
                    json!({
                        "accessErrorId": "ACE0000000001",
                        "message": format!("You'll need additional permissions to perform this action. Permissions needed: {action}"),
                        "title": "Access denied",
                    })
                    .to_string(),
                )
            })
    };
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["api", "annotations"]) => {
            if let Some(refused) = denied(&state, "annotations:read") {
                return refused;
            }
            find(&state, request, org)
        }
        ("POST", ["api", "annotations"]) => {
            if let Some(refused) = denied(&state, "annotations:create") {
                return refused;
            }
            let Ok(body) = serde_json::from_str::<Value>(&request.body) else {
                return (400, message("bad request data"));
            };
            let text = body["text"].as_str().unwrap_or_default();
            if text.is_empty() {
                return (400, message("Failed to save annotation"));
            }
            let uid = body["dashboardUID"].as_str().map(str::to_string);
            // Grafana resolves the UID and, when no such dashboard exists,
            // saves an organisation annotation without a word.
            let dashboard_uid = uid.filter(|uid| state.dashboards.contains(uid));
            let id = state.next_id;
            state.next_id += 1;
            let time = body["time"].as_i64().unwrap_or(0);
            state.annotations.push(Stored {
                id,
                org,
                panel_id: if dashboard_uid.is_some() {
                    body["panelId"].as_u64().unwrap_or(0)
                } else {
                    0
                },
                dashboard_uid,
                time,
                time_end: body["timeEnd"].as_i64().unwrap_or(time),
                tags: tags_of(&body),
                text: text.to_string(),
            });
            (
                200,
                json!({"message": "Annotation added", "id": id}).to_string(),
            )
        }
        (method @ ("GET" | "PUT" | "PATCH" | "DELETE"), ["api", "annotations", id]) => {
            let Ok(id) = id.parse::<u64>() else {
                return (400, message("annotationId is invalid"));
            };
            let Some(index) = state
                .annotations
                .iter()
                .position(|stored| stored.id == id && stored.org == org)
            else {
                return (404, message("Annotation not found"));
            };
            match method {
                "GET" => {
                    if let Some(refused) = denied(&state, "annotations:read") {
                        return refused;
                    }
                    (200, item(&state.annotations[index]).to_string())
                }
                "DELETE" => {
                    if let Some(refused) = denied(&state, "annotations:delete") {
                        return refused;
                    }
                    state.annotations.remove(index);
                    (200, message("Annotation deleted"))
                }
                _ => {
                    if let Some(refused) = denied(&state, "annotations:write") {
                        return refused;
                    }
                    let Ok(body) = serde_json::from_str::<Value>(&request.body) else {
                        return (400, message("bad request data"));
                    };
                    let stored = &mut state.annotations[index];
                    if method == "PUT" {
                        stored.time = body["time"].as_i64().unwrap_or(0);
                        stored.time_end = body["timeEnd"].as_i64().unwrap_or(0);
                        stored.text = body["text"].as_str().unwrap_or_default().to_string();
                        stored.tags = tags_of(&body);
                        (200, message("Annotation updated"))
                    } else {
                        if let Some(time) = body["time"].as_i64().filter(|time| *time > 0) {
                            stored.time = time;
                        }
                        if let Some(end) = body["timeEnd"].as_i64().filter(|end| *end > 0) {
                            stored.time_end = end;
                        }
                        if let Some(text) = body["text"].as_str().filter(|text| !text.is_empty()) {
                            stored.text = text.to_string();
                        }
                        if body["tags"].is_array() {
                            stored.tags = tags_of(&body);
                        }
                        (200, message("Annotation patched"))
                    }
                }
            }
        }
        _ => (404, message("Not found")),
    }
}

fn tags_of(body: &Value) -> Vec<String> {
    body["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .filter_map(|tag| tag.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /api/annotations` with Grafana's filters.
fn find(state: &State, request: &Recorded, org: u64) -> (u16, String) {
    let values = |name: &str| -> Vec<&str> {
        request
            .query
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    };
    let first = |name: &str| values(name).first().map(|value| value.to_string());
    let dashboard = first("dashboardUID").filter(|uid| !uid.is_empty());
    if let Some(uid) = &dashboard
        && !state.dashboards.contains(uid)
    {
        return (400, message("Invalid dashboard UID in annotation request"));
    }
    let tags = values("tags");
    let match_any = first("matchAny").is_some_and(|value| value == "true");
    let number = |name: &str| first(name).and_then(|value| value.parse::<i64>().ok());
    let (from, to, panel) = (number("from"), number("to"), number("panelId"));
    let limit = number("limit").filter(|limit| *limit > 0).unwrap_or(100) as usize;
    let mut found: Vec<&Stored> = state
        .annotations
        .iter()
        .filter(|stored| stored.org == org)
        .filter(|stored| dashboard.is_none() || stored.dashboard_uid == dashboard)
        .filter(|stored| panel.is_none_or(|panel| stored.panel_id as i64 == panel))
        .filter(|stored| from.is_none_or(|from| stored.time_end >= from))
        .filter(|stored| to.is_none_or(|to| stored.time <= to))
        .filter(|stored| {
            let has = |tag: &&str| stored.tags.iter().any(|have| have == tag);
            tags.is_empty()
                || if match_any {
                    tags.iter().any(has)
                } else {
                    tags.iter().all(has)
                }
        })
        .collect();
    found.sort_by_key(|stored| std::cmp::Reverse((stored.time, stored.time_end)));
    found.truncate(limit);
    let items: Vec<Value> = found.into_iter().map(item).collect();
    (200, Value::Array(items).to_string())
}

/// An annotation as Grafana lists it.
fn item(stored: &Stored) -> Value {
    json!({
        "id": stored.id,
        "alertId": 0,
        "alertName": "",
        "dashboardId": if stored.dashboard_uid.is_some() { 7 } else { 0 },
        "dashboardUID": stored.dashboard_uid,
        "panelId": stored.panel_id,
        "userId": 2,
        "newState": "",
        "prevState": "",
        "created": stored.time,
        "updated": stored.time,
        "time": stored.time,
        "timeEnd": stored.time_end,
        "text": stored.text,
        "tags": stored.tags,
        "login": "sa-summit-slo",
        "email": "",
        "avatarUrl": "",
        "data": {},
    })
}
