#[derive(tusk::FromRow)]
struct Bad {
    #[tusk(flatten, rename = "x")]
    a: Inner,
}

#[derive(tusk::FromRow)]
struct Inner {
    x: i32,
}

fn main() {}
