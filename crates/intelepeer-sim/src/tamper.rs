//! Listing tampering ([`Tampering`]): a vendor whose `GET /my/tf` answers
//! lie, and the page builder of `GET /my/tf` that applies it.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::records::{Holding, inventory_record};

/// The package of `endless`'s synthetic records when the listing asked for no
/// `packageID`.
pub const SYNTHETIC_PACKAGE_ID: u64 = 99_999;

/// Listing tampering: a vendor whose `GET /my/tf` answers lie, for testing a
/// client that must not trust a listing by accident.
///
/// Tampering changes only the *answers* of `GET /_rest/v4/my/tf` and
/// `GET /_rest/v3/my/tf`, never the state: a number left out of a listing is
/// still owned, can still be moved or disconnected, and still cannot be
/// reserved or bought by anyone; every other endpoint, the ledger, the admin
/// API and [`crate::Simulator::inventory`] tell the truth. Like [`crate::Faults`]
/// it is set at run time ([`crate::Simulator::set_tampering`],
/// `PUT /_admin/tampering`, `--tamper` on the command line), is not saved in
/// the state file, and is cleared by a reset.
///
/// One knob per hostile behaviour, all combinable:
///
/// | knob | what the listing does |
/// |---|---|
/// | `omit` | leaves these numbers out, as if the account did not hold them; paging stays well formed (`pageSize + 1` records when more follow) |
/// | `strip_plus` | writes these numbers without their `+` (`18775550302`) |
/// | `duplicate` | lists each of these numbers twice: the real record, then right after it a second one with the given `packageID` (the copy takes a place in paging like any record) |
/// | `empty` | every page is `{"endpoints": [], "hasMore": false}`, as if the account were empty |
/// | `endless` | after the real records come synthetic ones without end: every page holds `pageSize + 1` records and says `hasMore: true` |
/// | `pad` | the body is padded to exactly `to_bytes` bytes of valid JSON (a long unknown `padding` field, or trailing whitespace), around the real page or an empty page; a body already longer is sent as is |
/// | `has_more` | lies about `hasMore`: `false` on a page carrying `pageSize + 1` records, or `true` on a short page (the last one, and every empty page after it) |
/// | `account` | tampers only with that account's listings (default: every account's) |
///
/// Synthetic records of `endless` are fresh on every page: `+1833` followed by
/// seven digits counting up from `0000000` (exchanges 000–199, which no pool
/// number uses), in the first requested `packageID` (or [`SYNTHETIC_PACKAGE_ID`]),
/// whatever the `like` filter says. They are never owned by anyone.
///
/// Order of effects on one page: `empty` wins over everything but `pad`;
/// otherwise `omit`, then `duplicate`, then `endless` build the sequence that
/// is paged, `strip_plus` rewrites the records of the page, `has_more` rewrites
/// the flag, and `pad` wraps the body.
///
/// Written as JSON (`PUT /_admin/tampering`, [`crate::Simulator::dump`]) with
/// these field names: `{"account": 1004318, "omit": ["+18005550100"],
/// "strip_plus": [], "duplicate": {"+18005550101": 30745}, "empty": false,
/// "endless": false, "pad": {"to_bytes": 1000000, "empty_page": true, "style":
/// "whitespace"}, "has_more": "false_on_full_page"}` (any subset). Or as a
/// specification string, see [`Tampering::from_str`].
///
/// The default tampers with nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tampering {
    /// Only this account's listings are tampered with; `None`: every account's.
    pub account: Option<u64>,
    /// Numbers (E.164) left out of every listing; they stay owned and usable.
    pub omit: BTreeSet<String>,
    /// Numbers (E.164) listed without their leading `+`.
    pub strip_plus: BTreeSet<String>,
    /// Numbers listed twice: number → the `packageID` of the second record.
    pub duplicate: BTreeMap<String, u64>,
    /// Every page lists zero numbers with `hasMore: false`.
    pub empty: bool,
    /// Pages never end: real records, then fresh synthetic ones, every page
    /// `pageSize + 1` records and `hasMore: true`.
    pub endless: bool,
    /// Pads the response body to a size.
    pub pad: Option<Padding>,
    /// Lies about `hasMore`.
    pub has_more: Option<HasMoreLie>,
}

