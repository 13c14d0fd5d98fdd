//! Tracking codes: the public handle a reporter reads over the phone, like
//! `SB-7K3Q-9XM2`. Seven random symbols plus one check symbol, so a misheard
//! character or two swapped neighbours are caught instead of finding someone
//! else's report. Symbols come from Crockford's alphabet; the random ones use only
//! its first 31 values (base 31), so the mod-31 check catches every single error.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Crockford base 32: no I, L, O or U, so nothing reads as a 1, 0 or a rude word.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RANDOM_SYMBOLS: usize = 7;
/// Number of distinct codes: 31^7.
const SPACE: u64 = 31u64.pow(RANDOM_SYMBOLS as u32);

/// A validated tracking code in canonical form (`SB-XXXX-XXXX`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrackingCode(String);

/// The text is not a tracking code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a tracking code (expected the form SB-XXXX-XXXX)")]
pub struct InvalidTrackingCode;

fn check_symbol(values: &[u8]) -> u8 {
    // Position-weighted sum mod 31 (prime): catches every single substitution and
    // every swap of two neighbouring symbols.
    let sum: u32 = values
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u32 + 1) * u32::from(*v))
        .sum();
    (sum % 31) as u8
}

impl TrackingCode {
    /// The code for a random number (the caller supplies the randomness;
    /// collisions are the store's to detect). About 2.7e10 codes exist.
    pub fn from_random(bits: u64) -> Self {
        let mut n = bits % SPACE;
        let mut values = [0u8; RANDOM_SYMBOLS];
        for v in values.iter_mut() {
            *v = (n % 31) as u8;
            n /= 31;
        }
        let check = check_symbol(&values);
        let mut s = String::with_capacity(12);
        s.push_str("SB-");
        for (i, v) in values.iter().chain(std::iter::once(&check)).enumerate() {
            if i == 4 {
                s.push('-');
            }
            s.push(ALPHABET[*v as usize] as char);
        }
        TrackingCode(s)
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn symbol_value(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|a| *a as char == c)
        .map(|p| p as u8)
}

impl FromStr for TrackingCode {
    type Err = InvalidTrackingCode;
    /// Accepts any case, with or without the `SB` prefix and dashes or spaces, and
    /// the usual misreadings (O for 0, I or L for 1).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let compact: String = s
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .collect::<String>()
            .to_ascii_uppercase();
        let body = compact.strip_prefix("SB").unwrap_or(&compact);
        if body.chars().count() != RANDOM_SYMBOLS + 1 {
            return Err(InvalidTrackingCode);
        }
        let values: Vec<u8> = body
            .chars()
            .map(symbol_value)
            .collect::<Option<_>>()
            .ok_or(InvalidTrackingCode)?;
        let (random, check) = values.split_at(RANDOM_SYMBOLS);
        if random.iter().any(|v| *v >= 31) || check_symbol(random) != check[0] {
            return Err(InvalidTrackingCode);
        }
        let n = random
            .iter()
            .rev()
            .fold(0u64, |n, v| n * 31 + u64::from(*v));
        Ok(TrackingCode::from_random(n))
    }
}

impl TryFrom<String> for TrackingCode {
    type Error = InvalidTrackingCode;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<TrackingCode> for String {
    fn from(c: TrackingCode) -> String {
        c.0
    }
}

impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn looks_like_the_documented_form() {
        let c = TrackingCode::from_random(0x1234_5678);
        assert_eq!(c.as_str().len(), 12);
        assert!(c.as_str().starts_with("SB-"));
        assert_eq!(&c.as_str()[7..8], "-");
    }

    #[test]
    fn accepts_what_people_type_and_refuses_garbage() {
        let c = TrackingCode::from_random(987_654_321);
        let sloppy = c.as_str().to_ascii_lowercase().replace('-', " ");
        assert_eq!(sloppy.parse::<TrackingCode>().unwrap(), c);
        assert!("SB-1234".parse::<TrackingCode>().is_err());
        assert!("hello world!".parse::<TrackingCode>().is_err());
    }

    proptest! {
        #[test]
        fn every_code_parses_back(bits in 0u64..SPACE) {
            let c = TrackingCode::from_random(bits);
            prop_assert_eq!(c.as_str().parse::<TrackingCode>().unwrap(), c);
        }

        #[test]
        fn a_single_wrong_symbol_is_caught(bits in 0u64..SPACE, pos in 0usize..8, delta in 1u8..32) {
            let c = TrackingCode::from_random(bits);
            let body: Vec<char> = c.as_str().chars().filter(|ch| *ch != '-').skip(2).collect();
            let mut v: Vec<u8> = body.iter().map(|ch| symbol_value(*ch).unwrap()).collect();
            v[pos] = (v[pos] + delta) % 32;
            let typed: String = v.iter().map(|x| ALPHABET[*x as usize] as char).collect();
            prop_assert!(typed.parse::<TrackingCode>().is_err());
        }

        #[test]
        fn swapped_neighbours_are_caught(bits in 0u64..SPACE, pos in 0usize..7) {
            let c = TrackingCode::from_random(bits);
            let mut body: Vec<char> = c.as_str().chars().filter(|ch| *ch != '-').skip(2).collect();
            prop_assume!(body[pos] != body[pos + 1]);
            body.swap(pos, pos + 1);
            let typed: String = body.into_iter().collect();
            prop_assert!(typed.parse::<TrackingCode>().is_err());
        }
    }
}
