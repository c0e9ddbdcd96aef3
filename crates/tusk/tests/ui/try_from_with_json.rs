#[derive(tusk::FromRow)]
struct Bad {
    #[tusk(try_from = "i64", json)]
    a: i32,
}

fn main() {}
