//! The local server: every function's routes mounted as API Gateway and CloudFront mount
//! them, the OpenAPI document held to the code and the template, and the concurrency soak.

mod addresses;
mod common;
mod mounts;
mod openapi;
mod soak;