/// Padding of a listing's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Padding {
    /// The exact body size in bytes (`Content-Length`). Bodies are streamed,
    /// so the simulator never holds more than the page in memory, whatever the
    /// size. A body that is already longer is sent unpadded.
    pub to_bytes: u64,
    /// Pad an empty page (`{"endpoints": [], "hasMore": false}`) instead of
    /// the real one: a huge body that, once read, says the account is empty.
    #[serde(default)]
    pub empty_page: bool,
    /// What the padding is made of.
    #[serde(default)]
    pub style: PadStyle,
}

/// What a padded body is padded with; both are valid JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PadStyle {
    /// A last field `"padding": "xxxx…"` in the object: a client that keeps
    /// unknown fields holds the whole string.
    #[default]
    Field,
    /// Spaces after the closing `}`.
    Whitespace,
}

/// A lie about `hasMore`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HasMoreLie {
    /// `hasMore: false` on a page that carries `pageSize + 1` records (the
    /// vendor's own sign that more follow).
    FalseOnFullPage,
    /// `hasMore: true` on a page of at most `pageSize` records (the last page,
    /// and every empty page after it).
    TrueOnShortPage,
}

impl Tampering {
    /// Whether nothing is tampered with.
    pub fn is_none(&self) -> bool {
        *self == Self::default()
    }

    /// Tampers only with `account`'s listings.
    #[must_use]
    pub fn for_account(mut self, account: u64) -> Self {
        self.account = Some(account);
        self
    }

    /// Leaves `numbers` out of listings.
    #[must_use]
    pub fn omitting<S: Into<String>>(mut self, numbers: impl IntoIterator<Item = S>) -> Self {
        self.omit.extend(numbers.into_iter().map(Into::into));
        self
    }

    /// Lists `numbers` without their `+`.
    #[must_use]
    pub fn stripping_plus<S: Into<String>>(mut self, numbers: impl IntoIterator<Item = S>) -> Self {
        self.strip_plus.extend(numbers.into_iter().map(Into::into));
        self
    }

    /// Lists `number` twice, the second record in `package_id`.
    #[must_use]
    pub fn duplicating(mut self, number: impl Into<String>, package_id: u64) -> Self {
        self.duplicate.insert(number.into(), package_id);
        self
    }

    /// Lists zero numbers.
    #[must_use]
    pub fn listing_nothing(mut self) -> Self {
        self.empty = true;
        self
    }

    /// Never ends a listing.
    #[must_use]
    pub fn listing_endlessly(mut self) -> Self {
        self.endless = true;
        self
    }

    /// Pads bodies to `to_bytes` bytes with a `padding` field, around the real
    /// page (`empty_page: false`) or an empty one.
    #[must_use]
    pub fn padding_to(mut self, to_bytes: u64, empty_page: bool) -> Self {
        self.pad = Some(Padding {
            to_bytes,
            empty_page,
            style: PadStyle::Field,
        });
        self
    }

    /// Lies about `hasMore`.
    #[must_use]
    pub fn lying_about_has_more(mut self, lie: HasMoreLie) -> Self {
        self.has_more = Some(lie);
        self
    }

    /// Whether a listing of `account` is tampered with.
    pub(crate) fn applies_to(&self, account: u64) -> bool {
        !self.is_none() && self.account.is_none_or(|a| a == account)
    }
}

/// One record of the sequence a listing pages through.
enum Entry<'a> {
    /// A real record.
    Real(&'a str, &'a Holding),
    /// A real number's second record, in another package.
    Copy(&'a str, &'a Holding, u64),
    /// The n-th synthetic record of an endless listing.
    Synthetic(u64),
}

/// The synthetic number of an endless listing's n-th extra record.
fn synthetic_number(n: u64) -> String {
    format!("+1833{:07}", n % 2_000_000)
}

/// One page of a listing: the records from `start` (at most `size + 1`: the
/// quirk's extra record) and `hasMore`, with `tampering` applied.
///
/// Only the page's records are rendered as JSON: rendering the whole
/// inventory for every page made a 2,500-number listing quadratic.
pub(crate) fn page<'a>(
    listed: impl Iterator<Item = (&'a str, &'a Holding)>,
    start: usize,
    size: usize,
    package_ids: &[u64],
    tampering: &Tampering,
) -> (Vec<Value>, bool) {
    if tampering.empty {
        return (Vec::new(), false);
    }
    let take = size.saturating_add(1);
    let end = start.saturating_add(take);
    let real = listed
        .filter(|(n, _)| !tampering.omit.contains(*n))
        .flat_map(|(n, h)| {
            let copy = tampering.duplicate.get(n).map(|p| Entry::Copy(n, h, *p));
            std::iter::once(Entry::Real(n, h)).chain(copy)
        });
    let synthetic = (0..)
        .take_while(|_| tampering.endless)
        .map(Entry::Synthetic);
    let mut total = 0usize;
    let mut records = Vec::new();
    for entry in real.chain(synthetic) {
        if total >= start && total < end {
            records.push(render(entry, package_ids, tampering));
        }
        total += 1;
        // One record past the page says there is more; nothing further is
        // read (an endless listing never ends on its own).
        if total >= end {
            break;
        }
    }
    let mut has_more = total >= end;
    match tampering.has_more {
        Some(HasMoreLie::FalseOnFullPage) if records.len() > size => has_more = false,
        Some(HasMoreLie::TrueOnShortPage) if records.len() <= size => has_more = true,
        _ => {}
    }
    (records, has_more)
}

