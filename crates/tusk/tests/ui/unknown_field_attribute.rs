#[derive(tusk::FromRow)]
struct Bad {
    #[tusk(renamed = "x")]
    a: i32,
}

fn main() {}
