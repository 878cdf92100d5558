fn main() {
    std::process::exit(wf::cli::main());
}
