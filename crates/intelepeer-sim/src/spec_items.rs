//! The `key=value,key=value` grammar that the fault and the tampering
//! specifications share (`--faults`, `--tamper`, the admin API): items
//! separated by `,`, blanks ignored, keys with `_` read as `-`.

/// One `key=value` item of a specification.
pub(crate) struct Item<'a> {
    /// The key as written (trimmed), for error messages.
    pub written: &'a str,
    /// The key with underscores read as dashes, to match on.
    pub key: String,
    /// The value, trimmed.
    pub value: &'a str,
}

/// The items of `spec`, in order; `Err(item)` for an item without `=`.
pub(crate) fn items(spec: &str) -> impl Iterator<Item = Result<Item<'_>, &str>> {
    spec.split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|item| {
            let (key, value) = item.split_once('=').ok_or(item)?;
            let written = key.trim();
            Ok(Item {
                written,
                key: written.replace('_', "-"),
                value: value.trim(),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_trimmed_keys_read_dashes_and_a_bare_word_is_refused() {
        let got: Vec<(String, String)> = items(" drop_next = 1 ,, latency=5ms ")
            .map(|i| i.map(|i| (i.key, i.value.to_owned())))
            .collect::<Result<_, _>>()
            .expect("parsed");
        assert_eq!(
            got,
            vec![
                ("drop-next".to_owned(), "1".to_owned()),
                ("latency".to_owned(), "5ms".to_owned())
            ]
        );
        assert_eq!(
            items("a=1,oops").nth(1).map(|r| r.err()),
            Some(Some("oops"))
        );
        assert_eq!(items("").count(), 0);
    }
}
