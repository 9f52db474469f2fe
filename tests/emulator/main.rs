//! The emulator over real loopback HTTP: every endpoint, error and fault, with requests signed
//! by `imsform::sign::sign` exactly as the client signs them. One test binary; one module per
//! area.

mod admin;
mod adoption;
mod auth;
mod copy;
mod faults;
mod images;
mod lifecycle;
mod list;
mod members;
mod obs;
mod regions;
mod support;
