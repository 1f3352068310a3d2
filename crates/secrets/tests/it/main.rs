//! Secrets read through the real SDK from moto's Secrets Manager.

mod moto;
