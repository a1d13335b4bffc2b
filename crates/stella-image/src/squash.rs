//! The final filesystem of an image from its layers' changes, and symlink resolution in it.

use std::collections::BTreeMap;

use crate::error::ImageError;

/// One layer's changes, as the squash needs them: the non-directory entries it writes (files,
/// symlinks, hardlinks: whatever the caller keeps per path), and its whiteouts and opaque
/// directories (from [`crate::LayerSummary`]). Paths are normalised (as the reader hands them).
#[derive(Debug, Clone)]
pub struct LayerChanges<T> {
    pub entries: BTreeMap<String, T>,
    pub whiteouts: Vec<String>,
    pub opaque_dirs: Vec<String>,
}

impl<T> Default for LayerChanges<T> {
    fn default() -> Self {
        LayerChanges {
            entries: BTreeMap::new(),
            whiteouts: Vec::new(),
            opaque_dirs: Vec::new(),
        }
    }
}

/// The squashed view: path → (index of the layer that last wrote it, its value).
#[derive(Debug)]
pub struct Squashed<'a, T> {
    view: BTreeMap<String, (usize, &'a T)>,
}

fn remove_under<V>(view: &mut BTreeMap<String, V>, dir: &str) {
    if dir.is_empty() {
        view.clear();
        return;
    }
    let prefix = format!("{dir}/");
    let doomed: Vec<String> = view
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .collect();
    for k in doomed {
        view.remove(&k);
    }
}

/// Applies the layers in order (index 0 is the base). For each layer, its whiteouts and opaque
/// directories hide what lower layers wrote (a whiteout of `p` hides `p` and all under it; an
/// opaque `d` hides all under `d`), never what the same layer writes; then its entries are laid
/// on top. An entry at `p` hides lower entries under `p/` (it is not a directory) and a lower
/// entry at any ancestor of `p` (that ancestor is a directory now). Paths are taken lexically:
/// a symlinked directory in a lower layer does not redirect a later layer's paths.
pub fn squash<T>(layers: &[LayerChanges<T>]) -> Squashed<'_, T> {
    let mut view: BTreeMap<String, (usize, &T)> = BTreeMap::new();
    for (i, layer) in layers.iter().enumerate() {
        for w in &layer.whiteouts {
            view.remove(w);
            remove_under(&mut view, w);
        }
        for d in &layer.opaque_dirs {
            remove_under(&mut view, d);
        }
        for (p, t) in &layer.entries {
            remove_under(&mut view, p);
            for (idx, _) in p.match_indices('/') {
                view.remove(&p[..idx]);
            }
            view.insert(p.clone(), (i, t));
        }
    }
    Squashed { view }
}

impl<'a, T> Squashed<'a, T> {
    /// The entry at a normalised path.
    pub fn get(&self, path: &str) -> Option<(usize, &'a T)> {
        self.view.get(path).copied()
    }

    /// Every entry, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, usize, &'a T)> + '_ {
        self.view.iter().map(|(k, (i, t))| (k.as_str(), *i, *t))
    }

    pub fn len(&self) -> usize {
        self.view.len()
    }

    pub fn is_empty(&self) -> bool {
        self.view.is_empty()
    }

    /// Resolves `path` (absolute or relative to the root) through symlinks, as the kernel would
    /// inside the image root: `link_of` says whether an entry is a symlink and gives its target;
    /// absolute targets start again at the image root, and `..` never climbs above it. Gives the
    /// normalised path of the entry reached, or `None` when nothing is there (a dangling link, a
    /// missing file, a path through a regular file). More than `max_hops` links (a loop) is
    /// [`ImageError::SymlinkLoop`].
    pub fn resolve(
        &self,
        path: &str,
        max_hops: u32,
        link_of: impl Fn(&T) -> Option<&str>,
    ) -> Result<Option<String>, ImageError> {
        let loop_err = || ImageError::SymlinkLoop {
            path: path.chars().take(256).collect(),
            limit: max_hops,
        };
        let mut pending: Vec<String> = Vec::new(); // components still to walk, reversed
        push_components(&mut pending, path);
        let mut resolved: Vec<String> = Vec::new();
        let mut hops = 0u32;
        while let Some(comp) = pending.pop() {
            if comp == ".." {
                resolved.pop();
                continue;
            }
            resolved.push(comp);
            let here = resolved.join("/");
            match self.view.get(&here) {
                Some((_, t)) => {
                    if let Some(target) = link_of(t) {
                        hops += 1;
                        if hops > max_hops {
                            return Err(loop_err());
                        }
                        resolved.pop();
                        if target.starts_with('/') {
                            resolved.clear();
                        }
                        push_components(&mut pending, target);
                    } else if !pending.is_empty() {
                        // A regular file in the middle of the path: nothing is there.
                        return Ok(None);
                    }
                }
                None => {
                    // An implicit directory (something lives under it), or nothing.
                    if !pending.is_empty() {
                        continue;
                    }
                    return Ok(None);
                }
            }
        }
        let here = resolved.join("/");
        Ok(self.view.contains_key(&here).then_some(here))
    }
}

fn push_components(pending: &mut Vec<String>, path: &str) {
    for c in path.split('/').rev() {
        if !c.is_empty() && c != "." {
            pending.push(c.to_string());
        }
    }
}
