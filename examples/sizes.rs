use orchestrate::lang::ast::*;
fn main() {
    println!(
        "Expr {} ExprKind {} Call {} Resource {} ClassDef {} Collector {} Heredoc {} Span {}",
        std::mem::size_of::<Expr>(),
        std::mem::size_of::<ExprKind>(),
        std::mem::size_of::<Call>(),
        std::mem::size_of::<Resource>(),
        std::mem::size_of::<ClassDef>(),
        std::mem::size_of::<Collector>(),
        std::mem::size_of::<Heredoc>(),
        std::mem::size_of::<Span>()
    );
}