fn render(entry: Entry<'_>, package_ids: &[u64], tampering: &Tampering) -> Value {
    let mut record = match entry {
        Entry::Real(number, holding) => inventory_record(number, holding),
        Entry::Copy(number, holding, package_id) => inventory_record(
            number,
            &Holding {
                package_id,
                ..holding.clone()
            },
        ),
        Entry::Synthetic(n) => inventory_record(
            &synthetic_number(n),
            &Holding {
                account_id: 0,
                package_id: package_ids.first().copied().unwrap_or(SYNTHETIC_PACKAGE_ID),
                order_id: None,
                label: None,
                has_cpaas: false,
            },
        ),
    };
    if let Some(endpoint) = record.get_mut("endpoint")
        && let Some(number) = endpoint.as_str()
        && tampering.strip_plus.contains(number)
    {
        *endpoint = json!(number.trim_start_matches('+'));
    }
    record
}

/// The listing's answer: `body` as JSON, or padded as `padding` says.
pub(crate) fn respond(body: Value, padding: Option<Padding>) -> Response {
    let Some(padding) = padding else {
        return axum::Json(body).into_response();
    };
    let base = if padding.empty_page {
        json!({ "endpoints": [], "hasMore": false })
    } else {
        body
    };
    let text = base.to_string().into_bytes();
    let (head, tail): (Vec<u8>, &'static [u8]) = match padding.style {
        PadStyle::Field => {
            let mut head = text;
            head.pop(); // the object's closing '}'
            head.extend_from_slice(br#","padding":""#);
            (head, br#""}"#)
        }
        PadStyle::Whitespace => (text, b""),
    };
    let fixed = (head.len() + tail.len()) as u64;
    let Some(fill) = padding.to_bytes.checked_sub(fixed) else {
        return axum::Json(base).into_response();
    };
    stream(head, fill, tail, padding.style, padding.to_bytes)
}

/// A filler chunk; the padding is streamed from it without allocating.
const CHUNK: usize = 64 * 1024;
static X_CHUNK: [u8; CHUNK] = [b'x'; CHUNK];
static SPACE_CHUNK: [u8; CHUNK] = [b' '; CHUNK];

fn stream(head: Vec<u8>, fill: u64, tail: &'static [u8], style: PadStyle, total: u64) -> Response {
    let chunk: &'static [u8; CHUNK] = match style {
        PadStyle::Field => &X_CHUNK,
        PadStyle::Whitespace => &SPACE_CHUNK,
    };
    let full = fill / CHUNK as u64;
    let rest = (fill % CHUNK as u64) as usize;
    let parts = std::iter::once(Bytes::from(head))
        .chain((0..full).map(move |_| Bytes::from_static(chunk)))
        .chain(std::iter::once(Bytes::from_static(&chunk[..rest])))
        .chain(std::iter::once(Bytes::from_static(tail)))
        .map(Ok::<_, Infallible>);
    let mut response = Response::new(Body::from_stream(futures::stream::iter(parts)));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    response
}

/// Why a tampering specification could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TamperingParseError {
    /// An item is not `key=value`.
    #[error("tampering '{0}' is not of the form key=value")]
    NotKeyValue(String),
    /// An unknown key.
    #[error(
        "unknown tampering '{0}': expected account, omit, strip-plus, duplicate, empty, \
         endless, pad-to, pad-empty, pad-style or has-more"
    )]
    UnknownKey(String),
    /// A value of the wrong form for its key.
    #[error("tampering {key}={value}: {expected}")]
    BadValue {
        /// The key.
        key: String,
        /// The rejected value.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
    /// `pad-empty` or `pad-style` without `pad-to`.
    #[error("tampering pad-empty and pad-style need pad-to=BYTES")]
    PadWithoutSize,
}

