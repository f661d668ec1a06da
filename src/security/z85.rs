//! Z85 (ZeroMQ RFC 32), the printable encoding of CURVE keys: every 4 bytes become 5
//! characters of an 85-letter alphabet, most significant first.
//!
//! Written here rather than taken from the `zmq` crate: its `z85_decode` leaks the
//! C string it hands to libzmq (so the text of a secret key would stay in a heap
//! block that is never freed) and ignores libzmq's error result, so invalid
//! characters decode to garbage instead of failing. This one is strict and pure.

/// The alphabet of RFC 32, in digit order.
const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Why a text is not Z85.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Z85Error {
    /// The length is not a multiple of 5.
    Length(usize),
    /// The character at this byte offset is not in the alphabet.
    Character(usize),
    /// The 5-character group starting at this offset encodes more than 32 bits.
    Overflow(usize),
}

impl std::fmt::Display for Z85Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Z85Error::Length(n) => write!(f, "{n} characters, not a multiple of 5"),
            Z85Error::Character(at) => write!(f, "character {} is not Z85", at + 1),
            Z85Error::Overflow(at) => {
                write!(f, "characters {}-{} are out of range", at + 1, at + 5)
            }
        }
    }
}

/// The value of one alphabet character, if it is one.
fn digit(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|d| d as u32)
}

/// Encode `bytes`, whose length must be a multiple of 4 (CURVE keys are 32 bytes).
pub(crate) fn encode(bytes: &[u8]) -> String {
    debug_assert_eq!(bytes.len() % 4, 0, "Z85 encodes groups of 4 bytes");
    let mut text = String::with_capacity(bytes.len() / 4 * 5);
    for group in bytes.chunks_exact(4) {
        let mut value = u32::from_be_bytes([group[0], group[1], group[2], group[3]]);
        let mut chars = [0u8; 5];
        for c in chars.iter_mut().rev() {
            *c = ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        text.extend(chars.iter().map(|&c| char::from(c)));
    }
    text
}

/// Decode `text` into exactly `N` bytes (`N` a multiple of 4, `text` `N / 4 * 5`
/// characters long).
pub(crate) fn decode<const N: usize>(text: &str) -> Result<[u8; N], Z85Error> {
    let text = text.as_bytes();
    if text.len() % 5 != 0 || text.len() / 5 * 4 != N {
        return Err(Z85Error::Length(text.len()));
    }
    let mut bytes = [0u8; N];
    for (index, group) in text.chunks_exact(5).enumerate() {
        let start = index * 5;
        let mut value: u64 = 0;
        for (offset, &c) in group.iter().enumerate() {
            let d = digit(c).ok_or(Z85Error::Character(start + offset))?;
            value = value * 85 + u64::from(d);
        }
        let value = u32::try_from(value).map_err(|_| Z85Error::Overflow(start))?;
        bytes[index * 4..index * 4 + 4].copy_from_slice(&value.to_be_bytes());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_example_round_trips() {
        // RFC 32's test vector.
        let bytes = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&bytes), "HelloWorld");
        assert_eq!(decode::<8>("HelloWorld").unwrap(), bytes);
    }

    #[test]
    fn agrees_with_libzmq() {
        for _ in 0..20 {
            let pair = zmq::CurveKeyPair::new().unwrap();
            let ours = encode(&pair.public_key);
            assert_eq!(ours, zmq::z85_encode(&pair.public_key).unwrap());
            assert_eq!(decode::<32>(&ours).unwrap(), pair.public_key);
        }
        assert_eq!(encode(&[0xFF; 4]), "%nSc0");
        assert_eq!(decode::<4>("%nSc0").unwrap(), [0xFF; 4]);
    }

    #[test]
    fn bad_text_is_refused_with_where() {
        assert_eq!(decode::<8>("Hello"), Err(Z85Error::Length(5)));
        assert_eq!(decode::<8>("HelloWorl"), Err(Z85Error::Length(9)));
        assert_eq!(decode::<8>("Hello Worl"), Err(Z85Error::Character(5)));
        assert_eq!(decode::<8>("HelloWor\"d"), Err(Z85Error::Character(8)));
        // One past the largest 32-bit value.
        assert_eq!(decode::<4>("%nSc1"), Err(Z85Error::Overflow(0)));
        assert_eq!(Z85Error::Character(8).to_string(), "character 9 is not Z85");
    }
}
