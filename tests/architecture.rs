//! The layout of src/ as ARCHITECTURE.md describes it, checked on every test
//! run: no import circle between files, no import from a lower layer to a
//! higher one, services never reach into resolvers, and each domain follows
//! the one naming rule. A new top-level module must be given a layer here.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top to bottom; an import may only point at the same layer or a lower one.
const LAYERS: &[(&str, &[&str])] = &[
    ("composition", &["main", "startup"]),
    ("http", &["http"]),
    ("schema", &["schema"]),
    (
        "domains",
        &[
            "nodes",
            "accounts",
            "sessions",
            "profiles",
            "media",
            "mail",
            "instagram",
            "admin",
            "plans",
            "mfa",
            "identities",
            "events",
            "webhooks",
            "metrics",
            "pages",
        ],
    ),
    ("toolkit", &["cache", "graphql", "error", "db", "ratelimit", "state", "viewer", "security", "media_store", "patch", "telemetry"]),
    ("foundation", &["entities", "config"]),
];

/// A source file as a module path: src/a/b.rs is ["a", "b"], src/a/mod.rs is ["a"].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Module {
    path: Vec<String>,
    file: PathBuf,
}

impl Module {
    fn name(&self) -> String {
        self.file.strip_prefix(src()).unwrap_or(&self.file).display().to_string()
    }
    fn top(&self) -> &str {
        self.path.first().map(String::as_str).unwrap_or("")
    }
    fn file_stem(&self) -> String {
        self.file.file_stem().unwrap().to_string_lossy().into_owned()
    }
    /// Resolvers: GraphQL types and thin resolvers. nodes.rs holds the object
    /// types that point at each other across domains.
    fn is_resolver(&self) -> bool {
        let stem = self.file_stem();
        stem == "resolver" || stem.ends_with("_resolver") || self.path == ["nodes"]
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn modules() -> Vec<Module> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&src(), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let relative = file.strip_prefix(src()).unwrap().with_extension("");
            let mut path: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(path.last().map(String::as_str), Some("mod" | "lib")) {
                path.pop();
            }
            Module { path, file }
        })
        .collect()
}

/// The source without comments, string and char literals, and `#[cfg(test)]` modules.
fn code_of(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map(|e| e + 2).unwrap_or(rest.len());
            i += end;
        } else if rest.starts_with("r#\"") || rest.starts_with("r\"") || rest.starts_with("br\"") || rest.starts_with("br#") {
            let hashes = rest.trim_start_matches('b').trim_start_matches('r').chars().take_while(|c| *c == '#').count();
            let closing = format!("\"{}", "#".repeat(hashes));
            let open = rest.find('"').unwrap() + 1;
            let end = rest[open..].find(&closing).map(|e| open + e + closing.len()).unwrap_or(rest.len());
            out.push_str("\"\"");
            i += end;
        } else if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if bytes[i] == b'\'' && is_char_literal(rest) {
            let end = rest[1..].find('\'').map(|e| e + 2).unwrap_or(1);
            i += end;
            out.push_str("' '");
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    strip_test_modules(&out)
}

/// 'a' or '\n' (a char literal), not a lifetime like 'a.
fn is_char_literal(rest: &str) -> bool {
    let mut chars = rest.chars().skip(1);
    match chars.next() {
        Some('\\') => true,
        Some(_) => chars.next() == Some('\''),
        None => false,
    }
}

