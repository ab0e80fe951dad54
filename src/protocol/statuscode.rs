//! The statuscodes of an RPC reply body, as MCollective numbers them.

/// The action did what was asked.
pub const OK: u8 = 0;
/// The action ran and failed.
pub const ABORTED: u8 = 1;
/// The agent has no such action (or, sent directly, the node has no such agent).
pub const UNKNOWN_ACTION: u8 = 2;
/// A required input was not given.
pub const MISSING_DATA: u8 = 3;
/// An input was given but is not acceptable.
pub const INVALID_DATA: u8 = 4;
/// Anything else went wrong.
pub const UNKNOWN_ERROR: u8 = 5;

/// A short human name for a statuscode, for messages and defaults.
pub fn describe(code: u8) -> &'static str {
    match code {
        OK => "OK",
        ABORTED => "Aborted",
        UNKNOWN_ACTION => "Unknown action",
        MISSING_DATA => "Missing data",
        INVALID_DATA => "Invalid data",
        _ => "Unknown error",
    }
}
