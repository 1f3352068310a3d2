//! Reading the `[fault:...]` and `[answer:...]` directives from a prompt (the table in the
//! `openai` module's docs).

/// The default padding of `[fault:bigfile]`.
const BIGFILE_BYTES: usize = 8 * 1024 * 1024;

/// What a prompt asks of the stand-in.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Directives {
    /// Calls that answer 429 rate limit (`usize::MAX`: all).
    pub(super) rate_limited: usize,
    pub(super) quota: bool,
    /// Calls that answer 500 (`usize::MAX`: all).
    pub(super) server_error: usize,
    pub(super) policy: bool,
    pub(super) slow_ms: u64,
    pub(super) corrupt: Vec<usize>,
    pub(super) bigfile: Option<usize>,
    /// `Some(None)`: URLs on the request's host; `Some(Some(host))`: on `host`.
    pub(super) url: Option<Option<String>>,
    /// `stream: true` is refused, as by a model that cannot stream.
    pub(super) nostream: bool,
}

impl Directives {
    /// The directives in `prompt`, or the first bracket that looks like one and is not.
    pub(super) fn parse(prompt: &str) -> Result<Self, String> {
        let mut found = Self::default();
        let mut rest = prompt;
        while let Some(start) = rest.find('[') {
            rest = &rest[start + 1..];
            let Some(end) = rest.find(']') else { break };
            let inner = &rest[..end];
            let unknown = || format!("the stand-in has no directive [{inner}]");
            if let Some(fault) = inner.strip_prefix("fault:") {
                found.fault(fault).ok_or_else(unknown)?;
            } else if let Some(answer) = inner.strip_prefix("answer:") {
                match answer {
                    "nostream" => found.nostream = true,
                    "url" => found.url = Some(None),
                    _ => {
                        found.url = Some(Some(
                            answer.strip_prefix("url=").ok_or_else(unknown)?.to_owned(),
                        ));
                    }
                }
            }
            rest = &rest[end + 1..];
        }
        Ok(found)
    }

    fn fault(&mut self, fault: &str) -> Option<()> {
        let times = |spec: &str| match spec {
            "" => Some(usize::MAX),
            _ => spec.strip_prefix('x')?.parse().ok(),
        };
        if let Some(spec) = fault.strip_prefix("429") {
            self.rate_limited = times(spec)?;
        } else if let Some(spec) = fault.strip_prefix("500") {
            self.server_error = times(spec)?;
        } else if let Some(ms) = fault.strip_prefix("slow=") {
            self.slow_ms = ms.parse().ok()?;
        } else if let Some(index) = fault.strip_prefix("corrupt=") {
            self.corrupt.push(index.parse().ok()?);
        } else if let Some(bytes) = fault.strip_prefix("bigfile=") {
            self.bigfile = Some(bytes.parse().ok()?);
        } else {
            match fault {
                "quota" => self.quota = true,
                "policy" => self.policy = true,
                "bigfile" => self.bigfile = Some(BIGFILE_BYTES),
                _ => return None,
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_are_read_from_anywhere_in_the_prompt() {
        let found = Directives::parse(
            "a cat [fault:429x2] on a mat [fault:corrupt=1][fault:corrupt=3] [answer:url=localhost] [not a directive]",
        )
        .expect("known directives");
        assert_eq!(
            found,
            Directives {
                rate_limited: 2,
                corrupt: vec![1, 3],
                url: Some(Some("localhost".into())),
                ..Directives::default()
            }
        );
        let found = Directives::parse(
            "[fault:500][fault:quota][fault:policy][fault:slow=250][fault:bigfile][answer:nostream]",
        )
        .expect("known directives");
        assert!(found.nostream);
        assert_eq!(found.server_error, usize::MAX);
        assert!(found.quota && found.policy);
        assert_eq!(found.slow_ms, 250);
        assert_eq!(found.bigfile, Some(BIGFILE_BYTES));
        assert_eq!(
            Directives::parse("plain").expect("none"),
            Directives::default()
        );
    }

    #[test]
    fn a_misspelt_directive_is_refused_not_ignored() {
        for prompt in [
            "[fault:492]",
            "[fault:429x]",
            "[fault:slow]",
            "[answer:uri]",
            "[fault:corrupt=one]",
        ] {
            assert!(Directives::parse(prompt).is_err(), "{prompt}");
        }
    }
}
