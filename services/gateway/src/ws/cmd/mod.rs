//! One file per client frame: parse (already done), check, apply, answer.

pub mod auth;
pub mod change;
pub mod history;
pub mod join;
pub mod leave;
pub mod ping;
pub mod presence;
pub mod read;
pub mod search;
pub mod send;
pub mod typing;
