#[derive(tusk::FromRow)]
#[tusk(rename_all = "Camel")]
struct Bad {
    a: i32,
}

fn main() {}
