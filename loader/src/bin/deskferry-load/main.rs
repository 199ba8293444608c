//! deskferry-load (stub; being written).

fn main() {
    eprintln!("deskferry-load: not yet implemented");
    std::process::exit(2);
}
