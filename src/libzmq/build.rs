//! Pass libsodium's location (from `libsodium-sys-stable`, a direct dependency) on to
//! the library code, which runs later inside zmq-sys's build script.

fn main() {
    for (from, to) in [
        ("DEP_SODIUM_LIB", "ZPATTERN_SODIUM_LIB"),
        ("DEP_SODIUM_INCLUDE", "ZPATTERN_SODIUM_INCLUDE"),
    ] {
        match std::env::var(from) {
            Ok(value) => println!("cargo:rustc-env={to}={value}"),
            Err(_) => panic!(
                "{from} is not set: libsodium-sys-stable did not say where it built libsodium"
            ),
        }
    }
}