impl FromStr for Tampering {
    type Err = TamperingParseError;

    /// Parses `account=1004318,omit=+18005550100:+18005550101,
    /// strip-plus=+18775550302,duplicate=+18005550100@30745,empty=true,
    /// endless=true,pad-to=1000000,pad-empty=true,pad-style=whitespace,
    /// has-more=false-on-full-page` (any subset, any order; lists separated by
    /// `:`; underscores may replace dashes; the empty string tampers with
    /// nothing).
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut tampering = Tampering::default();
        let mut pad_to = None;
        let mut pad_empty = None;
        let mut pad_style = None;
        for item in crate::spec_items::items(spec) {
            let item = item.map_err(|i| TamperingParseError::NotKeyValue(i.to_owned()))?;
            let (key, value) = (item.written, item.value);
            let bad = |expected| TamperingParseError::BadValue {
                key: key.to_owned(),
                value: value.to_owned(),
                expected,
            };
            let flag = || match value {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(bad("expected true or false")),
            };
            let numbers = || -> Result<Vec<String>, TamperingParseError> {
                value
                    .split(':')
                    .map(str::trim)
                    .map(|n| {
                        is_e164(n)
                            .then(|| n.to_owned())
                            .ok_or_else(|| bad("expected E.164 numbers separated by ':', e.g. +18005550100:+18005550101"))
                    })
                    .collect()
            };
            match item.key.as_str() {
                "account" => {
                    tampering.account = Some(
                        value
                            .parse::<u64>()
                            .ok()
                            .filter(|a| *a > 0)
                            .ok_or_else(|| bad("expected an account ID, e.g. 1004318"))?,
                    );
                }
                "omit" => tampering.omit.extend(numbers()?),
                "strip-plus" => tampering.strip_plus.extend(numbers()?),
                "duplicate" => {
                    for pair in value.split(':').map(str::trim) {
                        let expected = "expected NUMBER@PACKAGE items separated by ':', e.g. +18005550100@30745";
                        let (number, package) =
                            pair.split_once('@').ok_or_else(|| bad(expected))?;
                        let package = package
                            .parse::<u64>()
                            .ok()
                            .filter(|p| *p > 0 && is_e164(number))
                            .ok_or_else(|| bad(expected))?;
                        tampering.duplicate.insert(number.to_owned(), package);
                    }
                }
                "empty" => tampering.empty = flag()?,
                "endless" => tampering.endless = flag()?,
                "pad-to" => {
                    pad_to = Some(
                        value
                            .parse::<u64>()
                            .map_err(|_| bad("expected a size in bytes, e.g. 1000000"))?,
                    );
                }
                "pad-empty" => pad_empty = Some(flag()?),
                "pad-style" => {
                    pad_style = Some(match value {
                        "field" => PadStyle::Field,
                        "whitespace" => PadStyle::Whitespace,
                        _ => return Err(bad("expected field or whitespace")),
                    });
                }
                "has-more" => {
                    tampering.has_more = Some(match value.replace('_', "-").as_str() {
                        "false-on-full-page" => HasMoreLie::FalseOnFullPage,
                        "true-on-short-page" => HasMoreLie::TrueOnShortPage,
                        _ => {
                            return Err(bad("expected false-on-full-page or true-on-short-page"));
                        }
                    });
                }
                _ => return Err(TamperingParseError::UnknownKey(key.to_owned())),
            }
        }
        match pad_to {
            Some(to_bytes) => {
                tampering.pad = Some(Padding {
                    to_bytes,
                    empty_page: pad_empty.unwrap_or(false),
                    style: pad_style.unwrap_or_default(),
                });
            }
            None if pad_empty.is_some() || pad_style.is_some() => {
                return Err(TamperingParseError::PadWithoutSize);
            }
            None => {}
        }
        Ok(tampering)
    }
}

