//! Downloading an image the provider answered as a URL: only from allowed hosts, over https
//! (plain http only on loopback, for the local stand-in), with a timeout and a size cap that
//! stops reading at the cap. The API key is never sent along: downloads use their own client.

use std::{net::IpAddr, sync::Arc, time::Duration};

use artforge_domain::ProviderError;
use reqwest::{
    Url,
    redirect::{Attempt, Policy},
};
use tokio::time::Instant;

/// The most redirects a download follows (each to an allowed host).
const MAX_REDIRECTS: usize = 5;

/// Which URLs an answer may point at.
#[derive(Debug, Clone)]
pub(crate) struct AllowedHosts {
    hosts: Vec<String>,
}

impl AllowedHosts {
    /// The API's own host, if `api_base` has one, and `extra`, compared without case and
    /// trailing dot.
    pub fn new(api_base: &str, extra: &[String]) -> Self {
        let api_host = Url::parse(api_base)
            .ok()
            .and_then(|u| u.host_str().map(normalise));
        let hosts = api_host
            .into_iter()
            .chain(extra.iter().map(|h| normalise(h)))
            .filter(|h| !h.is_empty())
            .collect();
        Self { hosts }
    }

    /// Why `url` may not be fetched, if it may not.
    pub fn check(&self, url: &Url) -> Result<(), String> {
        let Some(host) = url.host_str().map(normalise) else {
            return Err("the image URL has no host".into());
        };
        if !self.hosts.contains(&host) {
            return Err(format!("the image URL's host {host} is not an allowed one"));
        }
        match url.scheme() {
            "https" => Ok(()),
            "http" if is_loopback(&host) => Ok(()),
            scheme => Err(format!("the image URL on {host} is {scheme}, not https")),
        }
    }
}

/// Lower case, no trailing dot, an IPv6 address without its brackets.
fn normalise(host: &str) -> String {
    host.trim_end_matches('.')
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Fetches answered URLs.
#[derive(Debug, Clone)]
pub(crate) struct Downloader {
    client: reqwest::Client,
    allowed: Arc<AllowedHosts>,
    timeout: Duration,
    max_bytes: usize,
}

impl Downloader {
    /// # Errors
    /// When the HTTP client cannot be built (no TLS backend).
    pub fn new(
        tls: rustls::ClientConfig,
        allowed: AllowedHosts,
        timeout: Duration,
        max_bytes: usize,
    ) -> Result<Self, reqwest::Error> {
        let allowed = Arc::new(allowed);
        let redirects = Arc::clone(&allowed);
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(Policy::custom(move |attempt: Attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error("too many redirects");
                }
                match redirects.check(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(why) => attempt.error(format!("redirected away: {why}")),
                }
            }))
            .build()?;
        Ok(Self {
            client,
            allowed,
            timeout,
            max_bytes,
        })
    }

    /// The bytes at `url`, or why not as `BadAnswer`. Bounded by the request timeout and by
    /// what is left before `deadline`.
    pub async fn fetch(&self, url: &str, deadline: Instant) -> Result<Vec<u8>, ProviderError> {
        let bad = ProviderError::BadAnswer;
        let url = Url::parse(url).map_err(|e| bad(format!("the image URL is not a URL: {e}")))?;
        self.allowed.check(&url).map_err(bad)?;
        // Named by host only: a signed URL's query is a credential.
        let host = url.host_str().unwrap_or_default().to_owned();
        let timeout = self
            .timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        if timeout.is_zero() {
            return Err(bad(format!(
                "no time was left before the job's deadline to download the image from {host}"
            )));
        }
        // Without the URL in the message: its query may be a signature.
        let failed = |e: reqwest::Error| {
            let e = e.without_url();
            bad(format!("the download from {host} failed: {}", chain(&e)))
        };
        let mut response = self
            .client
            .get(url.clone())
            .timeout(timeout)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        if !status.is_success() {
            return Err(bad(format!("the download from {host} answered {status}")));
        }
        let too_big = || {
            bad(format!(
                "the image at {host} is larger than {} bytes",
                self.max_bytes
            ))
        };
        let declared = response.content_length();
        if declared.is_some_and(|length| length > self.max_bytes as u64) {
            return Err(too_big());
        }
        let mut bytes = Vec::with_capacity(declared.map_or(0, |length| {
            usize::try_from(length).unwrap_or(0).min(self.max_bytes)
        }));
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if bytes.len() + chunk.len() > self.max_bytes {
                return Err(too_big());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

/// An error and its sources, `: `-joined (reqwest's own message omits the cause).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(api_base: &str, extra: &[&str]) -> AllowedHosts {
        AllowedHosts::new(
            api_base,
            &extra.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>(),
        )
    }

    fn check(hosts: &AllowedHosts, url: &str) -> Result<(), String> {
        hosts.check(&Url::parse(url).expect("a URL"))
    }

    #[test]
    fn the_api_host_and_the_configured_hosts_are_allowed_and_nothing_else() {
        let hosts = allowed("https://api.openai.com/v1", &["Files.Example.NET."]);
        assert!(check(&hosts, "https://api.openai.com/img/1.png").is_ok());
        assert!(check(&hosts, "https://API.openai.com./img/1.png").is_ok());
        assert!(check(&hosts, "https://files.example.net/a?sig=x").is_ok());
        let refused = check(&hosts, "https://evil.example/a.png").expect_err("not allowed");
        assert!(refused.contains("evil.example"), "{refused}");
        assert!(check(&hosts, "https://api.openai.com.evil.example/a").is_err());
    }

    #[test]
    fn plain_http_is_refused_except_on_loopback() {
        let hosts = allowed(
            "https://api.openai.com/v1",
            &["localhost", "127.0.0.1", "::1"],
        );
        assert!(check(&hosts, "http://api.openai.com/img.png").is_err());
        assert!(check(&hosts, "ftp://api.openai.com/img.png").is_err());
        assert!(check(&hosts, "http://localhost:8080/img.png").is_ok());
        assert!(check(&hosts, "http://127.0.0.1:8080/img.png").is_ok());
        assert!(check(&hosts, "http://[::1]:8080/img.png").is_ok());
    }

    #[test]
    fn a_loopback_api_base_allows_its_own_plain_http_urls() {
        let hosts = allowed("http://127.0.0.1:4010/v1", &[]);
        assert!(check(&hosts, "http://127.0.0.1:4999/v1/files/x").is_ok());
        assert!(check(&hosts, "http://localhost:4010/v1/files/x").is_err());
    }
}
