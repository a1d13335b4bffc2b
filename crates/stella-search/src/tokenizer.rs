//! The analyser for full-text matching, close enough to Elasticsearch's `standard` analyser for
//! security events: words are runs of letters, digits and `_`; a single `.` or `'` between two
//! word characters does not split, so `10.0.0.1`, `evil.example.com`, `1.2.3` and `don't` stay
//! one token (as UAX #29 keeps them); everything is lower-cased. Tokens longer than
//! [`MAX_TOKEN_BYTES`] are dropped (Elasticsearch's `max_token_length` is 255 too).

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

pub const NAME: &str = "stella_standard";
pub const MAX_TOKEN_BYTES: usize = 255;
/// The fast-field normaliser: a string as one token, or nothing past `KEYWORD_IGNORE_ABOVE`
/// characters, so long free text never enters the columnar dictionaries.
pub const KEYWORD: &str = "stella_keyword";
pub const KEYWORD_IGNORE_ABOVE: usize = 256;

#[derive(Clone, Default)]
pub struct StandardTokenizer {
    token: Token,
}

pub struct StandardTokenStream<'a> {
    text: &'a str,
    pos: usize,
    /// All of `text` is ASCII: classes come from a table, no character decoding.
    ascii: bool,
    token: &'a mut Token,
}

impl Tokenizer for StandardTokenizer {
    type TokenStream<'a> = StandardTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> StandardTokenStream<'a> {
        self.token.reset();
        StandardTokenStream {
            text,
            pos: 0,
            ascii: text.is_ascii(),
            token: &mut self.token,
        }
    }
}

/// Whether the character at byte `i` is a word character, and its length. ASCII is decided
/// from the byte alone, which is most of security-event text.
#[inline]
fn class_at(text: &str, i: usize) -> (bool, usize) {
    let b = text.as_bytes()[i];
    if b < 0x80 {
        (b.is_ascii_alphanumeric() || b == b'_', 1)
    } else {
        match text[i..].chars().next() {
            Some(c) => (c.is_alphanumeric(), c.len_utf8()),
            None => (false, 1),
        }
    }
}

/// ASCII word bytes: letters, digits and `_`.
const WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    t
};

impl StandardTokenStream<'_> {
    /// The next token, with `class(i)` telling whether the character at byte `i` is a word
    /// character and its length. One scan for both paths, monomorphised per class function.
    #[inline]
    fn next_token(&mut self, class: impl Fn(usize) -> (bool, usize)) -> bool {
        let bytes = self.text.as_bytes();
        let n = bytes.len();
        loop {
            let mut start = self.pos;
            while start < n {
                let (word, len) = class(start);
                if word {
                    break;
                }
                start += len;
            }
            if start >= n {
                self.pos = n;
                return false;
            }
            let mut end = start;
            while end < n {
                let (word, len) = class(end);
                if word {
                    end += len;
                } else if (bytes[end] == b'.' || bytes[end] == b'\'')
                    && end + 1 < n
                    && class(end + 1).0
                {
                    end += 1;
                } else {
                    break;
                }
            }
            self.pos = end;
            if end - start > MAX_TOKEN_BYTES {
                continue;
            }
            self.emit(start, end);
            return true;
        }
    }

    fn emit(&mut self, start: usize, end: usize) {
        let word = self.text.get(start..end).unwrap_or_default();
        self.token.text.clear();
        if word.is_ascii() {
            self.token.text.push_str(word);
            self.token.text.make_ascii_lowercase();
        } else {
            self.token
                .text
                .extend(word.chars().flat_map(char::to_lowercase));
        }
        self.token.offset_from = start;
        self.token.offset_to = end;
        self.token.position = self.token.position.wrapping_add(1);
    }
}

impl TokenStream for StandardTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let text = self.text;
        if self.ascii {
            // Most event text is ASCII: a table lookup per byte, no character decoding.
            let b = text.as_bytes();
            self.next_token(|i| (WORD[usize::from(b[i])], 1))
        } else {
            self.next_token(|i| class_at(text, i))
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[derive(Clone, Default)]
pub struct KeywordNormalizer {
    token: Token,
}

pub struct KeywordStream<'a> {
    token: &'a mut Token,
    pending: bool,
}

impl Tokenizer for KeywordNormalizer {
    type TokenStream<'a> = KeywordStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> KeywordStream<'a> {
        self.token.reset();
        // Byte length bounds the character count, so most strings skip counting.
        let keep =
            text.len() <= KEYWORD_IGNORE_ABOVE || text.chars().count() <= KEYWORD_IGNORE_ABOVE;
        if keep {
            self.token.text.push_str(text);
            self.token.offset_to = text.len();
        }
        KeywordStream {
            token: &mut self.token,
            pending: keep,
        }
    }
}

impl TokenStream for KeywordStream<'_> {
    fn advance(&mut self) -> bool {
        let was = self.pending;
        self.pending = false;
        if was {
            self.token.position = 0;
        }
        was
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// The tokens of `text`, as the index has them (used to build `match` queries).
pub fn tokens(text: &str) -> Vec<String> {
    let mut tokenizer = StandardTokenizer::default();
    let mut stream = tokenizer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The general (character-decoding) path on any text.
    fn general_tokens(text: &str) -> Vec<String> {
        let mut tokenizer = StandardTokenizer::default();
        let mut stream = tokenizer.token_stream(text);
        stream.ascii = false;
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    proptest::proptest! {
        /// The ASCII fast path finds exactly the tokens the general path finds.
        #[test]
        fn ascii_fast_path_agrees(text in "[a-zA-Z0-9_.' :/@-]{0,80}") {
            proptest::prop_assert_eq!(tokens(&text), general_tokens(&text));
        }
    }

    #[test]
    fn keeps_addresses_and_hostnames_whole() {
        assert_eq!(
            tokens("Failed password for ROOT from 10.0.0.1 port 22."),
            ["failed", "password", "for", "root", "from", "10.0.0.1", "port", "22"]
        );
        assert_eq!(tokens("evil.example.com:443"), ["evil.example.com", "443"]);
        assert_eq!(tokens("login_failure don't"), ["login_failure", "don't"]);
        assert_eq!(tokens("a..b -x- 'q'"), ["a", "b", "x", "q"]);
        assert_eq!(tokens("ÄÖÜ straße"), ["äöü", "straße"]);
        assert_eq!(tokens(&"x".repeat(300)), Vec::<String>::new());
        assert_eq!(tokens(""), Vec::<String>::new());
    }
}
