//! A file-level import graph of a crate's sources, to check the layout rules of
//! `docs/architecture.md`: no file imports from a file that imports from it.
//!
//! This reads Rust the way a reviewer does, not the way rustc does: it follows
//! `mod` declarations from the crate root, reads every `use` tree and every
//! `crate::`/`super::`/`self::` path in code (comments and string literals
//! stripped), and resolves each name to the file that defines it. A `pub use`
//! re-export is not an edge of its own: a name reached through one is resolved
//! on to the file it was re-exported from, so a thin `mod.rs` that declares its
//! children and re-exports their items never closes a cycle. A `super` inside an
//! inline `mod name { .. }` (a file's `mod tests`) names that file itself. Names that are not
//! found (macros, inline modules, items of other crates) are left out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// One source file as a module of the crate.
#[derive(Debug)]
struct ModFile {
    /// Module path from the crate root (`[]` for `lib.rs`).
    path: Vec<String>,
    file: PathBuf,
    /// Names bound by `use` in this file: name -> absolute path, and whether
    /// the binding is a re-export (`pub use`, `pub(crate) use`).
    bindings: HashMap<String, (Vec<String>, bool)>,
    /// `pub use some::module::*`: absolute module paths re-exported whole.
    glob_reexports: Vec<Vec<String>>,
    /// Absolute paths this file uses (private `use` leaves and paths in code).
    uses: Vec<Vec<String>>,
    children: BTreeSet<String>,
    /// Items defined in this file.
    defs: std::collections::HashSet<String>,
}

/// The crate's files and which files each one imports from.
#[derive(Debug)]
pub struct ModGraph {
    /// File (relative to the crate's `src/`) -> files it imports from.
    pub edges: BTreeMap<String, BTreeSet<String>>,
}

impl ModGraph {
    /// Builds the graph of the crate whose root file is `root` (a `lib.rs` or
    /// `main.rs`).
    pub fn of_crate(root: &Path) -> std::io::Result<Self> {
        let src = root.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut mods: Vec<ModFile> = Vec::new();
        let mut todo = vec![(Vec::<String>::new(), root.to_path_buf())];
        while let Some((path, file)) = todo.pop() {
            let text = std::fs::read_to_string(&file)?;
            let code = strip(&text);
            let children = mod_decls(&code);
            let dir = child_dir(&file);
            for c in &children {
                let a = dir.join(format!("{c}.rs"));
                let b = dir.join(c).join("mod.rs");
                let f = if a.exists() { a } else { b };
                if f.exists() {
                    let mut p = path.clone();
                    p.push(c.clone());
                    todo.push((p, f));
                }
            }
            mods.push(ModFile {
                path,
                file,
                bindings: HashMap::new(),
                glob_reexports: Vec::new(),
                uses: Vec::new(),
                children: children.into_iter().collect(),
                defs: item_defs(&code),
            });
            let last = mods.len() - 1;
            let m = &mut mods[last];
            read_uses(&code, m);
        }
        let index: HashMap<Vec<String>, usize> = mods
            .iter()
            .enumerate()
            .map(|(i, m)| (m.path.clone(), i))
            .collect();
        let rel = |i: usize| {
            mods[i]
                .file
                .strip_prefix(&src)
                .unwrap_or(&mods[i].file)
                .display()
                .to_string()
        };
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (i, m) in mods.iter().enumerate() {
            let set = edges.entry(rel(i)).or_default();
            for u in &m.uses {
                if let Some(j) = resolve(&mods, &index, u, 0)
                    && j != i
                {
                    set.insert(rel(j));
                }
            }
        }
        Ok(Self { edges })
    }

    /// Every pair of files that import from each other, directly or through
    /// others: one cycle per strongly connected group, as a list of files.
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let nodes: Vec<&String> = self.edges.keys().collect();
        let pos: HashMap<&String, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let adj: Vec<Vec<usize>> = nodes
            .iter()
            .map(|n| {
                self.edges[*n]
                    .iter()
                    .filter_map(|t| pos.get(t).copied())
                    .collect()
            })
            .collect();
        let mut t = Tarjan {
            adj: &adj,
            index: vec![usize::MAX; nodes.len()],
            low: vec![0; nodes.len()],
            on_stack: vec![false; nodes.len()],
            stack: Vec::new(),
            next: 0,
            groups: Vec::new(),
        };
        for v in 0..nodes.len() {
            if t.index[v] == usize::MAX {
                t.visit(v);
            }
        }
        let out = t.groups;
        out.into_iter()
            .map(|c| {
                let mut names: Vec<String> = c.into_iter().map(|i| nodes[i].clone()).collect();
                names.sort();
                names
            })
            .collect()
    }
}

