//! The local stack's resource definitions against template.yaml.

mod template;
