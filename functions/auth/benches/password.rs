//! Login's hot path: an argon2id verification at OWASP's parameters, with this crate's reused
//! work area against the argon2 crate's own `verify_password`, which allocates 19 MiB a call.
//! Run: `cargo bench -p auth --bench password`.

use std::hint::black_box;

use argon2::{Argon2, PasswordHash as Phc, PasswordVerifier};
use artforge_domain::Password;
use auth::password::PasswordHasher;
use criterion::{Criterion, criterion_group, criterion_main};

fn password(c: &mut Criterion) {
    let hasher = PasswordHasher::owasp();
    let candidate = Password::parse("correct horse battery".into(), "password").expect("valid");
    let stored = hasher.hash(&candidate).expect("hashed");
    let mut group = c.benchmark_group("argon2id-verify");
    group.sample_size(30);
    group.bench_function("pooled work area (ours)", |b| {
        b.iter(|| hasher.verify(black_box(&candidate), black_box(&stored)))
    });
    let phc = Phc::new(stored.as_phc()).expect("phc");
    group.bench_function("argon2 crate verify_password", |b| {
        b.iter(|| {
            Argon2::default().verify_password(black_box(b"correct horse battery"), black_box(&phc))
        })
    });
    group.finish();
}

criterion_group!(benches, password);
criterion_main!(benches);