fn strip_test_modules(code: &str) -> String {
    let mut out = code.to_owned();
    while let Some(start) = out.find("#[cfg(test)]") {
        let Some(open) = out[start..].find('{').map(|o| start + o) else { break };
        let mut depth = 0;
        let mut end = out.len();
        for (offset, c) in out[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + offset + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.replace_range(start..end, "");
    }
    out
}

/// Every path the code names, as written: `use` trees expanded, plus inline
/// `crate::…`, `super::…` and `self::…` paths. Each path ends with the item
/// name when there is one.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest_of_code = String::new();
    let mut remaining = code;
    while let Some(at) = find_use(remaining) {
        rest_of_code.push_str(&remaining[..at]);
        let after = &remaining[at + 4..];
        let end = after.find(';').unwrap_or(after.len());
        expand_use_tree(after[..end].trim(), &mut Vec::new(), &mut paths);
        remaining = &after[(end + 1).min(after.len())..];
    }
    rest_of_code.push_str(remaining);
    // Inline paths such as crate::media::public_url(...).
    let tokens = tokenize(&rest_of_code);
    let mut i = 0;
    while i < tokens.len() {
        if matches!(tokens[i].as_str(), "crate" | "super" | "self" | "tessera")
            && tokens.get(i + 1).is_some_and(|t| t == "::")
            && (i == 0 || tokens[i - 1] != "::")
        {
            let mut path = vec![tokens[i].clone()];
            let mut j = i + 1;
            while tokens.get(j).is_some_and(|t| t == "::") && tokens.get(j + 1).is_some_and(|t| is_ident(t)) {
                path.push(tokens[j + 1].clone());
                j += 2;
            }
            paths.push(path);
            i = j;
        } else {
            i += 1;
        }
    }
    paths
}

fn find_use(code: &str) -> Option<usize> {
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(found) = code[from..].find("use ") {
        let at = from + found;
        let before_ok = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        if before_ok {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

fn is_ident(token: &str) -> bool {
    token.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') && token.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn tokenize(code: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push("::".into());
            i += 2;
        } else {
            if !c.is_whitespace() {
                tokens.push(c.to_string());
            }
            i += 1;
        }
    }
    tokens
}

/// `a::b::{c, d::e as f, self}` into [a,b,c], [a,b,d,e], [a,b].
fn expand_use_tree(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim().trim_start_matches("::");
    if tree.is_empty() {
        return;
    }
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open].split("::").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        let close = tree.rfind('}').unwrap_or(tree.len());
        let inner = &tree[open + 1..close];
        let depth_before = prefix.len();
        prefix.extend(head);
        for part in split_top_level(inner) {
            if part.trim() == "self" {
                out.push(prefix.clone());
            } else {
                expand_use_tree(&part, prefix, out);
            }
        }
        prefix.truncate(depth_before);
    } else {
        let without_alias = tree.split(" as ").next().unwrap_or(tree);
        let mut path = prefix.clone();
        path.extend(without_alias.split("::").map(str::trim).filter(|s| !s.is_empty() && *s != "*").map(str::to_owned));
        if path.last().is_some_and(|s| s == "self") {
            path.pop();
        }
        out.push(path);
    }
}

