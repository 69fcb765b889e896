//! `cargo run -p grader -- grade | export-handout | selfcheck`: see [`grader::cli`].

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(grader::cli::main(args));
}
