//! Search over images' prompts and tags (DESIGN §10): both are cut into words, folded to lower
//! case without accents, and a query matches an image when every query word is one of the
//! image's words, the last one as a prefix. The store keeps an image's words as one string
//! (`" word word "`, see [`indexed_words`]) so that a substring test is a word test, and files
//! public images under the stems of their words ([`stems`]) for the feed
//! (docs/decisions/0140-search-index.md).

use std::collections::BTreeSet;

use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use crate::{FieldError, Image, Tags};

/// How many characters of a word name the index partition it is filed under. Words shorter
/// than this are not filed (they are found by filtering, see [`Search::stem`]).
pub const STEM_CHARS: usize = 3;

/// The words of `text`: runs of letters and digits, lower-cased, accents removed (compatibility
/// decomposition, combining marks dropped: "Café" and "CAFE" are both "cafe").
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(fold)
        .filter(|w| !w.is_empty())
}

/// One word folded: decomposed, marks dropped, lower-cased.
fn fold(word: &str) -> String {
    word.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        // Decomposition can split a letter into a letter and punctuation ("ǆ" stays, "½" gives
        // "1⁄2"): keep letters and digits only, as the split did.
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The distinct words of a prompt and tags, in first-seen order.
fn distinct_words(prompt: &str, tags: &Tags) -> Vec<String> {
    let mut seen = BTreeSet::new();
    words(prompt)
        .chain(tags.iter().flat_map(|t| words(t.as_str())))
        .filter(|w| seen.insert(w.clone()))
        .collect()
}

/// What the store keeps to search an image: its distinct words between single spaces, with a
/// space before the first and after the last, so `" sea "` finds the word and `" se"` a word
/// beginning so.
pub fn indexed_words(prompt: &str, tags: &Tags) -> String {
    let words = distinct_words(prompt, tags);
    if words.is_empty() {
        return " ".to_owned();
    }
    format!(" {} ", words.join(" "))
}

/// The first [`STEM_CHARS`] characters of `word`, if it has that many.
fn stem_of(word: &str) -> Option<String> {
    (word.chars().count() >= STEM_CHARS).then(|| word.chars().take(STEM_CHARS).collect())
}

/// The index partitions a public image is filed under: the distinct stems of its words of
/// [`STEM_CHARS`] characters or more, sorted.
pub fn stems(prompt: &str, tags: &Tags) -> BTreeSet<String> {
    distinct_words(prompt, tags)
        .iter()
        .filter_map(|w| stem_of(w))
        .collect()
}

/// A search query: 1 to [`Search::MAX_WORDS`] words, every one of which must match, the last
/// as a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    words: Vec<String>,
}

impl Search {
    /// The most characters of `q`, as sent.
    pub const MAX_CHARS: usize = 200;
    /// The most words of `q`.
    pub const MAX_WORDS: usize = 8;

    /// `q` as sent; named `field` in errors.
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldError> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                format!("has at most {} characters", Self::MAX_CHARS),
            ));
        }
        let words: Vec<String> = words(raw).collect();
        if words.is_empty() {
            return Err(FieldError::new(
                field,
                "has no letters or digits to search for",
            ));
        }
        if words.len() > Self::MAX_WORDS {
            return Err(FieldError::new(
                field,
                format!("has at most {} words", Self::MAX_WORDS),
            ));
        }
        Ok(Self { words })
    }

    /// The words that must be whole words of the image, and the last one, which may begin one.
    pub fn parts(&self) -> (&[String], &str) {
        match self.words.split_last() {
            Some((last, whole)) => (whole, last),
            None => (&[], ""),
        }
    }

    /// The substrings of an image's [`indexed_words`] that all must be found for a match:
    /// `" word "` for each whole word, `" prefix"` for the last.
    pub fn needles(&self) -> Vec<String> {
        let (whole, last) = self.parts();
        whole
            .iter()
            .map(|w| format!(" {w} "))
            .chain(std::iter::once(format!(" {last}")))
            .collect()
    }

    /// Whether the image's prompt and tags match.
    pub fn matches(&self, image: &Image) -> bool {
        let words = indexed_words(&image.prompt, &image.tags);
        self.needles().iter().all(|n| words.contains(n.as_str()))
    }

    /// The index partition to read: the stem of the longest word that has one (the last word's
    /// only if it has [`STEM_CHARS`] characters: a shorter prefix begins words of many stems).
    /// `None` when no word has a stem: the query is answered by filtering the whole list.
    pub fn stem(&self) -> Option<String> {
        let (whole, last) = self.parts();
        whole
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(last))
            .filter_map(|w| stem_of(w).map(|s| (w.chars().count(), s)))
            // The longest word, the first of equals.
            .fold(
                None,
                |best: Option<(usize, String)>, (len, stem)| match best {
                    Some((b, _)) if b >= len => best,
                    _ => Some((len, stem)),
                },
            )
            .map(|(_, stem)| stem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Tags {
        Tags::parse(t).expect("tags")
    }

    #[test]
    fn words_are_lower_cased_without_accents_and_split_at_anything_else() {
        let found: Vec<String> = words("Café CRÈME-brûlée, Ångström's naïve 3D Zoë!").collect();
        assert_eq!(
            found,
            [
                "cafe", "creme", "brulee", "angstrom", "s", "naive", "3d", "zoe"
            ]
        );
    }

    #[test]
    fn an_images_words_are_distinct_and_include_its_tags_as_words() {
        assert_eq!(
            indexed_words("A sea, the SEA", &tags(&["night-sky", "sea"])),
            " a sea the night sky "
        );
        assert_eq!(indexed_words("!!!", &Tags::default()), " ");
    }

    #[test]
    fn stems_are_the_first_three_characters_of_words_that_have_three() {
        let found = stems("Sunset over a sunny séa, 3D", &tags(&["sunflower"]));
        assert_eq!(found.into_iter().collect::<Vec<_>>(), ["ove", "sea", "sun"]);
    }

    #[test]
    fn a_query_is_one_to_eight_words_of_at_most_200_characters() {
        assert!(Search::parse("  ,;  ", "q").is_err(), "no words");
        assert!(Search::parse(&"a ".repeat(9), "q").is_err(), "nine words");
        assert!(Search::parse(&"a".repeat(201), "q").is_err(), "too long");
        let err = Search::parse("", "q").expect_err("empty");
        assert_eq!(err.field, "q");
        assert!(Search::parse(&"a ".repeat(8), "q").is_ok());
    }

    #[test]
    fn every_word_must_match_and_only_the_last_as_a_prefix() {
        let search = Search::parse("Light DAW", "q").expect("a query");
        assert_eq!(search.needles(), [" light ", " daw"]);
        let search = Search::parse("ligh dawn", "q").expect("a query");
        assert_eq!(search.needles(), [" ligh ", " dawn"]);
    }

    #[test]
    fn the_partition_is_the_stem_of_the_longest_word_that_has_one() {
        let stem = |q: &str| Search::parse(q, "q").expect("a query").stem();
        assert_eq!(stem("red lighthouse at"), Some("lig".into()));
        assert_eq!(stem("sea sky"), Some("sea".into()), "the first of equals");
        assert_eq!(stem("an ox"), None, "no word of three characters");
        assert_eq!(stem("ocean li"), Some("oce".into()));
        assert_eq!(stem("li"), None, "a short prefix begins many stems");
    }
}
