//! Running a parsed search against tenant indexes and answering in Elasticsearch's shape.

pub(crate) mod collect;
pub(crate) mod compile;
pub(crate) mod fetch;
pub(crate) mod keyword;
pub(crate) mod search;
pub(crate) mod sort;
