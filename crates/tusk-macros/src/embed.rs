//! `migrate!("dir")`: the `.sql` files of a directory, embedded.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::LitStr;

/// `Migrations::from_files([(name, include_str!(path)), ..])` for every
/// `.sql` file in `dir` (relative to the crate's `CARGO_MANIFEST_DIR`),
/// sorted by name. `include_str!` makes cargo rebuild when a file changes;
/// a new file needs `cargo:rerun-if-changed=DIR` in a build script.
pub fn expand(dir: &LitStr) -> syn::Result<TokenStream2> {
    let root = std::env::var("CARGO_MANIFEST_DIR")
        .map_err(|_| syn::Error::new(dir.span(), "CARGO_MANIFEST_DIR is not set"))?;
    let path = std::path::Path::new(&root).join(dir.value());
    let entries = std::fs::read_dir(&path).map_err(|e| {
        syn::Error::new(
            dir.span(),
            format!(
                "cannot read the migrations directory {}: {e}",
                path.display()
            ),
        )
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| syn::Error::new(dir.span(), e.to_string()))?;
        let p = entry.path();
        let Some(name) = p.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        if name.ends_with(".sql") && p.is_file() {
            let full = p.to_str().ok_or_else(|| {
                syn::Error::new(dir.span(), format!("{} is not a UTF-8 path", p.display()))
            })?;
            files.push((name, full.to_owned()));
        }
    }
    files.sort();
    let pairs = files.iter().map(|(name, full)| {
        let name = LitStr::new(name, Span::call_site());
        let full = LitStr::new(full, Span::call_site());
        quote! { (#name, ::core::include_str!(#full)) }
    });
    Ok(quote! {
        ::tusk::migrate::Migrations::from_files([#(#pairs),*])
    })
}
