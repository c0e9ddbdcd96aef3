//! Derive macros for tusk, and `migrate!`. Use them through the `tusk` crate
//! (`#[derive(tusk::FromRow)]`), which documents them.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{parse_macro_input, Data, DeriveInput, Fields, LitStr, Path, Type};

mod case;
mod embed;
mod test_attr;

/// `#[tusk::test]`: an async test given a database of its own, cloned from
/// a template the migrations built once (or, with `transaction`, one
/// connection in a transaction rolled back at the end). Documented on
/// `tusk::test` and in docs/testing.md.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as syn::ItemFn);
    match test_attr::expand(attr.into(), item) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// `tusk::migrate!("migrations")`: embeds every `.sql` file of the
/// directory (relative to the crate's `Cargo.toml`) in the binary and
/// evaluates to `Result<tusk::migrate::Migrations, tusk::migrate::MigrateError>`,
/// read by the same parser as `Migrations::from_dir`. See `tusk::migrate`.
#[proc_macro]
pub fn migrate(input: TokenStream) -> TokenStream {
    let dir = parse_macro_input!(input as LitStr);
    match embed::expand(&dir) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Derives `tusk::FromRow` for a struct: a named field reads the column of
/// its name, a tuple struct's fields read the columns by position. See
/// `tusk::FromRow` for the attributes.
#[proc_macro_derive(FromRow, attributes(tusk))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// The container's attributes.
#[derive(Default)]
struct Container {
    rename_all: Option<case::Case>,
    krate: Option<Path>,
}

/// A field's attributes.
#[derive(Default)]
struct FieldAttrs {
    rename: Option<LitStr>,
    flatten: bool,
    default: bool,
    try_from: Option<Type>,
    json: bool,
}

fn container_attrs(input: &DeriveInput) -> syn::Result<Container> {
    let mut c = Container::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("tusk")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                let s: LitStr = meta.value()?.parse()?;
                let case = case::Case::parse(&s.value()).ok_or_else(|| {
                    syn::Error::new(
                        s.span(),
                        format!(
                            "unknown rename_all rule {:?}; expected one of {}",
                            s.value(),
                            case::Case::NAMES
                        ),
                    )
                })?;
                if c.rename_all.replace(case).is_some() {
                    return Err(meta.error("duplicate `rename_all`"));
                }
                Ok(())
            } else if meta.path.is_ident("crate") {
                let s: LitStr = meta.value()?.parse()?;
                c.krate = Some(s.parse()?);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown tusk container attribute; expected `rename_all = \"...\"` or `crate = \"...\"`",
                ))
            }
        })?;
    }
    Ok(c)
}

fn field_attrs(field: &syn::Field) -> syn::Result<FieldAttrs> {
    let mut f = FieldAttrs::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("tusk")) {
        attr.parse_nested_meta(|meta| {
            let dup = |set: bool, name: &str| {
                if set {
                    Err(meta.error(format!("duplicate `{name}`")))
                } else {
                    Ok(())
                }
            };
            if meta.path.is_ident("rename") {
                dup(f.rename.is_some(), "rename")?;
                f.rename = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("flatten") {
                dup(f.flatten, "flatten")?;
                f.flatten = true;
            } else if meta.path.is_ident("default") {
                dup(f.default, "default")?;
                f.default = true;
            } else if meta.path.is_ident("json") {
                dup(f.json, "json")?;
                f.json = true;
            } else if meta.path.is_ident("try_from") {
                dup(f.try_from.is_some(), "try_from")?;
                let s: LitStr = meta.value()?.parse()?;
                f.try_from = Some(s.parse()?);
            } else {
                return Err(meta.error(
                    "unknown tusk field attribute; expected `rename`, `flatten`, `default`, `try_from` or `json`",
                ));
            }
            Ok(())
        })?;
    }
    let span = field.span();
    if f.flatten && (f.rename.is_some() || f.try_from.is_some() || f.json || f.default) {
        return Err(syn::Error::new(
            span,
            "`flatten` reads a whole struct from the row; it cannot be combined with `rename`, `try_from`, `json` or `default`",
        ));
    }
    if f.json && f.try_from.is_some() {
        return Err(syn::Error::new(
            span,
            "`json` and `try_from` cannot be combined: pick one way to decode the column",
        ));
    }
    Ok(f)
}