fn split_top_level(inner: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in inner.chars() {
        match c {
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' => {
                depth -= 1;
                current.push(c);
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts
}

/// An import: from a file to the file that defines what it names.
#[derive(Debug, Clone)]
struct Import {
    to: usize,
    /// The item named, when the path goes past the module (e.g. `User`).
    item: Option<String>,
}

fn imports(modules: &[Module]) -> BTreeMap<usize, Vec<Import>> {
    let by_path: BTreeMap<Vec<String>, usize> = modules.iter().enumerate().map(|(i, m)| (m.path.clone(), i)).collect();
    let mut all = BTreeMap::new();
    for (index, module) in modules.iter().enumerate() {
        let source = std::fs::read_to_string(&module.file).unwrap();
        let own_module = module.path.clone();
        let is_mod_file = matches!(module.file.file_stem().and_then(|s| s.to_str()), Some("mod" | "lib" | "main"));
        let mut found = Vec::new();
        for path in paths_in(&code_of(&source)) {
            let Some(first) = path.first() else { continue };
            // Where the path starts, from the crate root.
            let mut absolute: Vec<String> = match first.as_str() {
                "crate" | "tessera" => vec![],
                "super" => {
                    let mut base = own_module.clone();
                    if !is_mod_file {
                        base.pop();
                    }
                    base.pop();
                    base
                }
                "self" => {
                    let mut base = own_module.clone();
                    if !is_mod_file {
                        base.pop();
                    }
                    base
                }
                _ => continue,
            };
            let mut segments = path[1..].to_vec();
            while segments.first().is_some_and(|s| s == "super") {
                segments.remove(0);
                absolute.pop();
            }
            absolute.extend(segments);
            // The longest prefix that is a file of ours.
            let mut length = absolute.len();
            let target = loop {
                if let Some(found) = by_path.get(&absolute[..length]) {
                    break Some(*found);
                }
                if length == 0 {
                    break None;
                }
                length -= 1;
            };
            if let Some(target) = target {
                if target != index && !modules[target].path.is_empty() {
                    found.push(Import { to: target, item: absolute.get(length).cloned() });
                }
            }
        }
        all.insert(index, found);
    }
    all
}

fn layer_of(module: &Module) -> Option<usize> {
    LAYERS.iter().position(|(_, tops)| tops.contains(&module.top()))
}

#[test]
fn every_module_has_a_layer() {
    let unplaced: Vec<String> = modules().iter().filter(|m| !m.path.is_empty() && layer_of(m).is_none()).map(Module::name).collect();
    assert!(unplaced.is_empty(), "give these modules a layer in tests/architecture.rs (and ARCHITECTURE.md): {unplaced:?}");
}

#[test]
fn no_import_goes_up_a_layer() {
    let modules = modules();
    let mut wrong = Vec::new();
    for (from, list) in imports(&modules) {
        let (Some(from_layer), true) = (layer_of(&modules[from]), !modules[from].path.is_empty()) else { continue };
        for import in list {
            if let Some(to_layer) = layer_of(&modules[import.to]) {
                if to_layer < from_layer {
                    wrong.push(format!(
                        "{} ({}) imports {} ({})",
                        modules[from].name(),
                        LAYERS[from_layer].0,
                        modules[import.to].name(),
                        LAYERS[to_layer].0
                    ));
                }
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "imports that go up a layer:\n{}", wrong.join("\n"));
}

#[test]
fn no_import_circle_between_files() {
    let modules = modules();
    let edges: BTreeMap<usize, BTreeSet<usize>> =
        imports(&modules).into_iter().map(|(from, list)| (from, list.into_iter().map(|i| i.to).collect())).collect();
    let circles = strongly_connected(modules.len(), &edges);
    let described: Vec<String> =
        circles.iter().map(|members| members.iter().map(|m| modules[*m].name()).collect::<Vec<_>>().join(" <-> ")).collect();
    assert!(described.is_empty(), "import circles between files of src/:\n{}", described.join("\n"));
}

#[test]
fn services_never_import_resolvers_and_resolvers_share_only_types() {
    let modules = modules();
    let mut wrong = Vec::new();
    for (from, list) in imports(&modules) {
        let source = &modules[from];
        if layer_of(source) != Some(3) {
            continue;
        }
        for import in list {
            let target = &modules[import.to];
            if !target.is_resolver() || target.top() == source.top() && source.is_resolver() {
                continue;
            }
            if !source.is_resolver() {
                wrong.push(format!("{} (rules) imports the resolver {}", source.name(), target.name()));
            } else if let Some(item) = &import.item {
                // Another domain's object types may be named (User, AuthTokens...);
                // its functions may not.
                if !item.chars().next().is_some_and(char::is_uppercase) {
                    wrong.push(format!("{} uses `{item}` from the resolver {}", source.name(), target.name()));
                }
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn each_domain_follows_one_naming_rule() {
    let modules = modules();
    let mut folders: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for module in &modules {
        if layer_of(module) == Some(3) {
            folders.entry(module.file.parent().unwrap().to_path_buf()).or_default().insert(module.file_stem());
        }
    }
    let mut wrong = Vec::new();
    for (folder, stems) in &folders {
        let name = folder.strip_prefix(src()).unwrap_or(folder).display().to_string();
        let pairs: Vec<&String> = stems.iter().filter(|s| s.ends_with("_resolver")).collect();
        if stems.contains("resolver") && !pairs.is_empty() {
            wrong.push(format!("{name}/ mixes resolver.rs with topic resolvers {pairs:?}: pick one rule"));
        }
        if stems.contains("resolver") && !stems.contains("service") {
            wrong.push(format!("{name}/resolver.rs has no service.rs beside it"));
        }
        for resolver in pairs {
            let topic = resolver.trim_end_matches("_resolver");
            if !stems.contains(topic) {
                wrong.push(format!("{name}/{resolver}.rs has no {topic}.rs beside it"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn test_modules_sit_at_the_end_of_their_file() {
    let mut wrong = Vec::new();
    for module in modules() {
        let source = std::fs::read_to_string(&module.file).unwrap();
        if let Some(at) = source.find("#[cfg(test)]\nmod tests") {
            let tail = &source[at..];
            let mut depth = 0;
            let mut end = tail.len();
            for (offset, c) in tail.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = offset + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            if !tail[end..].trim().is_empty() {
                wrong.push(module.name());
            }
        }
    }
    assert!(wrong.is_empty(), "the test module is not at the end of: {wrong:?}");
}

/// Tarjan's algorithm: the groups of two or more files that reach each other.
fn strongly_connected(count: usize, edges: &BTreeMap<usize, BTreeSet<usize>>) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a BTreeMap<usize, BTreeSet<usize>>,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        groups: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        let targets: Vec<usize> = s.edges.get(&v).map(|t| t.iter().copied().collect()).unwrap_or_default();
        for w in targets {
            if s.index[w].is_none() {
                visit(s, w);
                s.low[v] = s.low[v].min(s.low[w]);
            } else if s.on_stack[w] {
                s.low[v] = s.low[v].min(s.index[w].unwrap());
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut group = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack[w] = false;
                group.push(w);
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.groups.push(group);
            }
        }
    }
    let mut state = State {
        edges,
        index: vec![None; count],
        low: vec![0; count],
        on_stack: vec![false; count],
        stack: Vec::new(),
        next: 0,
        groups: Vec::new(),
    };
    for v in 0..count {
        if state.index[v].is_none() {
            visit(&mut state, v);
        }
    }
    state.groups
}

#[test]
fn the_checker_reads_use_trees_and_finds_circles() {
    let mut out = Vec::new();
    expand_use_tree("crate::a::{b, c::{D, e as f}, self}", &mut Vec::new(), &mut out);
    assert_eq!(
        out,
        vec![vec!["crate", "a", "b"], vec!["crate", "a", "c", "D"], vec!["crate", "a", "c", "e"], vec!["crate", "a"],]
            .into_iter()
            .map(|p| p.into_iter().map(String::from).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    );
    let code = code_of("use crate::x::Y; // use crate::nope::Z;\nfn f() { crate::q::r(\"crate::s::t\"); }\n#[cfg(test)]\nmod tests { use crate::hidden::H; }");
    let paths = paths_in(&code);
    assert!(paths.contains(&vec!["crate".to_string(), "x".into(), "Y".into()]));
    assert!(paths.contains(&vec!["crate".to_string(), "q".into(), "r".into()]));
    assert!(!paths.iter().any(|p| p.iter().any(|s| s == "nope" || s == "s" || s == "hidden")), "{paths:?}");
    let edges: BTreeMap<usize, BTreeSet<usize>> =
        [(0, [1].into()), (1, [2].into()), (2, [0].into()), (3, [0].into())].into_iter().collect();
    assert_eq!(strongly_connected(4, &edges), vec![vec![0, 1, 2]]);
}
