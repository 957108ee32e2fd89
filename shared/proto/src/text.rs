//! Quoting user-supplied text in messages.

/// `text` cut to at most `max_chars` characters, marked with '…' where it was cut. Use it for
/// anything user-supplied that a message quotes.
pub fn clip(text: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..end])),
        None => std::borrow::Cow::Borrowed(text),
    }
}
