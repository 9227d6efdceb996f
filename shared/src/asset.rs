//! [`Asset`]: the validated name of a traded pair, such as `EURUSD_otc`.
//!
//! A name is 1 to 20 characters of `A-Z a-z 0-9 _`: it fits the
//! `historical_ticks.pair VARCHAR(20)` column and is safe inside Redis key
//! names such as `historical:{asset}:{timeframe}`. The value is stored
//! inline, so an `Asset` is `Copy` and never allocates.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest asset name accepted, in characters.
pub const MAX_ASSET_LEN: usize = 20;

/// A traded pair's name, checked once at construction.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Asset {
    /// The name's ASCII bytes, zero-padded; zero never occurs in a name, so
    /// the derived ordering is the ordering of the names.
    bytes: [u8; MAX_ASSET_LEN],
    /// How many bytes of `bytes` are the name.
    len: u8,
}

/// Why a string is not an asset name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssetError {
    /// The name is empty.
    #[error("asset name is empty")]
    Empty,
    /// The name is longer than [`MAX_ASSET_LEN`].
    #[error("asset name has {len} characters; at most {MAX_ASSET_LEN} are allowed")]
    TooLong {
        /// The offending length, in characters.
        len: usize,
    },
    /// The name holds a character outside `A-Z a-z 0-9 _`.
    #[error(
        "asset name has {found:?} at position {position}; only A-Z, a-z, 0-9 and _ are allowed"
    )]
    InvalidChar {
        /// The character found.
        found: char,
        /// Its position, counted in characters from 0.
        position: usize,
    },
}

impl Asset {
    /// Checks `name` and makes an asset of it.
    ///
    /// # Errors
    ///
    /// [`AssetError`] when `name` is empty, too long, or holds a character
    /// outside `A-Z a-z 0-9 _`.
    pub fn new_checked(name: &str) -> Result<Self, AssetError> {
        if name.is_empty() {
            return Err(AssetError::Empty);
        }
        if let Some((position, found)) = name
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        {
            return Err(AssetError::InvalidChar { found, position });
        }
        if name.len() > MAX_ASSET_LEN {
            return Err(AssetError::TooLong { len: name.len() });
        }
        let mut bytes = [0u8; MAX_ASSET_LEN];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Ok(Self {
            bytes,
            len: name.len() as u8,
        })
    }

    /// Makes an asset of a name known to be valid.
    ///
    /// # Panics
    ///
    /// When `name` is not a valid asset name: that is a bug in the caller.
    #[must_use]
    pub fn new(name: &str) -> Self {
        match Self::new_checked(name) {
            Ok(asset) => asset,
            Err(e) => panic!("invalid asset {name:?}: {e}"),
        }
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Construction admits ASCII only, so this never fails.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl FromStr for Asset {
    type Err = AssetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new_checked(s)
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Asset({})", self.as_str())
    }
}

impl Serialize for Asset {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Asset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AssetVisitor;

        impl Visitor<'_> for AssetVisitor {
            type Value = Asset;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an asset name such as \"EURUSD_otc\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Asset, E> {
                Asset::new_checked(v).map_err(|e| E::custom(format_args!("invalid asset: {e}")))
            }
        }

        deserializer.deserialize_str(AssetVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_of_the_old_design() {
        for name in ["EURUSD_otc", "BTCUSD", "a", "X_1", "ABCDEFGHIJKLMNOPQRST"] {
            assert_eq!(Asset::new_checked(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn rejects_bad_names_saying_why() {
        assert_eq!(Asset::new_checked(""), Err(AssetError::Empty));
        assert_eq!(
            Asset::new_checked("ABCDEFGHIJKLMNOPQRSTU"),
            Err(AssetError::TooLong { len: 21 })
        );
        assert_eq!(
            Asset::new_checked("EUR:USD"),
            Err(AssetError::InvalidChar {
                found: ':',
                position: 3
            })
        );
        assert_eq!(
            Asset::new_checked("EUR USD"),
            Err(AssetError::InvalidChar {
                found: ' ',
                position: 3
            })
        );
        assert_eq!(
            Asset::new_checked("é"),
            Err(AssetError::InvalidChar {
                found: 'é',
                position: 0
            })
        );
        let err = Asset::new_checked("a*b").unwrap_err().to_string();
        assert!(err.contains("'*'") && err.contains("position 1"), "{err}");
    }

    #[test]
    fn orders_like_its_name() {
        let mut names = ["BTCUSD", "AB", "ABC", "A", "EURUSD_otc", "EURUSD"];
        let mut assets: Vec<Asset> = names.iter().map(|n| Asset::new(n)).collect();
        names.sort_unstable();
        assets.sort();
        let sorted: Vec<&str> = assets.iter().map(Asset::as_str).collect();
        assert_eq!(sorted, names);
    }

    #[test]
    fn serde_is_a_plain_string() {
        let asset = Asset::new("EURUSD_otc");
        assert_eq!(serde_json::to_string(&asset).unwrap(), "\"EURUSD_otc\"");
        assert_eq!(
            serde_json::from_str::<Asset>("\"EURUSD_otc\"").unwrap(),
            asset
        );
        let err = serde_json::from_str::<Asset>("\"EUR/USD\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid asset"), "{err}");
        assert!(serde_json::from_str::<Asset>("42").is_err());
    }
}
