//! [`Browser`]: a chromedriver on a free loopback port and a WebDriver
//! session in headless Chromium, with the options proven on these machines
//! (`client/webdriver.json`).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::paths;

/// A WebDriver session and the chromedriver behind it.
pub struct Browser {
    /// The session: navigate, find, execute, screenshot.
    pub client: Client,
    driver: Child,
}

impl Browser {
    /// Starts chromedriver (`CHROMEDRIVER`, default `/usr/bin/chromedriver`)
    /// and opens a headless session.
    ///
    /// # Errors
    ///
    /// When chromedriver cannot start or no session opens within 30 seconds.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_args(&[]).await
    }

    /// As [`Browser::start`], with extra Chromium arguments (for example
    /// `--enable-precise-memory-info`).
    ///
    /// # Errors
    ///
    /// As [`Browser::start`].
    pub async fn start_with_args(extra_args: &[&str]) -> anyhow::Result<Self> {
        let driver_bin =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {driver_bin} (install chromium-driver)"))?;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), "chrome".into());
        // Keep the console, so tests can check the page logged no error.
        capabilities.insert(
            "goog:loggingPrefs".into(),
            serde_json::json!({ "browser": "ALL" }),
        );
        let options: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
            paths::workspace().join("client/webdriver.json"),
        )?)?;
        if let serde_json::Value::Object(mut options) = options {
            if let Some(args) = options
                .get_mut("goog:chromeOptions")
                .and_then(|o| o.get_mut("args"))
                .and_then(serde_json::Value::as_array_mut)
            {
                args.extend(extra_args.iter().map(|a| serde_json::Value::from(*a)));
            }
            capabilities.extend(options);
        }
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let attempt = ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await;
            match attempt {
                Ok(client) => return Ok(Self { client, driver }),
                Err(e) if started.elapsed() > Duration::from_secs(30) => {
                    let _ = driver.kill();
                    bail!("no WebDriver session from {driver_bin}: {e}");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// The console messages of level `SEVERE` (errors) logged since the
    /// last call, as text.
    ///
    /// # Errors
    ///
    /// When chromedriver does not answer the log command.
    pub async fn console_errors(&self) -> anyhow::Result<Vec<String>> {
        let log = self.client.issue_cmd(BrowserLog).await?;
        Ok(log
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect())
    }

    /// Ends the session and stops chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// chromedriver's `POST /session/{id}/se/log {"type": "browser"}`.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// Evaluates `expression` in the page until `done` holds for its value, for
/// at most `limit` (a bound for a slow machine, not a speed check); returns
/// the value.
///
/// # Errors
///
/// When the page cannot be asked, or `done` never holds within `limit`.
pub async fn wait_for(
    c: &Client,
    what: &str,
    expression: &str,
    limit: Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> anyhow::Result<serde_json::Value> {
    let started = Instant::now();
    loop {
        let value = c.execute(&format!("return {expression}"), vec![]).await?;
        if done(&value) {
            return Ok(value);
        }
        if started.elapsed() > limit {
            bail!("{what}: still {value} after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A page value written as a decimal string (a `data-*` attribute), as a
/// number; 0 when it is not one.
#[must_use]
pub fn number(v: &serde_json::Value) -> i64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
}
