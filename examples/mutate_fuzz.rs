// Mutation fuzzing over real manifests: deletes, duplicates and swaps byte ranges, then parses.
// Usage: mutate_fuzz SECONDS FILES...   (not part of the test suite; see src/lang/parser/robustness.rs)
fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().unwrap().parse().unwrap();
    let texts: Vec<String> = args
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let start = std::time::Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs() < seconds {
        let t = &texts[(next() as usize) % texts.len()];
        let mut b = t.as_bytes().to_vec();
        for _ in 0..(1 + next() % 4) {
            if b.is_empty() {
                break;
            }
            let i = (next() as usize) % b.len();
            let j = (i + (next() as usize) % 40).min(b.len());
            match next() % 3 {
                0 => {
                    b.drain(i..j);
                }
                1 => {
                    let s: Vec<u8> = b[i..j].to_vec();
                    let k = (next() as usize) % b.len();
                    b.splice(k..k, s);
                }
                _ => {
                    let c = b"{}[]()'\"$@|:;,=>-~<#/*\\\n"[(next() as usize) % 24];
                    b.insert(i, c);
                }
            }
        }
        let s = String::from_utf8_lossy(&b).into_owned();
        std::fs::write("/tmp/fz/current.pp", &s).unwrap();
        let _ = orchestrate::lang::check(&s, orchestrate::lang::Dialect::Manifest);
        n += 1;
    }
    eprintln!("{n} mutated manifests, no panic");
}
