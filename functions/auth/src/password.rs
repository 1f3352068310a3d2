//! Password hashing with argon2id at OWASP's parameters (m = 19 MiB, t = 2, p = 1).
//!
//! argon2's `hash_password` allocates its 19 MiB work area on every call; this hasher keeps a
//! few work areas in a pool and reuses them, which saves the allocation time and keeps resident
//! memory flat across logins. Hashes are PHC strings, so stored parameters stay verifiable when
//! the current ones change.

use std::sync::Mutex;

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt},
};
use artforge_domain::{Password, PasswordHash};

/// OWASP's argon2id recommendation (Password Storage Cheat Sheet).
pub const OWASP_M_COST_KIB: u32 = 19_456;
pub const OWASP_T_COST: u32 = 2;
pub const OWASP_P_COST: u32 = 1;

/// Work areas kept for reuse; more concurrent hashes than this allocate their own.
const POOL_SIZE: usize = 2;

/// A PHC string with a random salt and a random output, so no known password matches it, at
/// the current parameters: verified against
/// when the email is unknown, so that answer takes as long as a wrong password.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$8MKMX+ZOLoKvH7lJsDAu6w$BIBBCVVQQoQ6SB0V8oQpP1xRgf5B6+qx+0iv51Y1+K0";

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2 failed")]
    Argon2(#[from] argon2::Error),
    #[error("the stored hash is malformed")]
    Phc(#[from] argon2::password_hash::phc::Error),
    #[error("the stored hash has unsupported parameters")]
    Parameters(#[from] argon2::password_hash::Error),
}

pub struct PasswordHasher {
    params: Params,
    pool: Mutex<Vec<Vec<Block>>>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    pub fn new(params: Params) -> Self {
        Self {
            params,
            pool: Mutex::new(Vec::new()),
        }
    }

    /// argon2id with OWASP's parameters.
    pub fn owasp() -> Self {
        match Params::new(OWASP_M_COST_KIB, OWASP_T_COST, OWASP_P_COST, None) {
            Ok(params) => Self::new(params),
            Err(_) => unreachable!("OWASP's parameters are within argon2's bounds"),
        }
    }

    /// Runs `f` with a work area of at least `blocks` blocks, reusing a pooled one.
    fn with_memory<R>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
        let pooled = self.pool.lock().map(|mut pool| pool.pop()).unwrap_or(None);
        let mut memory = match pooled {
            Some(m) if m.len() >= blocks => m,
            _ => vec![Block::new(); blocks],
        };
        let result = f(&mut memory[..blocks]);
        if let Ok(mut pool) = self.pool.lock()
            && pool.len() < POOL_SIZE
        {
            pool.push(memory);
        }
        result
    }

    fn compute(
        &self,
        argon2: &Argon2<'_>,
        params: &Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), HashError> {
        self.with_memory(params.block_count(), |memory| {
            argon2.hash_password_into_with_memory(password, salt, out, memory)
        })?;
        Ok(())
    }

    /// A new PHC hash of `password` with a random salt.
    pub fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let salt = Salt::generate();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.compute(
            &argon2,
            &self.params,
            password.expose().as_bytes(),
            salt.as_ref(),
            &mut out,
        )?;
        let phc = Phc {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params)?,
            salt: Some(salt),
            hash: Some(Output::new(&out)?),
        };
        Ok(PasswordHash::from_phc(phc.to_string()))
    }

    /// Whether `password` matches `stored`, compared in constant time, with the parameters
    /// the hash was made with.
    pub fn verify(&self, password: &Password, stored: &PasswordHash) -> Result<bool, HashError> {
        let phc = Phc::new(stored.as_phc())?;
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
            return Err(HashError::Phc(
                argon2::password_hash::phc::Error::MissingField,
            ));
        };
        let algorithm = Algorithm::try_from(phc.algorithm.as_str())?;
        let version = phc
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let params = Params::try_from(&phc)?;
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let mut out = vec![0u8; expected.len()];
        self.compute(
            &argon2,
            &params,
            password.expose().as_bytes(),
            salt.as_ref(),
            &mut out,
        )?;
        // `Output`'s equality is constant-time.
        Ok(Output::new(&out)? == *expected)
    }

    /// Spends the time of a real verification, for an unknown email. Always false.
    pub fn verify_nobody(&self, password: &Password) -> bool {
        let dummy = PasswordHash::from_phc(DUMMY_PHC.to_owned());
        // Burn the time; the result is meaningless by construction.
        self.verify(password, &dummy)
            .map(|_| false)
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(raw: &str) -> Password {
        Password::parse(raw.to_owned(), "password").expect("valid")
    }

    #[test]
    fn a_hash_verifies_its_password_and_no_other() {
        let hasher = PasswordHasher::owasp();
        let hash = hasher
            .hash(&password("correct horse battery"))
            .expect("hashed");
        assert!(
            hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_phc()
        );
        assert!(
            hasher
                .verify(&password("correct horse battery"), &hash)
                .expect("verified")
        );
        assert!(
            !hasher
                .verify(&password("correct horse batterY"), &hash)
                .expect("verified")
        );
    }

    #[test]
    fn two_hashes_of_one_password_differ_by_salt() {
        let hasher = PasswordHasher::owasp();
        let a = hasher.hash(&password("same password")).expect("hashed");
        let b = hasher.hash(&password("same password")).expect("hashed");
        assert_ne!(a, b);
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_itself_verify_here() {
        use argon2::PasswordHasher as _;
        let reference = Argon2::default()
            .hash_password(b"interop check")
            .expect("hashed")
            .to_string();
        let hasher = PasswordHasher::owasp();
        assert!(
            hasher
                .verify(
                    &password("interop check"),
                    &PasswordHash::from_phc(reference)
                )
                .expect("verified")
        );
    }

    #[test]
    fn the_dummy_hash_uses_the_current_parameters_so_it_costs_the_same() {
        let phc = Phc::new(DUMMY_PHC).expect("well-formed");
        let dummy = Params::try_from(&phc).expect("params");
        let current = PasswordHasher::owasp().params;
        assert_eq!(
            (dummy.m_cost(), dummy.t_cost(), dummy.p_cost()),
            (current.m_cost(), current.t_cost(), current.p_cost())
        );
        assert_eq!(phc.algorithm.as_str(), "argon2id");
        assert!(!PasswordHasher::owasp().verify_nobody(&password("anything at all")));
    }

    #[test]
    fn a_malformed_stored_hash_is_an_error_not_a_match() {
        let hasher = PasswordHasher::owasp();
        assert!(
            hasher
                .verify(
                    &password("whatever1"),
                    &PasswordHash::from_phc("not a phc".into())
                )
                .is_err()
        );
    }
}
