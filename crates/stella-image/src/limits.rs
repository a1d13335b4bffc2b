//! The bounds every read is held to.

/// Bounds enforced while reading an image. Every one is checked as the data streams past, so
/// none of them needs the data in memory first. `Default` holds values for a server that scans
/// uploaded images: large enough for real-world images (a CUDA base image's biggest layer is
/// a few GiB uncompressed), small enough that one hostile upload cannot exhaust the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Layers in one image (Docker's own limit is 127 for overlayfs).
    pub max_layers: usize,
    /// Tar entries (of any kind) in one layer, and in the outer archive.
    pub max_entries_per_layer: u64,
    /// Uncompressed bytes of one layer tar.
    pub max_layer_bytes: u64,
    /// Uncompressed bytes of all layers of the image together.
    pub max_total_bytes: u64,
    /// Largest regular file handed to a visitor; bigger wanted files are reported, not read.
    pub max_file_bytes: u64,
    /// Components in an entry path.
    pub max_path_depth: usize,
    /// Bytes of an entry path or link target (also bounds GNU long names).
    pub max_path_bytes: usize,
    /// Bytes of `manifest.json`, `index.json`, an image manifest or an image config.
    pub max_manifest_bytes: u64,
    /// Bytes of one PAX extended header.
    pub max_pax_bytes: u64,
    /// Bytes of paths one [`crate::LayerSummary`] keeps (links, whiteouts, oversized files).
    pub max_summary_bytes: u64,
    /// Symlinks followed by [`crate::Squashed::resolve`] before it gives up.
    pub max_symlink_hops: u32,
    /// Levels of nested image indexes followed from `index.json`.
    pub max_index_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        const MIB: u64 = 1024 * 1024;
        const GIB: u64 = 1024 * MIB;
        Limits {
            max_layers: 128,
            max_entries_per_layer: 1_000_000,
            max_layer_bytes: 8 * GIB,
            max_total_bytes: 32 * GIB,
            max_file_bytes: 64 * MIB,
            max_path_depth: 64,
            max_path_bytes: 4096,
            max_manifest_bytes: 4 * MIB,
            max_pax_bytes: 64 * 1024,
            max_summary_bytes: 64 * MIB,
            max_symlink_hops: 40,
            max_index_depth: 4,
        }
    }
}
