//! Names for the resources Countersign adds beside the source's own (the
//! layer of flattened annotations, the renderer's font).
//!
//! A page's resources map names to objects; the content stream draws with
//! the names. If Countersign's font took a name the source already uses, the
//! source's own text would be drawn with Countersign's font (or the other
//! way round) and read differently. So an added resource takes the first of
//! `base`, `base1`, `base2`, … that the dictionary does not hold.

use lopdf::Dictionary;

/// The first of `base`, `base1`, `base2`, … that `existing` does not use.
pub(crate) fn unique_name(existing: Option<&Dictionary>, base: &str) -> String {
    let taken = |name: &str| existing.is_some_and(|dict| dict.has(name.as_bytes()));
    if !taken(base) {
        return base.to_owned();
    }
    (1..=existing.map_or(0, Dictionary::len)).map(|n| format!("{base}{n}")).find(|name| !taken(name)).unwrap_or_else(|| base.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::Object;

    #[test]
    fn a_taken_name_is_never_reused() {
        let mut fonts = Dictionary::new();
        assert_eq!(unique_name(Some(&fonts), "CSHelv"), "CSHelv");
        fonts.set("CSHelv", Object::Null);
        fonts.set("CSHelv1", Object::Null);
        assert_eq!(unique_name(Some(&fonts), "CSHelv"), "CSHelv2");
        assert_eq!(unique_name(None, "CSHelv"), "CSHelv");
    }
}
