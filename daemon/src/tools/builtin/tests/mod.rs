//! Tests of the builtin tools through `run_builtin`, as the model calls them (the
//! tools' own internals are tested next to them).

mod files;
mod history;
mod run;
mod shell;
mod support;