/// `Option<..>` written as such (the `json` attribute decodes NULL as None for it).
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) if args.args.len() == 1 => Some(t),
        _ => None,
    }
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let c = container_attrs(input)?;
    let krate = c.krate.clone().unwrap_or_else(|| syn::parse_quote!(::tusk));
    let data = match &input.data {
        Data::Struct(s) => s,
        Data::Enum(e) => {
            return Err(syn::Error::new(
                e.enum_token.span,
                "FromRow can only be derived for a struct (a row has every column)",
            ))
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "FromRow can only be derived for a struct",
            ))
        }
    };
    if let Some(lt) = input.generics.lifetimes().next() {
        return Err(syn::Error::new(
            lt.span(),
            "FromRow cannot borrow from the row: use owned field types (String, Vec<u8>)",
        ));
    }
    let rt = quote!(#krate::from_row::__private);
    // A generic struct gets the bounds its fields need (a concrete one
    // needs none: the compiler checks the calls).
    let generic = input.generics.type_params().next().is_some();
    let mut bounds: Vec<TokenStream2> = Vec::new();
    let mut bound = |ty: &Type, a: &FieldAttrs| {
        if !generic {
            return;
        }
        if a.flatten {
            bounds.push(quote!(#ty: #krate::FromRow));
        } else if let Some(via) = &a.try_from {
            bounds.push(quote!(#via: for<'__r> #krate::FromSql<'__r>));
            bounds.push(quote!(#ty: ::core::convert::TryFrom<#via>));
            bounds
                .push(quote!(<#ty as ::core::convert::TryFrom<#via>>::Error: ::core::fmt::Display));
        } else if !a.json {
            bounds.push(quote!(#ty: for<'__r> #krate::FromSql<'__r>));
        }
    };
    let body = match &data.fields {
        Fields::Named(named) => {
            let mut inits = Vec::new();
            for field in &named.named {
                let a = field_attrs(field)?;
                bound(&field.ty, &a);
                let ident = field.ident.as_ref().expect("named field");
                let ty = &field.ty;
                let span = field.ty.span();
                let init = if a.flatten {
                    quote_spanned!(span=> <#ty as #krate::FromRow>::from_row(row)?)
                } else {
                    let name = match &a.rename {
                        Some(s) => s.value(),
                        None => {
                            let raw = ident.to_string();
                            let raw = raw.strip_prefix("r#").unwrap_or(&raw).to_string();
                            match c.rename_all {
                                Some(case) => case.apply(&raw),
                                None => raw,
                            }
                        }
                    };
                    let name = LitStr::new(&name, ident.span());
                    field_init(&rt, ty, span, &a, quote!(#rt::find(row, #name)), &name)
                };
                inits.push(quote!(#ident: #init));
            }
            quote!(::core::result::Result::Ok(Self { #(#inits,)* }))
        }
        Fields::Unnamed(unnamed) => {
            if c.rename_all.is_some() {
                return Err(syn::Error::new(
                    Span::call_site(),
                    "`rename_all` needs named fields; a tuple struct reads columns by position",
                ));
            }
            let n = unnamed.unnamed.len();
            let mut inits = Vec::new();
            for (i, field) in unnamed.unnamed.iter().enumerate() {
                let a = field_attrs(field)?;
                if a.flatten || a.rename.is_some() || a.default {
                    return Err(syn::Error::new(
                        field.span(),
                        "a tuple struct reads columns by position: `rename`, `flatten` and `default` need named fields",
                    ));
                }
                bound(&field.ty, &a);
                let ty = &field.ty;
                let label = LitStr::new(&i.to_string(), Span::call_site());
                inits.push(field_init(
                    &rt,
                    ty,
                    field.ty.span(),
                    &a,
                    quote!(#rt::at(#i)),
                    &label,
                ));
            }
            quote!({
                #rt::check_width(row, #n)?;
                ::core::result::Result::Ok(Self(#(#inits,)*))
            })
        }
        Fields::Unit => quote!(::core::result::Result::Ok(Self)),
    };
    let name = &input.ident;
    let mut generics = input.generics.clone();
    if !bounds.is_empty() {
        let w = generics.make_where_clause();
        for b in bounds {
            w.predicates.push(syn::parse2(b)?);
        }
    }
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    Ok(quote! {
        #[automatically_derived]
        impl #impl_g #krate::FromRow for #name #ty_g #where_g {
            fn from_row(row: &#krate::Row) -> ::core::result::Result<Self, #krate::Error> {
                #body
            }
        }
    })
}

/// The expression that reads one field: `find` yields the column index
/// (`Ok(None)` when the column is missing).
fn field_init(
    rt: &TokenStream2,
    ty: &Type,
    span: Span,
    a: &FieldAttrs,
    find: TokenStream2,
    name: &LitStr,
) -> TokenStream2 {
    let decode = if a.json {
        match option_inner(ty) {
            Some(inner) => quote_spanned!(span=> #rt::json_opt::<#inner>(row, i, #name)),
            None => quote_spanned!(span=> #rt::json::<#ty>(row, i, #name)),
        }
    } else if let Some(via) = &a.try_from {
        quote_spanned!(span=> #rt::try_from::<#via, #ty>(row, i, #name))
    } else {
        quote_spanned!(span=> #rt::get::<#ty>(row, i, #name))
    };
    let missing = if a.default {
        quote!(::core::default::Default::default())
    } else {
        quote!(return ::core::result::Result::Err(#rt::missing(row, #name)))
    };
    quote!(match #find? {
        ::core::option::Option::Some(i) => #decode?,
        ::core::option::Option::None => #missing,
    })
}
