//! Durations as people type them: `250ms`, `2s`, `1.5s`, `1m`, `1h`, `100us`.
//! A number needs its unit: `5` is refused (was it seconds, or libzmq's
//! milliseconds?), except `0`, which is zero in any unit.

use crate::error::{Error, Result};
use std::time::Duration;

/// Parse a duration such as `250ms`, `2s`, `1.5s`, `3m`, `1h`, `500us`. A number
/// without a unit is refused, with a hint, since it could mean seconds or
/// milliseconds (libzmq's unit); only `0` needs none.
///
/// ```
/// use std::time::Duration;
/// use zpattern::duration::parse;
/// assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
/// assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
/// assert_eq!(parse("0").unwrap(), Duration::ZERO);
/// assert_eq!(
///     parse("5").unwrap_err().to_string(),
///     "'5': a duration needs a unit (5s, 5ms)"
/// );
/// assert!(parse("soon").is_err());
/// ```
pub fn parse(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || {
        Error::usage(format!(
            "invalid duration '{text}' (examples: 250ms, 2s, 1.5s, 1m; units: us, ms, s, m, h)"
        ))
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let seconds_per_unit = match unit.trim() {
        "" if value == 0.0 => 1.0,
        "" => {
            return Err(Error::usage(format!(
                "'{text}': a duration needs a unit ({text}s, {text}ms)"
            )))
        }
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(value * seconds_per_unit).map_err(|_| bad())
}

/// Show a duration the way [`parse`] reads it: `250ms`, `2s`, `1.5s`.
pub fn display(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_micros() % 1000 == 0 && d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_millis(1) {
        format!("{}us", d.as_micros())
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("100us").unwrap(), Duration::from_micros(100));
        assert_eq!(parse("3m").unwrap(), Duration::from_secs(180));
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        assert_eq!(parse("0.0").unwrap(), Duration::ZERO);
    }

    #[test]
    fn a_number_needs_its_unit() {
        for bare in ["5", "2.5", "1000"] {
            let e = parse(bare).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Usage);
            assert_eq!(
                e.to_string(),
                format!("'{bare}': a duration needs a unit ({bare}s, {bare}ms)")
            );
        }
    }

    #[test]
    fn rejects_junk() {
        for bad in ["", "ms", "-1s", "1x", "1.2.3s", "1e3s"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_reads_back() {
        for d in [
            Duration::from_millis(250),
            Duration::from_secs(2),
            Duration::from_millis(1500),
            Duration::from_micros(50),
        ] {
            assert_eq!(parse(&display(d)).unwrap(), d, "{}", display(d));
        }
    }
}
