//! The image pipeline end to end.

mod alpha;
mod pipeline;