/// Tarjan's strongly connected components over file indices.
struct Tarjan<'a> {
    adj: &'a [Vec<usize>],
    index: Vec<usize>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next: usize,
    /// Components of more than one file: the cycles.
    groups: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, v: usize) {
        self.index[v] = self.next;
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        for &w in &self.adj[v] {
            if self.index[w] == usize::MAX {
                self.visit(w);
                self.low[v] = self.low[v].min(self.low[w]);
            } else if self.on_stack[w] {
                self.low[v] = self.low[v].min(self.index[w]);
            }
        }
        if self.low[v] == self.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                self.groups.push(comp);
            }
        }
    }
}

/// The folder where the children of `file` live: next to `mod.rs`/`lib.rs`/
/// `main.rs`, in `foo/` for `foo.rs`.
fn child_dir(file: &Path) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    match file.file_stem().and_then(|s| s.to_str()) {
        Some("mod" | "lib" | "main") | None => dir,
        Some(stem) => dir.join(stem),
    }
}

/// Follows `path` (absolute, from the crate root) to the index of the file that
/// defines what it names.
fn resolve(
    mods: &[ModFile],
    index: &HashMap<Vec<String>, usize>,
    path: &[String],
    depth: usize,
) -> Option<usize> {
    if depth > 16 {
        return None;
    }
    // The longest prefix that is a module file.
    let mut k = path.len();
    let m = loop {
        if let Some(&i) = index.get(&path[..k]) {
            break i;
        }
        if k == 0 {
            return None;
        }
        k -= 1;
    };
    let rest = &path[k..];
    let Some(item) = rest.first() else {
        return Some(m);
    };
    if mods[m].defs.contains(item) {
        return Some(m);
    }
    if let Some((target, _)) = mods[m].bindings.get(item) {
        let mut p = target.clone();
        p.extend(rest[1..].iter().cloned());
        if p.as_slice() != path {
            return resolve(mods, index, &p, depth + 1).or(Some(m));
        }
    }
    for g in &mods[m].glob_reexports {
        let mut p = g.clone();
        p.extend(rest.iter().cloned());
        if let Some(j) = resolve(mods, index, &p, depth + 1)
            && j != m
            && (mods[j].defs.contains(item) || mods[j].bindings.contains_key(item))
        {
            return Some(j);
        }
    }
    Some(m)
}

/// The names of the items a file defines at any depth (functions, types,
/// traits, constants, statics, macros).
fn item_defs(code: &str) -> std::collections::HashSet<String> {
    let toks = tokens(code);
    let mut out = std::collections::HashSet::new();
    for w in toks.windows(2) {
        if matches!(
            w[0].as_str(),
            "fn" | "struct" | "enum" | "trait" | "type" | "const" | "static" | "union"
        ) && is_ident(&w[1])
        {
            out.insert(w[1].clone());
        }
    }
    for w in toks.windows(3) {
        if w[0] == "macro_rules" && w[1] == "!" {
            out.insert(w[2].clone());
        }
    }
    out
}

/// The names of `mod name;` declarations (not inline `mod name { .. }`).
fn mod_decls(code: &str) -> Vec<String> {
    let toks = tokens(code);
    let mut out = Vec::new();
    for w in toks.windows(3) {
        if w[0] == "mod" && is_ident(&w[1]) && w[2] == ";" {
            out.push(w[1].clone());
        }
    }
    out
}

