//! Shared helpers of the simulator's integration tests: a running simulator,
//! an authenticated session (more for other users: [`Api::session`]), and raw
//! HTTP calls that return status and JSON.

#![allow(dead_code)] // each test file uses a different subset

use std::time::Duration;

use intelepeer_sim::{RunningSim, SimConfig, spawn};
use reqwest::Method;
use serde_json::{Value, json};

/// A running simulator, a plain HTTP client and a token for user demo.
pub struct Api {
    pub running: RunningSim,
    pub http: reqwest::Client,
    pub token: String,
}

/// An answer: status, JSON body (`Value::Null` when not JSON) and headers.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    /// The `error` text of an error body.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("<no error text>")
    }

    /// Asserts an error answer with the vendor's body shape.
    #[track_caller]
    pub fn assert_error(&self, status: u16, text: &str) {
        assert_eq!(
            (self.status, &self.body),
            (status, &json!({ "code": status, "error": text })),
            "unexpected answer"
        );
    }
}

impl Api {
    /// A simulator with the default configuration, authenticated.
    pub async fn start() -> Self {
        Self::with(SimConfig::default()).await
    }

    /// A simulator with this configuration, authenticated as demo/demo.
    pub async fn with(config: SimConfig) -> Self {
        let running = spawn(config).await.expect("simulator starts");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let mut api = Self {
            running,
            http,
            token: String::new(),
        };
        let answer = api
            .call(
                Method::POST,
                "/_rest/v4/authenticate",
                Some(json!({"username": "demo", "password": "demo"})),
                &[],
            )
            .await;
        assert_eq!(answer.status, 200, "authenticate: {answer:?}");
        api.token = answer.body["token"].as_str().expect("token").to_owned();
        api
    }

    /// The simulator itself.
    pub fn sim(&self) -> &intelepeer_sim::Simulator {
        self.running.sim()
    }

    /// A request to `path` carrying the session's token (if any), to be sent
    /// as is: for tests that need the transport error itself.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}{path}", self.running.url()));
        if self.token.is_empty() {
            request
        } else {
            request.header("Authorization", &self.token)
        }
    }

    /// A request with the session's token and any extra headers; `body` is
    /// sent as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.request(method, path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        answer(request.send().await.expect("request answered")).await
    }

    /// A request with a raw body and the session's token.
    pub async fn raw(&self, method: Method, path: &str, body: &str) -> Answer {
        let request = self
            .request(method, path)
            .header("Content-Type", "application/json")
            .body(body.to_owned());
        answer(request.send().await.expect("request answered")).await
    }

    /// `GET path?query` with the session's token.
    pub async fn get(&self, path_and_query: &str) -> Answer {
        self.call(Method::GET, path_and_query, None, &[]).await
    }

    /// `POST path` with a JSON body and the session's token.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body), &[]).await
    }

    /// Another user's session on the same simulator, asserting the login works.
    pub async fn session(&self, username: &str, password: &str) -> Session {
        let answer = self
            .post(
                "/_rest/v4/authenticate",
                json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(answer.status, 200, "authenticate {username}: {answer:?}");
        Session {
            http: self.http.clone(),
            url: self.running.url(),
            token: answer.body["token"].as_str().expect("token").to_owned(),
        }
    }

    /// The numbers of a `GET /my/tf` or search answer.
    pub fn numbers(answer: &Answer) -> Vec<String> {
        answer.body["endpoints"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|e| e["endpoint"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Reserving and buying, asserting success, for whoever can `POST` as a
/// user ([`Api`] as demo, a [`Session`] as another user).
pub trait Orders {
    /// `POST path` with a JSON body and the caller's token.
    fn post_json(&self, path: &str, body: Value) -> impl Future<Output = Answer>;

    /// Reserves numbers, asserting success; returns the reservation object.
    async fn reserve(&self, numbers: &[&str]) -> Value {
        let answer = self
            .post_json(
                "/_rest/v4/carrier/tf/reservations",
                json!({ "endpoints": numbers }),
            )
            .await;
        assert_eq!(answer.status, 200, "reserve: {answer:?}");
        answer.body[0].clone()
    }

    /// Reserves and buys numbers into a package, asserting success; returns the order.
    async fn buy(&self, numbers: &[&str], package_id: u64) -> Value {
        let reservation = self.reserve(numbers).await;
        let answer = self
            .post_json(
                "/_rest/v4/my/tf/orders",
                json!({ "reservationID": [reservation["reservationID"]], "packageID": package_id, "serviceArea": 4 }),
            )
            .await;
        assert_eq!(answer.status, 200, "order: {answer:?}");
        answer.body
    }
}

impl Orders for Api {
    fn post_json(&self, path: &str, body: Value) -> impl Future<Output = Answer> {
        self.post(path, body)
    }
}

impl Orders for Session {
    fn post_json(&self, path: &str, body: Value) -> impl Future<Output = Answer> {
        self.post(path, body)
    }
}

/// Reads status, headers and (if any) JSON body.
pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        body,
        headers,
    }
}

/// A user's session on a running simulator (see [`Api::session`]).
pub struct Session {
    pub http: reqwest::Client,
    pub url: String,
    pub token: String,
}

impl Session {
    /// A request with this session's token; `body` is sent as JSON.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("Authorization", &self.token);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        answer(request.send().await.expect("request answered")).await
    }

    /// `GET path?query`.
    pub async fn get(&self, path_and_query: &str) -> Answer {
        self.call(Method::GET, path_and_query, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }
}
