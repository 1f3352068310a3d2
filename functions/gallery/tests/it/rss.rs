//! The test process's resident memory, from `/proc/self/status` (Linux): what a test run alone
//! (`--test-threads=1`) reads to measure the peak of one operation.

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Starts a measurement: the peak (`VmHWM`) is reset to the resident size now, which is
/// answered in bytes (`None` where the kernel does not tell).
pub fn reset() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    status_kib("VmRSS:").map(|k| k * 1024)
}

/// The most bytes resident at once since [`reset`].
pub fn peak() -> Option<u64> {
    status_kib("VmHWM:").map(|k| k * 1024)
}
