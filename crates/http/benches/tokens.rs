//! Token verification: every authenticated request pays it before touching the store.
//! Goal: under 5 µs. Run: `cargo bench -p artforge-http --bench tokens`.

use std::hint::black_box;

use artforge_domain::UserId;
use artforge_http::token::{Keyring, TokenKeys};
use criterion::{Criterion, criterion_group, criterion_main};
use time::{Duration, OffsetDateTime};

fn tokens(c: &mut Criterion) {
    let ring = Keyring::parse("k2:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA,k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY")
        .expect("keys");
    let keys = TokenKeys::new(&ring, "artforge", "artforge", Duration::hours(1));
    let token = keys
        .issue(UserId::new(), 7, OffsetDateTime::now_utc())
        .expect("issued")
        .token;
    c.bench_function("token/verify", |b| {
        b.iter(|| keys.verify(black_box(&token)))
    });
    c.bench_function("token/issue", |b| {
        b.iter(|| keys.issue(black_box(UserId::new()), 7, OffsetDateTime::now_utc()))
    });
}

criterion_group!(benches, tokens);
criterion_main!(benches);
