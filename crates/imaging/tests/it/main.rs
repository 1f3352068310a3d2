//! The image pipeline end to end.

mod pipeline;
