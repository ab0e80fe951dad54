use pest::Parser;
fn main() {
    let mode = std::env::args().nth(1).unwrap();
    let paths: Vec<String> = std::env::args().skip(2).collect();
    let texts: Vec<String> = paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let total: usize = texts.iter().map(|t| t.len()).sum();
    let mut best = std::time::Duration::MAX;
    for _ in 0..10 {
        let t0 = std::time::Instant::now();
        for text in &texts {
            if mode == "pest" {
                let _ = orchestrate::lang::parser::PuppetParser::parse(
                    orchestrate::lang::parser::Rule::program,
                    text,
                );
            } else {
                let _ = orchestrate::lang::parse(text);
            }
        }
        best = best.min(t0.elapsed());
        eprint!("{:?} ", t0.elapsed());
    }
    let el = best;
    println!(
        "{mode}: {} bytes in {:?}: {:.1} MB/s",
        total,
        el,
        total as f64 / el.as_secs_f64() / 1e6
    );
}
