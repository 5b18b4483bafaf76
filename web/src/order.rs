//! The order of a shown list while a person works in it (plain Rust, tested on the host).

/// Put `id` back after the row it followed in `prev` (or where it was, when that row is gone), if it
/// is still in `now`: the rows around it may change, it does not move among them.
pub fn keep_in_place(now: &mut Vec<String>, prev: &[String], id: &str) {
    let (Some(was), Some(is)) = (
        prev.iter().position(|k| k == id),
        now.iter().position(|k| k == id),
    ) else {
        return;
    };
    now.remove(is);
    let at = match was.checked_sub(1).map(|p| &prev[p]) {
        None => 0,
        Some(before) => match now.iter().position(|k| k == before) {
            Some(p) => p + 1,
            None => was.min(now.len()),
        },
    };
    now.insert(at, id.to_owned());
}

#[cfg(test)]
mod tests {
    use super::keep_in_place;

    fn ids(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_task_being_edited_keeps_its_place_among_the_others() {
        // x's due date sorted it first; it stays after a, where it was.
        let mut now = ids("x m a b");
        keep_in_place(&mut now, &ids("m a x b"), "x");
        assert_eq!(now, ids("m a x b"));
        // A new row above, one gone below: x still follows a.
        let mut now = ids("n x a c");
        keep_in_place(&mut now, &ids("a x b c"), "x");
        assert_eq!(now, ids("n a x c"));
        // It was first: it stays first.
        let mut now = ids("a b x");
        keep_in_place(&mut now, &ids("x a b"), "x");
        assert_eq!(now, ids("x a b"));
        // The row it followed is gone: its old index.
        let mut now = ids("x b c");
        keep_in_place(&mut now, &ids("b a x c"), "x");
        assert_eq!(now, ids("b c x"));
        // Not there before, or not there now: nothing to keep.
        let mut now = ids("x a");
        keep_in_place(&mut now, &ids("a"), "x");
        assert_eq!(now, ids("x a"));
        let mut now = ids("a b");
        keep_in_place(&mut now, &ids("x a b"), "x");
        assert_eq!(now, ids("a b"));
    }
}
