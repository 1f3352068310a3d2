//! The list cursors (`?cursor=`): opening arbitrary text, and sealing then opening arbitrary
//! positions (structure-aware, `arbitrary`).
//!
//! Asserts: nothing panics; arbitrary text never opens (400 `invalid_cursor`); a sealed cursor
//! opens to its position for its owner and list only, also with the previous key during a
//! rotation and not with an unrelated key; any one byte changed and any cut makes it refused.
#![no_main]

use std::sync::LazyLock;

use arbitrary::Arbitrary;
use artforge_fuzz::{KEYS, assert_client_error, keyring};
use artforge_http::{ErrorCode, cursor::Cursors};
use libfuzzer_sys::fuzz_target;

/// Keys `k2` (current) and `k1`; the key before the rotation (`k1` alone); an unrelated one.
static CURRENT: LazyLock<Cursors> = LazyLock::new(|| Cursors::new(&keyring(KEYS)));
static PREVIOUS: LazyLock<Cursors> =
    LazyLock::new(|| Cursors::new(&keyring("k1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA")));
static OTHER: LazyLock<Cursors> =
    LazyLock::new(|| Cursors::new(&keyring("k9:YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE")));

#[derive(Debug, Arbitrary)]
struct Input {
    owner: String,
    list: String,
    position: String,
    /// Text a client might send as a cursor.
    sent: String,
    /// Where to change one byte of a sealed cursor, and how (xor, never 0).
    flip_at: usize,
    flip_with: u8,
    cut_at: usize,
}

fn refused(cursors: &Cursors, owner: &str, list: &str, cursor: &str) {
    match cursors.open(owner, list, cursor) {
        Ok(position) => panic!("{cursor:?} opened for {owner:?}/{list:?} to {position:?}"),
        Err(err) => {
            assert_eq!(err.code(), ErrorCode::InvalidCursor, "{err:?}");
            assert_client_error(err);
        }
    }
}

fuzz_target!(|input: Input| {
    let Input {
        owner,
        list,
        position,
        sent,
        flip_at,
        flip_with,
        cut_at,
    } = input;
    refused(&CURRENT, &owner, &list, &sent);

    let sealed = CURRENT.seal(&owner, &list, &position);
    assert!(sealed.is_ascii() && !sealed.contains(['&', '=', '#', '+', '/', ' ']));
    assert_eq!(
        CURRENT.open(&owner, &list, &sealed).ok().as_ref(),
        Some(&position)
    );
    let other_owner = format!("{owner}x");
    refused(&CURRENT, &other_owner, &list, &sealed);
    refused(&CURRENT, &owner, &format!("{list}x"), &sealed);
    refused(&OTHER, &owner, &list, &sealed);

    // Sealed before a rotation (with k1), opened after it (k2 current, k1 still listed).
    let old = PREVIOUS.seal(&owner, &list, &position);
    assert_eq!(
        CURRENT.open(&owner, &list, &old).ok().as_ref(),
        Some(&position)
    );

    let mut bytes = sealed.clone().into_bytes();
    let at = flip_at % bytes.len();
    bytes[at] ^= flip_with.max(1);
    if let Ok(altered) = String::from_utf8(bytes) {
        refused(&CURRENT, &owner, &list, &altered);
    }
    let cut = cut_at % sealed.len();
    refused(&CURRENT, &owner, &list, &sealed[..cut]);
});
