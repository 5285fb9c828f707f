//! Deterministic simulated LAN (being written).
