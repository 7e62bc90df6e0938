//! The hashes a person copies into an annotation: the approval hash
//! (docs/safety.md, rule 10), a stable content hash of the actions a person must
//! approve, and the confirmation that missing numbers are gone.
//!
//! The approval hash is a SHA-256 over the canonical JSON of the actions,
//! sorted. The actions carry only numbers, packages, filters and reservation
//! IDs, never the clock or a set's position in the input, so the hash changes
//! exactly when what would be done changes — and an old approval stops
//! matching.

use sha2::{Digest, Sha256};

use std::collections::BTreeMap;

use intelepeer::E164;
use jiff::Timestamp;

use crate::model::Action;

/// Lower-case hex SHA-256 of the sorted actions; empty for no actions.
pub fn approval_hash(actions: &[Action]) -> String {
    if actions.is_empty() {
        return String::new();
    }
    let mut sorted: Vec<&Action> = actions.iter().collect();
    sorted.sort();
    // Serializing these types cannot fail (no maps with non-string keys); an
    // empty body would still give a stable, if useless, hash.
    let body = serde_json::to_vec(&sorted).unwrap_or_default();
    hex(&Sha256::digest(&body))
}

/// Whether the approval annotation's value `annotated` approves the plan
/// whose approval hash is `hash` (the whole hash, ignoring case and
/// surrounding white space). A plan with nothing to approve is approved by
/// nothing.
pub fn approves(annotated: &str, hash: &str) -> bool {
    !hash.is_empty() && annotated.trim().eq_ignore_ascii_case(hash)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The first characters of a hash, as messages show it.
pub fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// The value of annotation `tollfree.dev/forget-missing` that confirms the
/// set's missing numbers are gone: the first 16 hex digits of a SHA-256 over
/// each missing number and when it went missing. Empty when nothing is
/// missing. A later incident (another number, or the same number missing
/// again) has another hash, so a confirmation left on the object never
/// forgets anything but what a person saw.
pub fn missing_hash(missing: &BTreeMap<E164, Timestamp>) -> String {
    if missing.is_empty() {
        return String::new();
    }
    let mut hasher = Sha256::new();
    for (number, since) in missing {
        hasher.update(number.as_str().as_bytes());
        hasher.update(b"@");
        hasher.update(since.to_string().as_bytes());
        hasher.update(b"\n");
    }
    hex(&hasher.finalize()[..8])
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::approves;

    #[test]
    fn only_the_whole_hash_approves_ignoring_case_and_white_space() {
        let hash = "3f2a9c0b1d4e5f60718293a4b5c6d7e8";
        assert!(approves(hash, hash));
        assert!(approves(" 3F2A9C0B1D4E5F60718293A4B5C6D7E8\n", hash));
        assert!(
            !approves("3f2a9c0b1d4e", hash),
            "a prefix is not an approval"
        );
        assert!(
            !approves("", ""),
            "nothing to approve is approved by nothing"
        );
        assert!(!approves("anything", ""));
    }
}
