//! Identifiers: ULIDs, so they sort by creation time and cannot be guessed.

use std::{fmt, str::FromStr};

use ulid::Ulid;

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Ulid);

        impl $name {
            /// The smallest and the largest id: bounds of a range of ids.
            pub const MIN: Self = Self(Ulid(0));
            pub const MAX: Self = Self(Ulid(u128::MAX));

            /// A new, random, time-ordered id.
            #[must_use]
            pub fn new() -> Self {
                Self(Ulid::generate())
            }

            /// When the id was made, in milliseconds since the Unix epoch (a ULID's time).
            pub fn timestamp_ms(&self) -> u64 {
                self.0.timestamp_ms()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ulid::DecodeError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ulid::from_str(s).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }
    };
}

ulid_id!(
    /// A user account.
    UserId
);
ulid_id!(
    /// A generation job.
    JobId
);
ulid_id!(
    /// A finished image.
    ImageId
);
ulid_id!(
    /// A ZIP archive of some of a user's images.
    ArchiveId
);
ulid_id!(
    /// A file a user uploaded to edit (`uploads/<userId>/<uploadId>`).
    UploadId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_survives_a_round_trip_through_its_text() {
        let id = UserId::new();
        assert_eq!(id.to_string().parse::<UserId>(), Ok(id));
    }

    #[test]
    fn text_that_is_not_a_ulid_is_not_an_id() {
        assert!("USER#1".parse::<UserId>().is_err());
        assert!("".parse::<UserId>().is_err());
    }
}
