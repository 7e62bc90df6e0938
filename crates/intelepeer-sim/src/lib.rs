//! A stateful simulator of IntelePeer's toll-free number API.
