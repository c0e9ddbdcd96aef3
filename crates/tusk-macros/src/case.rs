//! `rename_all` rules, applied to a field name written in snake_case (as
//! serde's are).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Case {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

impl Case {
    pub(crate) const NAMES: &'static str = "\"lowercase\", \"UPPERCASE\", \"PascalCase\", \"camelCase\", \"snake_case\", \"SCREAMING_SNAKE_CASE\", \"kebab-case\", \"SCREAMING-KEBAB-CASE\"";

    pub(crate) fn parse(s: &str) -> Option<Case> {
        Some(match s {
            "lowercase" => Case::Lower,
            "UPPERCASE" => Case::Upper,
            "PascalCase" => Case::Pascal,
            "camelCase" => Case::Camel,
            "snake_case" => Case::Snake,
            "SCREAMING_SNAKE_CASE" => Case::ScreamingSnake,
            "kebab-case" => Case::Kebab,
            "SCREAMING-KEBAB-CASE" => Case::ScreamingKebab,
            _ => return None,
        })
    }

    pub(crate) fn apply(self, field: &str) -> String {
        match self {
            Case::Lower | Case::Snake => field.to_ascii_lowercase(),
            Case::Upper | Case::ScreamingSnake => field.to_ascii_uppercase(),
            Case::Kebab => field.replace('_', "-"),
            Case::ScreamingKebab => field.replace('_', "-").to_ascii_uppercase(),
            Case::Pascal | Case::Camel => {
                let mut out = String::with_capacity(field.len());
                let mut upper = self == Case::Pascal;
                for ch in field.chars() {
                    if ch == '_' {
                        upper = true;
                    } else if upper {
                        out.extend(ch.to_uppercase());
                        upper = false;
                    } else {
                        out.push(ch);
                    }
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Case;

    #[test]
    fn rules() {
        let f = "user_id_2";
        assert_eq!(Case::Camel.apply(f), "userId2");
        assert_eq!(Case::Pascal.apply(f), "UserId2");
        assert_eq!(Case::ScreamingSnake.apply(f), "USER_ID_2");
        assert_eq!(Case::Kebab.apply(f), "user-id-2");
        assert_eq!(Case::ScreamingKebab.apply(f), "USER-ID-2");
        assert_eq!(Case::Snake.apply(f), "user_id_2");
        assert_eq!(Case::Upper.apply(f), "USER_ID_2");
        assert!(Case::parse("Camel").is_none());
    }
}
