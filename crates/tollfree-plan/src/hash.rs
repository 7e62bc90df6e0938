//! The approval hash (DESIGN.md §3.7): a stable content hash of the actions a
//! person must approve.
//!
//! SHA-256 over the canonical JSON of the actions, sorted. The actions carry
//! only numbers, packages, filters and reservation IDs, never the clock or a
//! set's position in the input, so the hash changes exactly when what would be
//! done changes — and an old approval stops matching.

use sha2::{Digest, Sha256};

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
    let digest = Sha256::digest(&body);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The first characters of a hash, as messages show it.
pub fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