/// `+` and digits only: the numbers a tampering names (not checked further;
/// a number nobody owns simply never shows).
fn is_e164(text: &str) -> bool {
    text.strip_prefix('+')
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

impl fmt::Display for Tampering {
    /// The specification [`Tampering::from_str`] reads, listing only active knobs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items = Vec::new();
        let join = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(":");
        if let Some(account) = self.account {
            items.push(format!("account={account}"));
        }
        if !self.omit.is_empty() {
            items.push(format!("omit={}", join(&self.omit)));
        }
        if !self.strip_plus.is_empty() {
            items.push(format!("strip-plus={}", join(&self.strip_plus)));
        }
        if !self.duplicate.is_empty() {
            let pairs: Vec<String> = self
                .duplicate
                .iter()
                .map(|(n, p)| format!("{n}@{p}"))
                .collect();
            items.push(format!("duplicate={}", pairs.join(":")));
        }
        if self.empty {
            items.push("empty=true".to_owned());
        }
        if self.endless {
            items.push("endless=true".to_owned());
        }
        if let Some(pad) = self.pad {
            items.push(format!("pad-to={}", pad.to_bytes));
            if pad.empty_page {
                items.push("pad-empty=true".to_owned());
            }
            if pad.style == PadStyle::Whitespace {
                items.push("pad-style=whitespace".to_owned());
            }
        }
        match self.has_more {
            Some(HasMoreLie::FalseOnFullPage) => {
                items.push("has-more=false-on-full-page".to_owned())
            }
            Some(HasMoreLie::TrueOnShortPage) => {
                items.push("has-more=true-on-short-page".to_owned())
            }
            None => {}
        }
        f.write_str(&items.join(","))
    }
}

/// Tampering sent to `PUT /_admin/tampering`: the JSON object or a
/// specification string as on the command line.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum TamperingInput {
    /// `"omit=+18005550100,endless=true"`.
    Spec(String),
    /// `{"omit": ["+18005550100"], "endless": true}`.
    Object(Tampering),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_every_knob_and_prints_back() {
        let tampering: Tampering =
            "account=7,omit=+18005550100:+18005550101,strip-plus=+18775550302,\
             duplicate=+18005550102@30745,empty=true,endless=1,pad-to=5000,pad-empty=true,\
             pad-style=whitespace,has-more=true-on-short-page"
                .parse()
                .expect("valid spec");
        assert_eq!(
            tampering,
            Tampering {
                account: Some(7),
                omit: BTreeSet::from(["+18005550100".into(), "+18005550101".into()]),
                strip_plus: BTreeSet::from(["+18775550302".into()]),
                duplicate: BTreeMap::from([("+18005550102".into(), 30745)]),
                empty: true,
                endless: true,
                pad: Some(Padding {
                    to_bytes: 5000,
                    empty_page: true,
                    style: PadStyle::Whitespace,
                }),
                has_more: Some(HasMoreLie::TrueOnShortPage),
            }
        );
        assert_eq!(tampering.to_string().parse::<Tampering>(), Ok(tampering));
        assert_eq!("".parse::<Tampering>(), Ok(Tampering::default()));
        assert!(Tampering::default().is_none());
    }

    #[test]
    fn the_documented_json_form_reads() {
        let tampering: Tampering = serde_json::from_value(json!({
            "account": 1004318, "omit": ["+18005550100"], "strip_plus": [],
            "duplicate": {"+18005550101": 30745}, "empty": false, "endless": false,
            "pad": {"to_bytes": 1000000, "empty_page": true, "style": "whitespace"},
            "has_more": "false_on_full_page"
        }))
        .expect("documented JSON");
        assert_eq!(
            tampering,
            "account=1004318,omit=+18005550100,duplicate=+18005550101@30745,pad-to=1000000,\
             pad-empty=true,pad-style=whitespace,has-more=false-on-full-page"
                .parse()
                .expect("spec")
        );
    }

    #[test]
    fn spec_errors_name_the_culprit() {
        for (spec, expected) in [
            ("omit", "not of the form"),
            ("boom=1", "unknown tampering"),
            ("omit=18005550100", "E.164"),
            ("duplicate=+18005550100", "NUMBER@PACKAGE"),
            ("duplicate=+18005550100@0", "NUMBER@PACKAGE"),
            ("empty=maybe", "true or false"),
            ("pad-to=lots", "bytes"),
            ("pad-empty=true", "need pad-to"),
            ("has-more=sometimes", "false-on-full-page"),
            ("account=0", "account ID"),
        ] {
            let error = spec.parse::<Tampering>().expect_err(spec).to_string();
            assert!(error.contains(expected), "{spec}: {error}");
        }
    }

    #[test]
    fn tampering_applies_to_its_account_only() {
        assert!(!Tampering::default().applies_to(1));
        let all = Tampering::default().listing_nothing();
        assert!(all.applies_to(1) && all.applies_to(2));
        let one = all.for_account(2);
        assert!(!one.applies_to(1) && one.applies_to(2));
    }
}
