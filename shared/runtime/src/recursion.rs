//! Bounds for the parsers Weft uses but does not write (CEL for rules, Cedar for guardrails):
//! they recurse once or more per nesting level and per operator of a chain, so an expression
//! is refused past a nesting depth (measured here, before the parser sees it), and parsing and
//! evaluating run on a thread with a stack sized for the longest accepted expression rather
//! than on a runtime worker's 2 MiB.

/// Stack of the threads `on_large_stack` starts: the longest accepted CEL rule (a chain of
/// thousands of operators) parses and evaluates within it even in a debug build.
const LARGE_STACK: usize = 64 * 1024 * 1024;

/// How deep `text` nests: brackets of any kind (outside string literals) and runs of prefix
/// operators (`!`, `-`), whichever goes deeper at any point. Linear in the text, no recursion.
pub fn nesting_depth(text: &str) -> usize {
    let mut depth: usize = 0;
    // What each open bracket added: itself and the prefix operators right before it.
    let mut opened: Vec<usize> = Vec::new();
    let mut deepest: usize = 0;
    let mut prefix_run: usize = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        if let Some(open) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == open => quote = None,
                _ => {}
            }
            continue;
        }
        match c {
            '"' | '\'' => {
                quote = Some(c);
                prefix_run = 0;
            }
            '(' | '[' | '{' => {
                opened.push(1 + prefix_run);
                depth += 1 + prefix_run;
                prefix_run = 0;
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(opened.pop().unwrap_or(0));
                prefix_run = 0;
            }
            '!' | '-' => prefix_run += 1,
            c if c.is_whitespace() => {}
            _ => prefix_run = 0,
        }
        deepest = deepest.max(depth + prefix_run);
    }
    deepest
}

/// Runs `work` on a thread of its own with a large stack and waits for it (a panic in it is
/// resumed here). For parsing and evaluating expressions whose recursion the caller bounds.
pub fn on_large_stack<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("weft-deep-parse".to_string())
            .stack_size(LARGE_STACK)
            .spawn_scoped(scope, work)
            .expect("a thread for parsing can be started");
        match thread.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_and_prefix_operators_outside_strings() {
        assert_eq!(nesting_depth("a && b"), 0);
        assert_eq!(nesting_depth("size(x) > 0"), 1);
        assert_eq!(nesting_depth("all(a, exists(b, [1, 2]))"), 3);
        assert_eq!(nesting_depth("((((x))))"), 4);
        assert_eq!(nesting_depth("!!!!x"), 4);
        assert_eq!(nesting_depth("(!(!x))"), 4);
        assert_eq!(nesting_depth("- - -1"), 3);
        assert_eq!(nesting_depth("a - b - c"), 1);
        assert_eq!(nesting_depth(r#"x == "((((\"((" && y"#), 0);
        assert_eq!(nesting_depth("x == '[[[' "), 0);
        assert_eq!(nesting_depth(&"(".repeat(100_000)), 100_000);
    }

    #[test]
    fn work_on_a_large_stack_returns_its_value_and_its_panic() {
        fn deep(n: u64) -> u64 {
            let padding = [n; 64];
            if n == 0 {
                0
            } else {
                deep(n - 1) + padding[63] / n.max(1)
            }
        }
        assert_eq!(on_large_stack(|| deep(50_000)), 50_000);
        let caught = std::panic::catch_unwind(|| on_large_stack(|| panic!("inside")));
        assert!(caught.is_err());
    }
}
