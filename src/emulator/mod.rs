//! A faithful local IMS over real HTTP: for tests, for `imsform emulator` and for the local
//! cloud. Shares only the signing code with the client; never imports plan, apply or state.
