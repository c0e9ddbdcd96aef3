//! `#[tusk::test]`: an async test given a database of its own.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::{Expr, ExprArray, FnArg, ItemFn, Lit, LitStr, Type};

/// The attribute's arguments.
#[derive(Default)]
struct Args {
    /// `Some(None)`: `migrations = false`.
    migrations: Option<Option<LitStr>>,
    fixtures: Vec<LitStr>,
    fixtures_dir: Option<LitStr>,
    transaction: bool,
}

fn parse_args(attr: TokenStream2) -> syn::Result<Args> {
    let mut args = Args::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("migrations") {
            if args.migrations.is_some() {
                return Err(meta.error("duplicate `migrations`"));
            }
            match meta.value()?.parse::<Lit>()? {
                Lit::Str(s) => args.migrations = Some(Some(s)),
                Lit::Bool(b) if !b.value => args.migrations = Some(None),
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        "expected `migrations = \"dir\"` or `migrations = false`",
                    ))
                }
            }
        } else if meta.path.is_ident("fixtures") {
            let list: ExprArray = meta.value()?.parse()?;
            for e in list.elems {
                match e {
                    Expr::Lit(syn::ExprLit {
                        lit: Lit::Str(s), ..
                    }) => args.fixtures.push(s),
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "a fixture is a file name in a string: fixtures = [\"users.sql\"]",
                        ))
                    }
                }
            }
        } else if meta.path.is_ident("fixtures_dir") {
            args.fixtures_dir = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("transaction") {
            args.transaction = true;
        } else {
            return Err(meta.error(
                "unknown #[tusk::test] argument; expected `migrations = \"dir\"`, \
                 `migrations = false`, `fixtures = [..]`, `fixtures_dir = \"dir\"` or `transaction`",
            ));
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(args)
}

pub fn expand(attr: TokenStream2, item: ItemFn) -> syn::Result<TokenStream2> {
    let args = parse_args(attr)?;
    let sig = &item.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            sig.fn_token,
            "#[tusk::test] needs an `async fn`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "#[tusk::test] functions cannot be generic",
        ));
    }
    let root = std::env::var("CARGO_MANIFEST_DIR")
        .map_err(|_| syn::Error::new(Span::call_site(), "CARGO_MANIFEST_DIR is not set"))?;
    let root = std::path::Path::new(&root);

    let migrations = match &args.migrations {
        Some(Some(dir)) => Some(crate::embed::expand(dir)?),
        Some(None) => None,
        None if root.join("migrations").is_dir() => Some(crate::embed::expand(&LitStr::new(
            "migrations",
            Span::call_site(),
        ))?),
        None => None,
    };
    let migrations = match migrations {
        Some(expr) => quote! {{
            fn __tusk_migrations() -> ::core::result::Result<
                ::tusk::migrate::Migrations,
                ::tusk::migrate::MigrateError,
            > {
                #expr
            }
            ::core::option::Option::Some(
                __tusk_migrations
                    as fn() -> ::core::result::Result<
                        ::tusk::migrate::Migrations,
                        ::tusk::migrate::MigrateError,
                    >,
            )
        }},
        None => quote!(::core::option::Option::None),
    };

    let dir = args
        .fixtures_dir
        .as_ref()
        .map_or_else(|| "tests/fixtures".to_owned(), LitStr::value);
    let mut fixtures = Vec::new();
    for f in &args.fixtures {
        let path = root.join(&dir).join(f.value());
        if !path.is_file() {
            return Err(syn::Error::new(
                f.span(),
                format!(
                    "no fixture file {} (fixtures are read from `{dir}` next to Cargo.toml; \
                     `fixtures_dir = \"..\"` names another directory)",
                    path.display()
                ),
            ));
        }
        let full = path.to_str().ok_or_else(|| {
            syn::Error::new(f.span(), format!("{} is not a UTF-8 path", path.display()))
        })?;
        let full = LitStr::new(full, f.span());
        fixtures.push(quote!((#f, ::core::include_str!(#full))));
    }

    // The arguments: by value through TestArg; one reference in
    // transaction mode.
    let mut lets = Vec::new();
    let mut call = Vec::new();
    let mut reference: Option<bool> = None; // Some(mutable)
    for (i, input) in sig.inputs.iter().enumerate() {
        let FnArg::Typed(pt) = input else {
            return Err(syn::Error::new_spanned(
                input,
                "#[tusk::test] functions take no `self`",
            ));
        };
        match &*pt.ty {
            Type::Reference(r) => {
                if !args.transaction {
                    return Err(syn::Error::new_spanned(
                        &pt.ty,
                        "a reference argument is for transaction mode: write \
                         #[tusk::test(transaction)] (the test then runs in one transaction, \
                         rolled back at the end), or take `tusk::Pool` / `tusk::Connection` by value",
                    ));
                }
                if reference.is_some() {
                    return Err(syn::Error::new_spanned(
                        &pt.ty,
                        "a transaction-mode test takes one `&mut tusk::Transaction<'_>` or `&tusk::Connection`",
                    ));
                }
                reference = Some(r.mutability.is_some());
                if r.mutability.is_some() {
                    call.push(quote!(&mut __tusk_tx));
                } else {
                    call.push(quote!(&__tusk_conn));
                }
            }
            ty => {
                let var = format_ident!("__tusk_arg{}", i);
                lets.push(quote! {
                    let #var = <#ty as ::tusk::testing::TestArg>::test_arg(__tusk_h).await;
                });
                call.push(quote!(#var));
            }
        }
    }
    if args.transaction && reference.is_none() {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            "a transaction-mode test takes `&mut tusk::Transaction<'_>` (or `&tusk::Connection`): \
             the one connection whose transaction is rolled back at the end",
        ));
    }
    let name = &sig.ident;
    let body = match reference {
        None => quote! {
            #(#lets)*
            #name(#(#call),*).await
        },
        Some(true) => quote! {
            #(#lets)*
            let mut __tusk_conn = __tusk_h.connect().await;
            let mut __tusk_tx = __tusk_h.begin(&mut __tusk_conn).await;
            let __tusk_out = #name(#(#call),*).await;
            __tusk_h.rollback(__tusk_tx).await;
            __tusk_out
        },
        Some(false) => quote! {
            #(#lets)*
            let __tusk_conn = __tusk_h.connect().await;
            __tusk_h.begin_on(&__tusk_conn).await;
            let __tusk_out = #name(#(#call),*).await;
            __tusk_h.rollback_on(&__tusk_conn).await;
            __tusk_out
        },
    };
    let transaction = args.transaction;
    let attrs = &item.attrs;
    let vis = &item.vis;
    let mut inner = item.clone();
    inner
        .attrs
        .retain(|a| a.path().is_ident("allow") || a.path().is_ident("expect"));
    Ok(quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis fn #name() {
            #inner
            let __tusk_spec = ::tusk::testing::TestSpec {
                name: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                migrations: #migrations,
                fixtures: &[#(#fixtures),*],
                transaction: #transaction,
            };
            ::tusk::testing::Harness::setup(__tusk_spec).run_test(|__tusk_h| {
                __tusk_h.block_on(async { #body })
            })
        }
    })
}
