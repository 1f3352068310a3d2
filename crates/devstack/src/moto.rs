//! Starting and stopping moto's server (`scripts/moto_server.py`) as a child process.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, ChildStdin, Command, Stdio},
};

/// The Python that has moto: `ARTFORGE_PYTHON`, else the project's `.venv`.
pub fn python() -> PathBuf {
    std::env::var_os("ARTFORGE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join(".venv/bin/python"))
}

#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error("cannot start {python} (run `make setup` to create the virtual environment)")]
    Spawn {
        python: String,
        #[source]
        source: std::io::Error,
    },
    #[error("moto's server exited before it was ready (is moto[server] installed in {0}?)")]
    NotReady(String),
}

/// A running moto server. It stops when this is dropped, or when this process exits.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    // Held open: the server exits when it reads end-of-file.
    _stdin: Option<ChildStdin>,
    port: u16,
}

impl MotoServer {
    /// Starts moto on 127.0.0.1 at `port` (0: any free port) and waits until it listens.
    pub fn start(port: u16) -> Result<Self, MotoError> {
        let python = python();
        let script = crate::workspace_root().join("scripts/moto_server.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .args(["--port", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| MotoError::Spawn {
                python: python.display().to_string(),
                source,
            })?;
        let stdin = child.stdin.take();
        let not_ready = || MotoError::NotReady(python.display().to_string());
        let stdout = child.stdout.take().ok_or_else(not_ready)?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|_| not_ready())?;
        let port = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(not_ready)?;
        Ok(Self {
            child,
            _stdin: stdin,
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // Closing stdin asks it to stop; kill makes sure.
        self._stdin.take();
        if self.child.kill().is_ok() {
            // Reap it; the status of a killed child is of no interest.
            self.child.wait().ok();
        }
    }
}
