//! Hexadecimal encoding of frames, for the `hex` format and for non-UTF-8 frames in JSON.

use crate::error::{Error, Result};

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Append the lowercase hex form of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0f)]);
    }
}

/// Decode hex digits (either case) into bytes.
pub(crate) fn decode(text: &[u8]) -> Result<Vec<u8>> {
    if text.len() % 2 != 0 {
        return Err(Error::usage(format!(
            "hex needs an even number of digits, got {}",
            text.len()
        )));
    }
    text.chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| Ok(digit(pair[0], 2 * i)? << 4 | digit(pair[1], 2 * i + 1)?))
        .collect()
}

fn digit(c: u8, position: usize) -> Result<u8> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(Error::usage(format!(
            "invalid hex digit '{}' at position {}",
            c.escape_ascii(),
            position + 1
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let mut text = Vec::new();
        encode_into(&all, &mut text);
        assert_eq!(&text[..6], b"000102");
        assert_eq!(decode(&text).unwrap(), all);
    }

    #[test]
    fn accepts_upper_case_and_rejects_junk() {
        assert_eq!(decode(b"FFa0").unwrap(), vec![0xff, 0xa0]);
        assert!(decode(b"abc").unwrap_err().to_string().contains("even"));
        let err = decode(b"0g").unwrap_err().to_string();
        assert!(err.contains("'g' at position 2"), "{err}");
    }
}
