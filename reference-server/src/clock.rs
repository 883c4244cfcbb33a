//! The wall clock, in the seconds that tokens and certificates count in.

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Seconds since the Unix epoch, with their fraction.
pub fn now_secs_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A JWT NumericDate (RFC 7519 §2): seconds since the Unix epoch, which "can contain fractional
/// seconds". Written as an integer when whole, as every token but a sub-second client's has it.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct NumericDate(f64);

impl NumericDate {
    /// A whole second.
    pub fn whole(secs: u64) -> Self {
        NumericDate(secs as f64)
    }

    /// A moment with its fraction (a sub-second lifetime ends between whole seconds).
    pub fn precise(secs: f64) -> Self {
        NumericDate(secs)
    }

    /// Whether the moment has come: a token is refused "on or after" its `exp` (RFC 7519
    /// §4.1.4).
    pub fn has_passed(self) -> bool {
        self.0 <= now_secs_f64()
    }

    /// The first whole second at or after the moment, where a whole number is required
    /// (introspection's `exp`, RFC 7662 §2.2) or kept.
    pub fn whole_secs(self) -> u64 {
        self.0.ceil().max(0.0) as u64
    }
}

impl serde::Serialize for NumericDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Exactly representable whole seconds (every date this side of year 285 million).
        if self.0.fract() == 0.0 && (0.0..9.0e15).contains(&self.0) {
            s.serialize_u64(self.0 as u64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

impl<'de> serde::Deserialize<'de> for NumericDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let secs = f64::deserialize(d)?;
        if secs.is_finite() {
            Ok(NumericDate(secs))
        } else {
            Err(serde::de::Error::custom("a NumericDate is a finite number"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numeric_date_is_written_whole_when_it_is_whole() {
        let json = |d: NumericDate| serde_json::to_string(&d).expect("json");
        assert_eq!(json(NumericDate::whole(1_800_000_000)), "1800000000");
        assert_eq!(
            json(NumericDate::precise(1_800_000_000.25)),
            "1800000000.25"
        );
        let read = |s: &str| serde_json::from_str::<NumericDate>(s).ok();
        assert_eq!(read("1800000000"), Some(NumericDate::whole(1_800_000_000)));
        assert_eq!(
            read("1800000000.25"),
            Some(NumericDate::precise(1_800_000_000.25))
        );
        assert_eq!(read("\"1800000000\""), None);
        assert_eq!(
            NumericDate::precise(1_800_000_000.25).whole_secs(),
            1_800_000_001
        );
        assert_eq!(
            NumericDate::whole(1_800_000_000).whole_secs(),
            1_800_000_000
        );
        assert!(NumericDate::whole(now_secs()).has_passed());
        assert!(!NumericDate::precise(now_secs_f64() + 5.0).has_passed());
    }
}
