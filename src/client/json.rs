//! JSON as the runner reads it off the network. `serde_json` keeps the last of a repeated
//! member name without a word; RFC 8259 §4 leaves the meaning of repeated names open, and two
//! readers that disagree on which one counts (the runner takes the last, the target's own
//! client the first) would let a document say one thing to the runner and another to the
//! clients it vouches for. So a document that repeats a name is refused, naming it. Depth and
//! number range stay `serde_json`'s to refuse (it stops at 128 levels of nesting).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses `bytes` as one JSON value in which no object repeats a member name.
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<Strict>(bytes).map(|s| s.0)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if members.contains_key(&name) {
                return Err(de::Error::custom(format_args!(
                    "the member name {name:?} appears more than once"
                )));
            }
            let Strict(v) = map.next_value()?;
            members.insert(name, v);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_parse_as_serde_json_parses_them() {
        let text = br#"{"a": [1, -2, 3.5, true, null, "x\u0000"], "b": {"c": {}}, "d": 18446744073709551615}"#;
        let lenient: Value = serde_json::from_slice(text).expect("json");
        assert_eq!(parse(text).expect("strict"), lenient);
        assert_eq!(parse(b"[]").expect("array"), json!([]));
    }

    #[test]
    fn a_repeated_member_name_is_refused_at_any_depth() {
        for text in [
            &br#"{"resource": "https://a.example", "resource": "https://b.example"}"#[..],
            br#"{"x": [{"k": 1, "k": 1}]}"#,
        ] {
            let e = parse(text).expect_err("duplicate").to_string();
            assert!(e.contains("appears more than once"), "{e}");
        }
        // The same name in sibling objects is fine.
        assert!(parse(br#"[{"k": 1}, {"k": 2}]"#).is_ok());
    }

    #[test]
    fn nesting_bombs_and_huge_numbers_are_refused_not_followed() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = parse(deep.as_bytes()).expect_err("deep").to_string();
        assert!(e.contains("recursion limit"), "{e}");
        let huge = format!("[1{}]", "0".repeat(100_000));
        assert!(parse(huge.as_bytes()).is_err());
    }
}
