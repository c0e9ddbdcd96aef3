#[derive(tusk::FromRow)]
enum Bad {
    A,
}

fn main() {}