/// Reads the `use` trees and the paths in code of one file into `m`.
fn read_uses(code: &str, m: &mut ModFile) {
    let toks = tokens(code);
    let inline = inline_depths(&toks);
    let here = m.path.clone();
    let children = m.children.clone();
    let mut i = 0;
    let mut in_use: Vec<bool> = vec![false; toks.len()];
    while i < toks.len() {
        if toks[i] == "use" && (i == 0 || toks[i - 1] != "::") {
            let public = i > 0 && (toks[i - 1] == "pub" || toks[i - 1] == ")");
            let start = i;
            let mut j = i + 1;
            let mut leaves = Vec::new();
            parse_tree(&toks, &mut j, Vec::new(), &mut leaves);
            for t in in_use.iter_mut().take(j.min(toks.len())).skip(start) {
                *t = true;
            }
            for (rel, bound) in leaves {
                let Some(abs) = absolute(&here, &children, &in_file(&rel, inline[start])) else {
                    continue;
                };
                match bound {
                    Bound::Glob => {
                        if public {
                            m.glob_reexports.push(abs.clone());
                        }
                        if !public {
                            m.uses.push(abs);
                        }
                    }
                    Bound::Name(name) => {
                        if !public {
                            m.uses.push(abs.clone());
                        }
                        m.bindings.insert(name, (abs, public));
                    }
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
    // Paths in code: `crate::a::b`, `super::x`, `self::y`, `alias::item`.
    let mut i = 0;
    while i < toks.len() {
        if in_use[i] || !is_ident(&toks[i]) || (i > 0 && toks[i - 1] == "::") {
            i += 1;
            continue;
        }
        let mut segs = vec![toks[i].clone()];
        let mut j = i + 1;
        while j + 1 < toks.len() && toks[j] == "::" && is_ident(&toks[j + 1]) {
            segs.push(toks[j + 1].clone());
            j += 2;
        }
        if segs.len() > 1 {
            let first = segs[0].as_str();
            let abs = if matches!(first, "crate" | "super" | "self") || children.contains(first) {
                absolute(&here, &children, &in_file(&segs, inline[i]))
            } else if let Some((target, _)) = m.bindings.get(first) {
                let mut p = target.clone();
                p.extend(segs[1..].iter().cloned());
                Some(p)
            } else {
                None
            };
            if let Some(abs) = abs {
                m.uses.push(abs);
            }
        }
        i = j;
    }
}

enum Bound {
    Name(String),
    Glob,
}

/// Parses one use tree starting at `toks[*j]`, appending `(path, binding)`
/// leaves; leaves `*j` after the tree's `;` (or the closing token it stopped at).
fn parse_tree(
    toks: &[String],
    j: &mut usize,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Bound)>,
) {
    let mut path = prefix;
    if toks.get(*j).map(String::as_str) == Some("::") {
        *j += 1;
    }
    loop {
        let Some(t) = toks.get(*j) else { return };
        match t.as_str() {
            "{" => {
                *j += 1;
                loop {
                    match toks.get(*j).map(String::as_str) {
                        None => return,
                        Some("}") => {
                            *j += 1;
                            break;
                        }
                        Some(",") => *j += 1,
                        _ => parse_tree(toks, j, path.clone(), out),
                    }
                }
                skip_to_end(toks, j);
                return;
            }
            "*" => {
                *j += 1;
                out.push((path, Bound::Glob));
                skip_to_end(toks, j);
                return;
            }
            _ if is_ident(t) => {
                let name = t.clone();
                *j += 1;
                if toks.get(*j).map(String::as_str) == Some("::") {
                    *j += 1;
                    path.push(name);
                    continue;
                }
                let mut bound = name.clone();
                if toks.get(*j).map(String::as_str) == Some("as")
                    && let Some(alias) = toks.get(*j + 1)
                {
                    bound = alias.clone();
                    *j += 2;
                }
                if name == "self" {
                    if let Some(last) = path.last() {
                        if bound == "self" {
                            bound = last.clone();
                        }
                        out.push((path, Bound::Name(bound)));
                    }
                } else {
                    path.push(name);
                    out.push((path, Bound::Name(bound)));
                }
                skip_to_end(toks, j);
                return;
            }
            _ => return,
        }
    }
}

/// Inside a group stop before `,`/`}`; at the top level step past `;`.
fn skip_to_end(toks: &[String], j: &mut usize) {
    if toks.get(*j).map(String::as_str) == Some(";") {
        *j += 1;
    }
}

/// For each token, how many inline `mod name { .. }` blocks of the file enclose
/// it: a `super` in such a block names the block's parent, which is still this
/// file (an inline `mod tests { use super::*; }` uses its own file).
fn inline_depths(toks: &[String]) -> Vec<usize> {
    let mut out = Vec::with_capacity(toks.len());
    // One entry per open brace: whether it opened an inline module.
    let mut open: Vec<bool> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        out.push(open.iter().filter(|m| **m).count());
        match t.as_str() {
            "{" => {
                let module = i >= 2 && toks[i - 2] == "mod" && is_ident(&toks[i - 1]);
                open.push(module);
            }
            "}" => {
                open.pop();
            }
            _ => {}
        }
    }
    out
}

/// `path`, written `depth` inline modules deep in a file, as if written at the
/// file's own level: the leading `super`s that only climb out of inline
/// modules become `self` (the items of inline modules are not told apart).
fn in_file(path: &[String], depth: usize) -> Vec<String> {
    let supers = path.iter().take_while(|s| *s == "super").count();
    if depth == 0 || supers == 0 {
        return path.to_vec();
    }
    let left = supers.saturating_sub(depth);
    let mut out: Vec<String> = if left == 0 {
        vec!["self".to_string()]
    } else {
        vec!["super".to_string(); left]
    };
    out.extend(path[supers..].iter().cloned());
    out
}

/// Turns a path written in module `here` into one from the crate root, or
/// `None` when it names another crate.
fn absolute(here: &[String], children: &BTreeSet<String>, rel: &[String]) -> Option<Vec<String>> {
    let first = rel.first()?;
    let mut base: Vec<String> = match first.as_str() {
        "crate" => Vec::new(),
        "self" => here.to_vec(),
        "super" => {
            let mut b = here.to_vec();
            b.pop();
            b
        }
        c if children.contains(c) => {
            let mut b = here.to_vec();
            b.push(c.to_string());
            return Some(b.into_iter().chain(rel[1..].iter().cloned()).collect());
        }
        _ => return None,
    };
    let mut rest = &rel[1..];
    while rest.first().map(String::as_str) == Some("super") {
        base.pop();
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Splits code into identifiers, `::` and single punctuation characters.
fn tokens(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_alphanumeric() || c == '_' {
            let s = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            let word: String = b[s..i].iter().collect();
            // `r#ident` raw identifiers.
            out.push(word.trim_start_matches("r#").to_string());
        } else if c == ':' && b.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

/// The code with comments, string and char literals blanked out.
fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_ident(&b, i) {
            // Raw string r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|h| b.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}'), not a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_ident(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn write(dir: &Path, files: &[(&str, &str)]) {
        for (name, text) in files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
    }

    #[test]
    fn a_child_using_its_parents_item_while_the_parent_uses_the_child_is_a_cycle() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                ("lib.rs", "mod a;\n"),
                ("a.rs", "mod b;\nuse b::Thing;\npub struct Other;\n"),
                ("a/b.rs", "use super::Other;\npub struct Thing;\n"),
            ],
        );
        let g = ModGraph::of_crate(&dir.path().join("lib.rs")).unwrap();
        assert_eq!(
            g.cycles(),
            vec![vec!["a.rs".to_string(), "a/b.rs".to_string()]]
        );
    }

    #[test]
    fn super_in_an_inline_test_module_names_its_own_file() {
        // A child's `mod tests { use super::*; }` uses the child, not the
        // folder's mod.rs that declares it; a `super::super` there does reach up.
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                (
                    "lib.rs", "mod a;
",
                ),
                (
                    "a/mod.rs",
                    "mod b;
mod c;
pub use b::run;
pub struct Top;
",
                ),
                (
                    "a/b.rs",
                    "pub fn run() {}
#[cfg(test)]
mod tests {
    use super::*;
    fn t() { run() }
}
",
                ),
                (
                    "a/c.rs",
                    "pub fn go() {}
mod tests {
    use super::super::Top;
}
",
                ),
            ],
        );
        let g = ModGraph::of_crate(&dir.path().join("lib.rs")).unwrap();
        assert!(g.cycles().is_empty(), "{:?}", g.cycles());
        let of = |f: &str| g.edges.get(f).cloned().unwrap_or_default();
        assert!(!of("a/b.rs").contains("a/mod.rs"), "{:?}", of("a/b.rs"));
        assert!(of("a/c.rs").contains("a/mod.rs"), "{:?}", of("a/c.rs"));
    }

    #[test]
    fn a_thin_mod_rs_that_reexports_closes_no_cycle() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                ("lib.rs", "mod s;\n"),
                (
                    "s/mod.rs",
                    "mod a;\nmod b;\npub use a::A;\npub use b::{B, make as build};\n",
                ),
                ("s/a.rs", "use crate::s::B; // uses b\npub struct A(B);\n"),
                (
                    "s/b.rs",
                    "pub struct B;\npub fn make() -> B { let _ = \"crate::s::A\"; B }\n",
                ),
            ],
        );
        let g = ModGraph::of_crate(&dir.path().join("lib.rs")).unwrap();
        assert!(g.cycles().is_empty(), "{:?}", g.edges);
        assert!(g.edges["s/a.rs"].contains("s/b.rs"), "{:?}", g.edges);
        assert!(
            g.edges["s/b.rs"].is_empty(),
            "strings are not code: {:?}",
            g.edges
        );
    }

    #[test]
    fn paths_in_code_and_module_aliases_count() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                ("lib.rs", "mod x;\nmod y;\n"),
                ("x.rs", "use crate::y;\npub fn f() { y::g() }\n"),
                ("y.rs", "pub fn g() { crate::x::f() }\n"),
            ],
        );
        let g = ModGraph::of_crate(&dir.path().join("lib.rs")).unwrap();
        assert_eq!(
            g.cycles(),
            vec![vec!["x.rs".to_string(), "y.rs".to_string()]]
        );
    }
}
