//! deskferry-extract (stub; being written).

fn main() {
    eprintln!("deskferry-extract: not yet implemented");
    std::process::exit(2);
}
