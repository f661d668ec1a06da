//! Whether the libzmq linked is zpattern's own build (`src/libzmq`, applied by the
//! `[patch.crates-io]` of this package's Cargo.toml) or another one, as a crates.io
//! build of zpattern gets: zpattern's build says so in zmq-sys's `links` metadata.
//! With it, `cfg(zpattern_libzmq)` compiles in what only that build has.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(zpattern_libzmq)");
    println!("cargo:rerun-if-env-changed=DEP_ZMQ_ZPATTERN_BUILD");
    if std::env::var_os("DEP_ZMQ_ZPATTERN_BUILD").is_some() {
        println!("cargo:rustc-cfg=zpattern_libzmq");
    }
}
