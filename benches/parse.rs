//! Parser throughput on real manifests.
//!
//! Reads the Debian puppet-module corpus that `scripts/corpus` unpacks into target/corpus/tree
//! (run it once first); without it, falls back to the repo's own playbooks. Reports bytes per
//! second for the whole front end (prescan, pest, AST) on one thread.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn manifests(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            manifests(&path, out);
        } else if path.extension().is_some_and(|e| e == "pp") {
            out.push(path);
        }
    }
}

fn corpus() -> (String, Vec<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, dir) in [
        ("debian corpus", "target/corpus/tree"),
        ("playbooks", "playbooks"),
    ] {
        let mut files = Vec::new();
        manifests(&root.join(dir), &mut files);
        files.sort();
        let texts: Vec<String> = files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .filter(|t| orchestrate::lang::parse(t).is_ok())
            .collect();
        if !texts.is_empty() {
            return (name.to_string(), texts);
        }
    }
    panic!("no manifests found: run scripts/corpus first");
}

fn parse_corpus(c: &mut Criterion) {
    let (name, texts) = corpus();
    let bytes: usize = texts.iter().map(String::len).sum();
    eprintln!("{name}: {} manifests, {bytes} bytes", texts.len());
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);
    group.bench_function(name, |b| {
        b.iter(|| {
            for text in &texts {
                let program = orchestrate::lang::parse(text).expect("parses");
                std::hint::black_box(program);
            }
        })
    });
    group.finish();
}

/// Time per byte must stay flat as files grow and as nesting deepens: no input is worse than
/// linear.
fn scaling(c: &mut Criterion) {
    let resource =
        "file { \"/srv/${name}\": ensure => file, require => [Package['a'], User['b']] }\n";
    let mut group = c.benchmark_group("scaling");
    group.sample_size(10);
    for kib in [256, 512, 1024] {
        let text = resource.repeat(kib * 1024 / resource.len());
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("size {kib} KiB"), |b| {
            b.iter(|| orchestrate::lang::parse(&text).expect("parses"))
        });
    }
    for depth in [64, 128, 255] {
        let text = format!("$x = {}1{}", "[".repeat(depth), "]".repeat(depth));
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("nesting {depth}"), |b| {
            b.iter(|| orchestrate::lang::parse(&text).expect("parses"))
        });
    }
    group.finish();
}

criterion_group!(benches, parse_corpus, scaling);
criterion_main!(benches);
