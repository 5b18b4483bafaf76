//! The order of a shown list while a person works in it (plain Rust, tested on the host).

/// The keys a task list shows, in order: each task's id, and in a grouped list a heading key (`#…`)
/// before the first task of each group, each heading once. `rows` are the tasks in the store's order,
/// with their group when the list is grouped. The task being edited (`editing`) keeps its place among
/// the keys shown before (`prev`) and takes no part in the grouping, so that no heading appears or
/// moves for it until its editor closes.
pub fn shown(rows: &[(String, Option<&str>)], prev: Option<&[String]>, editing: Option<&str>) -> Vec<String> {
    let kept = editing
        .filter(|id| prev.is_some_and(|p| p.iter().any(|k| k == id)) && rows.iter().any(|(k, _)| k == id));
    let mut out: Vec<String> = Vec::with_capacity(rows.len() + 3);
    let mut last = None;
    for (id, group) in rows.iter().filter(|(k, _)| Some(k.as_str()) != kept) {
        if let Some(g) = group
            && last != Some(*g)
            && !out.iter().any(|k| k == g)
        {
            out.push((*g).to_owned());
            last = Some(*g);
        }
        out.push(id.clone());
    }
    if let (Some(id), Some(prev)) = (kept, prev) {
        out.push(id.to_owned());
        keep_in_place(&mut out, prev, id);
    }
    out
}

/// Put `id` back after the row it followed in `prev` (or where it was, when that row is gone), if it
/// is still in `now`: the rows around it may change, it does not move among them.
fn keep_in_place(now: &mut Vec<String>, prev: &[String], id: &str) {
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
    use super::{keep_in_place, shown};

    fn ids(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    /// `now` with `id` kept where it was in `prev`.
    fn kept(now: &str, prev: &str, id: &str) -> Vec<String> {
        let mut now = ids(now);
        keep_in_place(&mut now, &ids(prev), id);
        now
    }

    #[test]
    fn the_task_being_edited_keeps_its_place_among_the_others() {
        // x's due date sorted it first; it stays after a, where it was.
        assert_eq!(kept("x m a b", "m a x b", "x"), ids("m a x b"));
        // A new row above, one gone below: x still follows a.
        assert_eq!(kept("n x a c", "a x b c", "x"), ids("n a x c"));
        // It was first: it stays first.
        assert_eq!(kept("a b x", "x a b", "x"), ids("x a b"));
        // The row it followed is gone: its old index.
        assert_eq!(kept("x b c", "b a x c", "x"), ids("b c x"));
        // Not there before, or not there now: nothing to keep.
        assert_eq!(kept("x a", "a", "x"), ids("x a"));
        assert_eq!(kept("a b", "x a b", "x"), ids("a b"));
    }

    fn rows<'a>(r: &[(&str, Option<&'a str>)]) -> Vec<(String, Option<&'a str>)> {
        r.iter().map(|(k, g)| ((*k).to_owned(), *g)).collect()
    }

    #[test]
    fn a_grouped_list_has_each_heading_once_before_its_tasks() {
        let (over, today, later) = (Some("#Overdue"), Some("#Today"), Some("#Later"));
        let r = rows(&[("a", over), ("b", today), ("c", today), ("d", later)]);
        assert_eq!(shown(&r, None, None), ids("#Overdue a #Today b c #Later d"));
        assert_eq!(shown(&rows(&[("a", None), ("b", None)]), None, None), ids("a b"));
    }

    #[test]
    fn the_task_being_edited_stays_under_its_heading_until_it_closes() {
        let (today, later) = (Some("#Today"), Some("#Later"));
        let prev = ids("#Today b #Later x c");
        // x is due today now: it stays where it was, and no heading moves for it.
        let now = rows(&[("b", today), ("x", today), ("c", later)]);
        assert_eq!(shown(&now, Some(&prev), Some("x")), prev);
        // Closed: it joins its group.
        assert_eq!(shown(&now, Some(&prev), None), ids("#Today b x #Later c"));
        // Alone in a new group while edited: that heading waits too.
        let prev = ids("#Later c x");
        let now = rows(&[("x", today), ("c", later)]);
        assert_eq!(shown(&now, Some(&prev), Some("x")), ids("#Later c x"));
    }
}
