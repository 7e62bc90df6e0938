//! Domain newtypes shared by the client, the planner and the operator.
//!
//! Every value that crosses a boundary (a manifest, a vendor response) is parsed
//! here once; inside the program an `E164` is always a valid toll-free number and
//! a `PackageId` is never zero.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The toll-free NPAs (area codes) of the North American Numbering Plan.
pub const TOLL_FREE_NPAS: [u16; 7] = [800, 833, 844, 855, 866, 877, 888];

/// Why a value could not be parsed into a domain type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The number is not `+1` followed by ten digits.
    #[error(
        "'{0}' is not an E.164 US number: expected '+1' followed by 10 digits, like +18005550100"
    )]
    NotE164(String),
    /// The number is E.164 but its NPA is not a toll-free one.
    #[error(
        "'{value}' is not toll-free: its area code {npa} is not one of 800, 833, 844, 855, 866, 877, 888"
    )]
    NotTollFree {
        /// The rejected input.
        value: String,
        /// Its area code.
        npa: u16,
    },
    /// An NPA outside the toll-free set.
    #[error("{0} is not a toll-free area code (800, 833, 844, 855, 866, 877, 888)")]
    NotTollFreeNpa(u16),
    /// A package ID of zero.
    #[error("package ID must be greater than 0")]
    ZeroPackageId,
    /// An empty reservation ID or one with characters outside `[A-Za-z0-9-]`.
    #[error(
        "'{0}' is not a valid reservation ID: expected a UUID such as F78793B1-7E84-11E6-B908-52540029234D"
    )]
    BadReservationId(String),
}

/// A US toll-free number in E.164 form: `+1`, a toll-free NPA, and seven digits.
///
/// Stored inline as its twelve canonical ASCII bytes (`+18005550100`): no heap
/// allocation per number, which matters at 100,000 numbers in a listing, a
/// plan and the sets' statuses at once. Ordering and equality are those of
/// the canonical string; it serializes exactly as the vendor writes it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct E164([u8; E164_LEN]);

/// Length of the canonical form: `+`, `1` and ten digits.
const E164_LEN: usize = 12;

impl E164 {
    /// Parses a number, accepting only the canonical `+1NPANXXXXXX` form.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let digits = s
            .strip_prefix("+1")
            .filter(|d| d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| ParseError::NotE164(s.to_owned()))?;
        let npa: u16 = digits[..3]
            .parse()
            .map_err(|_| ParseError::NotE164(s.to_owned()))?;
        if !TOLL_FREE_NPAS.contains(&npa) {
            return Err(ParseError::NotTollFree {
                value: s.to_owned(),
                npa,
            });
        }
        let bytes: [u8; E164_LEN] = s
            .as_bytes()
            .try_into()
            .map_err(|_| ParseError::NotE164(s.to_owned()))?;
        Ok(Self(bytes))
    }

    /// The canonical string, e.g. `+18005550100`.
    pub fn as_str(&self) -> &str {
        // Validated in `parse`: twelve ASCII bytes, always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The area code, e.g. `800`.
    pub fn npa(&self) -> Npa {
        // Validated in `parse`: three ASCII digits of a toll-free NPA.
        Npa(self.as_str()[2..5].parse().unwrap_or(800))
    }

    /// The ten national digits without `+1`, as the purchase endpoint's
    /// `{countryCode, number}` objects want them.
    pub fn national(&self) -> &str {
        &self.as_str()[2..]
    }

    /// The number as an integer of its eleven digits; consecutive numbers differ by one.
    pub fn as_u64(&self) -> u64 {
        self.as_str()[1..].parse().unwrap_or(0)
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for E164 {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for E164 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for E164 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Canonical;
        impl serde::de::Visitor<'_> for Canonical {
            type Value = E164;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a toll-free number in E.164 form, e.g. +18005550100")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<E164, E> {
                E164::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(Canonical)
    }
}

/// A toll-free area code (NPA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Npa(u16);

impl Npa {
    /// Accepts only the toll-free NPAs of [`TOLL_FREE_NPAS`].
    pub fn new(npa: u16) -> Result<Self, ParseError> {
        if TOLL_FREE_NPAS.contains(&npa) {
            Ok(Self(npa))
        } else {
            Err(ParseError::NotTollFreeNpa(npa))
        }
    }

    /// The area code as a number.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Npa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for Npa {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(u16::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An IntelePeer package (route profile) ID; never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PackageId(u64);

impl PackageId {
    /// Rejects zero.
    pub fn new(id: u64) -> Result<Self, ParseError> {
        if id == 0 {
            Err(ParseError::ZeroPackageId)
        } else {
            Ok(Self(id))
        }
    }

    /// The ID as a number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for PackageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for PackageId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(u64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A vendor order ID (purchase, change package or disconnect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(pub u64);

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A reservation ID: a UUID the client may choose (the operator always does, so
/// that a crash between "reserve" and "record" can be resolved).
///
/// Compared case-insensitively, as the vendor writes UUIDs in upper case.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct ReservationId(String);

impl ReservationId {
    /// Accepts a non-empty string of ASCII letters, digits and dashes (at most 64).
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.is_empty()
            || s.len() > 64
            || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(ParseError::BadReservationId(s.to_owned()));
        }
        Ok(Self(s.to_ascii_uppercase()))
    }

    /// The ID in upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq for ReservationId {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for ReservationId {}
impl std::hash::Hash for ReservationId {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.to_ascii_uppercase().hash(h)
    }
}
impl PartialOrd for ReservationId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ReservationId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0
            .to_ascii_uppercase()
            .cmp(&other.0.to_ascii_uppercase())
    }
}

impl fmt::Display for ReservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ReservationId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for ReservationId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_toll_free_npa() {
        for npa in TOLL_FREE_NPAS {
            let n = E164::parse(&format!("+1{npa}5550100")).expect("valid");
            assert_eq!(n.npa().get(), npa);
            assert_eq!(n.national(), format!("{npa}5550100"));
        }
    }

    #[test]
    fn rejects_geographic_numbers_with_the_npa_in_the_message() {
        let err = E164::parse("+13035550100").unwrap_err();
        assert!(err.to_string().contains("303"), "{err}");
    }

    #[test]
    fn rejects_malformed_numbers() {
        for bad in [
            "",
            "18005550100",
            "+1800555010",
            "+180055501000",
            "+1800555010x",
            "+28005550100",
            " +18005550100",
        ] {
            assert!(
                matches!(E164::parse(bad), Err(ParseError::NotE164(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn consecutive_numbers_differ_by_one() {
        let a = E164::parse("+18887293863").unwrap();
        let b = E164::parse("+18887293864").unwrap();
        assert_eq!(b.as_u64() - a.as_u64(), 1);
    }

    #[test]
    fn package_id_zero_is_refused() {
        assert_eq!(PackageId::new(0), Err(ParseError::ZeroPackageId));
        assert_eq!(PackageId::new(30744).unwrap().get(), 30744);
        assert!(serde_json::from_str::<PackageId>("0").is_err());
    }

    #[test]
    fn reservation_ids_compare_case_insensitively() {
        let a = ReservationId::parse("f78793b1-7e84-11e6-b908-52540029234d").unwrap();
        let b = ReservationId::parse("F78793B1-7E84-11E6-B908-52540029234D").unwrap();
        assert_eq!(a, b);
        assert!(ReservationId::parse("").is_err());
        assert!(ReservationId::parse("a b").is_err());
    }

    #[test]
    fn npa_outside_toll_free_is_refused() {
        assert!(Npa::new(303).is_err());
        assert_eq!(Npa::new(888).unwrap().get(), 888);
    }
}
