fn main() {
    let kind = std::env::args().nth(1).unwrap();
    let depth: usize = std::env::args().nth(2).unwrap().parse().unwrap();
    let src = match kind.as_str() {
        "array" => format!("$x = {}1{}", "[".repeat(depth), "]".repeat(depth)),
        "paren" => format!("$x = {}1{}", "(".repeat(depth), ")".repeat(depth)),
        "if" => format!(
            "{}notice(1){}",
            "if $x {\n".repeat(depth),
            "}\n".repeat(depth)
        ),
        "lambda" => format!(
            "$y = $x{}",
            ".map |$v| { $v".repeat(depth) + &" }".repeat(depth)
        ),
        "interp" => format!("$x = {}1{}", "\"${".repeat(depth), "}\"".repeat(depth)),
        "type" => format!(
            "$x = {}String{}",
            "Optional[".repeat(depth),
            "]".repeat(depth)
        ),
        "hash" => format!("$x = {}1{}", "{a => ".repeat(depth), "}".repeat(depth)),
        _ => panic!(),
    };
    let r = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || orchestrate::lang::parse_without_growing(&src).is_ok())
        .unwrap()
        .join()
        .unwrap();
    println!("{r}");
}
