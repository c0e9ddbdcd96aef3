#[derive(tusk::FromRow)]
struct Bad<'a> {
    a: &'a str,
}

fn main() {}
