//! Examples of embedding vrrpd crates; see the files beside this one.
