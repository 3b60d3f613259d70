//! Russian company requisites (ИНН, ОГРН, КПП) with their check digits.
//!
//! A typo in an INN printed on a destruction act or a notice to Roskomnadzor makes the document
//! defective, so the numbers are verified when the policy is read (Приказ ФНС о порядке
//! присвоения ИНН; ОГРН — Постановление Правительства № 438 от 19.06.2002).

/// Checks an INN: 10 digits for an organisation, 12 for an individual, with check digits.
pub fn check_inn(s: &str) -> Result<(), String> {
    let digits = digits_of(s).ok_or("ИНН состоит только из цифр")?;
    let weighted = |weights: &[u32], upto: usize| -> u32 {
        (weights
            .iter()
            .zip(&digits[..upto])
            .map(|(w, d)| w * d)
            .sum::<u32>()
            % 11)
            % 10
    };
    match digits.len() {
        10 => {
            if weighted(&[2, 4, 10, 3, 5, 9, 4, 6, 8], 9) != digits[9] {
                return Err("неверная контрольная цифра ИНН".into());
            }
        }
        12 => {
            let n11 = weighted(&[7, 2, 4, 10, 3, 5, 9, 4, 6, 8], 10);
            let n12 = weighted(&[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8], 11);
            if n11 != digits[10] || n12 != digits[11] {
                return Err("неверные контрольные цифры ИНН".into());
            }
        }
        n => {
            return Err(format!(
                "ИНН организации — 10 цифр, физического лица — 12; здесь {n}"
            ));
        }
    }
    Ok(())
}

/// Checks an OGRN (13 digits) or OGRNIP (15 digits) with its check digit.
pub fn check_ogrn(s: &str) -> Result<(), String> {
    let digits = digits_of(s).ok_or("ОГРН состоит только из цифр")?;
    let (body, modulus) = match digits.len() {
        13 => (&digits[..12], 11u64),
        15 => (&digits[..14], 13u64),
        n => return Err(format!("ОГРН — 13 цифр, ОГРНИП — 15; здесь {n}")),
    };
    let number = body.iter().fold(0u64, |acc, d| acc * 10 + u64::from(*d));
    if (number % modulus) % 10 != u64::from(*digits.last().unwrap_or(&0)) {
        return Err("неверная контрольная цифра ОГРН".into());
    }
    Ok(())
}

/// Checks a KPP: 9 characters, digits except positions 5–6 which may be capital Latin letters.
pub fn check_kpp(s: &str) -> Result<(), String> {
    let ok = s.len() == 9
        && s.char_indices()
            .all(|(i, c)| c.is_ascii_digit() || ((i == 4 || i == 5) && c.is_ascii_uppercase()));
    if ok {
        Ok(())
    } else {
        Err("КПП — 9 знаков, например 770101001".into())
    }
}

fn digits_of(s: &str) -> Option<Vec<u32>> {
    s.chars().map(|c| c.to_digit(10)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_requisites_pass() {
        // Publicly known requisites of ПАО Сбербанк and the FNS test individual INN.
        check_inn("7707083893").unwrap();
        check_ogrn("1027700132195").unwrap();
        check_inn("500100732259").unwrap();
        check_kpp("773601001").unwrap();
    }

    #[test]
    fn typos_are_caught() {
        assert!(check_inn("7707083894").is_err());
        assert!(check_inn("770708389").is_err());
        assert!(check_inn("77070838a3").is_err());
        assert!(check_ogrn("1027700132196").is_err());
        assert!(check_ogrn("102770013219").is_err());
        assert!(check_kpp("77360100").is_err());
    }
}
