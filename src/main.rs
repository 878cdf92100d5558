fn main() {
    // The sandbox helper mode comes before anything else (see wf::sandbox).
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == wf::sandbox::HELPER_ARG)
    {
        wf::sandbox::helper_main();
    }
    std::process::exit(wf::cli::main());
}
