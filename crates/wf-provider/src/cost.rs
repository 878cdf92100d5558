//! What model calls cost: a price table for common models, lookup by model
//! name, and the cost of one response's [`Usage`].
//!
//! The figures in [`PRICES`] are the vendors' public list prices in USD per
//! million tokens as of [`PRICE_TABLE_DATE`]. They are not fetched and they
//! go stale: discounts (batch, priority tiers, long-context surcharges,
//! regional endpoints) are not modelled, and a task file can override the
//! price of its model. Anthropic cache writes are the 5-minute writes
//! (1.25 × input); OpenAI has no cache-write surcharge, so its cache-write
//! price equals its input price.
//!
//! An unknown model has no price (`None`, shown as "price unknown"); it is
//! never treated as free.

use super::Usage;

/// When the figures in [`PRICES`] were last checked (year and month).
pub const PRICE_TABLE_DATE: &str = "2025-11";

pub use crate::spec::Price;

const fn p(input: f64, output: f64, cache_write: f64, cache_read: f64) -> Price {
    Price {
        input,
        output,
        cache_write,
        cache_read,
    }
}

/// List prices by model name (without date suffix), as of
/// [`PRICE_TABLE_DATE`].
pub const PRICES: &[(&str, Price)] = &[
    // Anthropic: cache write = 1.25 × input (5-minute), cache read = 0.1 × input.
    ("claude-opus-4-5", p(5.0, 25.0, 6.25, 0.50)),
    ("claude-opus-4-1", p(15.0, 75.0, 18.75, 1.50)),
    ("claude-opus-4", p(15.0, 75.0, 18.75, 1.50)),
    ("claude-opus-4-0", p(15.0, 75.0, 18.75, 1.50)),
    ("claude-sonnet-4-5", p(3.0, 15.0, 3.75, 0.30)),
    ("claude-sonnet-4", p(3.0, 15.0, 3.75, 0.30)),
    ("claude-sonnet-4-0", p(3.0, 15.0, 3.75, 0.30)),
    ("claude-3-7-sonnet", p(3.0, 15.0, 3.75, 0.30)),
    ("claude-haiku-4-5", p(1.0, 5.0, 1.25, 0.10)),
    ("claude-3-5-haiku", p(0.80, 4.0, 1.0, 0.08)),
    // OpenAI: cache write = input, cache read = the "cached input" price.
    ("gpt-4o", p(2.50, 10.0, 2.50, 1.25)),
    ("gpt-4o-2024-05-13", p(5.0, 15.0, 5.0, 5.0)),
    ("gpt-4o-mini", p(0.15, 0.60, 0.15, 0.075)),
    ("gpt-4.1", p(2.0, 8.0, 2.0, 0.50)),
    ("gpt-4.1-mini", p(0.40, 1.60, 0.40, 0.10)),
    ("gpt-4.1-nano", p(0.10, 0.40, 0.10, 0.025)),
    ("o1", p(15.0, 60.0, 15.0, 7.50)),
    ("o3", p(2.0, 8.0, 2.0, 0.50)),
    ("o3-mini", p(1.10, 4.40, 1.10, 0.55)),
    ("o4-mini", p(1.10, 4.40, 1.10, 0.275)),
    ("gpt-5", p(1.25, 10.0, 1.25, 0.125)),
    ("gpt-5-mini", p(0.25, 2.0, 0.25, 0.025)),
    ("gpt-5-nano", p(0.05, 0.40, 0.05, 0.005)),
];

/// The list price of `model`, if the table has it. Matching ignores case,
/// a vendor prefix (`openai/`, `anthropic/`), a `-latest` suffix and a date
/// suffix (`-20250929`, `-2024-08-06`), unless the dated name has its own
/// entry: `claude-sonnet-4-5-20250929` is priced as `claude-sonnet-4-5`.
pub fn price_for(model: &str) -> Option<Price> {
    let lower = model.trim().to_ascii_lowercase();
    let name = lower
        .strip_prefix("anthropic/")
        .or_else(|| lower.strip_prefix("openai/"))
        .unwrap_or(&lower);
    lookup(name).or_else(|| lookup(base_name(name)))
}

fn lookup(name: &str) -> Option<Price> {
    PRICES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, price)| *price)
}

/// `name` without a trailing `-latest`, `-YYYYMMDD` or `-YYYY-MM-DD`.
fn base_name(name: &str) -> &str {
    if let Some(base) = name.strip_suffix("-latest") {
        return base;
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((base, date)) = name.rsplit_once('-')
        && date.len() == 8
        && digits(date)
    {
        return base;
    }
    let parts: Vec<&str> = name.rsplitn(4, '-').collect();
    if let [day, month, year, base] = parts[..]
        && year.len() == 4
        && month.len() == 2
        && day.len() == 2
        && digits(year)
        && digits(month)
        && digits(day)
    {
        return base;
    }
    name
}

/// What `usage` cost at `price`, in USD; `None` when the input or output
/// count is unknown (the server sent no usage).
pub fn cost(usage: &Usage, price: &Price) -> Option<f64> {
    let input = usage.input_tokens? as f64;
    let output = usage.output_tokens? as f64;
    let total = input * price.input
        + output * price.output
        + usage.cache_creation_input_tokens as f64 * price.cache_write
        + usage.cache_read_input_tokens as f64 * price.cache_read;
    Some(total / 1_000_000.0)
}

/// US dollars for messages (limits, caps, plans): cents (`$1.50`), four
/// decimals below one cent (`$0.0045`), and more for an amount four
/// decimals cannot show (see [`usd_with`]): a cap of `0.000001` reads
/// `$0.000001`, never `$0.0000`. An amount with more than two decimals,
/// above a cent, keeps four (`$1.5050`), so a cap is printed as set.
pub fn usd(amount: f64) -> String {
    let cents = (amount * 100.0).round();
    if amount.abs() >= 0.01 && (amount * 100.0 - cents).abs() < 1e-9 {
        format!("${amount:.2}")
    } else if amount == 0.0 {
        "$0.00".to_string()
    } else {
        usd_with(amount, 4)
    }
}

/// `amount` with at least `decimals` decimals, and as many more as its
/// first two significant digits need (then without trailing zeros beyond
/// `decimals`): a tiny amount is never shown as zero.
pub fn usd_with(amount: f64, decimals: usize) -> String {
    if amount == 0.0 || !amount.is_finite() {
        return format!("${amount:.decimals$}");
    }
    let significant = (1.0 - amount.abs().log10().floor()).max(0.0) as usize;
    if significant <= decimals {
        return format!("${amount:.decimals$}");
    }
    let digits = significant.min(20);
    let text = format!("{amount:.digits$}");
    let dot = text.find('.').map_or(text.len(), |d| d + 1);
    let keep = text.trim_end_matches('0').len().max(dot + decimals);
    format!("${}", &text[..keep])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_dated_names() {
        let sonnet = price_for("claude-sonnet-4-5").unwrap();
        assert_eq!(sonnet.input, 3.0);
        assert_eq!(price_for("claude-sonnet-4-5-20250929"), Some(sonnet));
        assert_eq!(price_for("Claude-Sonnet-4-5-20250929"), Some(sonnet));
        assert_eq!(
            price_for("claude-sonnet-4-20250514"),
            price_for("claude-sonnet-4")
        );
        assert_eq!(price_for("claude-haiku-4-5-20251001").unwrap().output, 5.0);
        assert_eq!(price_for("claude-opus-4-1-20250805").unwrap().input, 15.0);
        assert_eq!(price_for("claude-3-5-haiku-latest").unwrap().input, 0.80);
        assert_eq!(price_for("gpt-4o-2024-08-06"), price_for("gpt-4o"));
        assert_eq!(price_for("openai/gpt-4.1-mini").unwrap().input, 0.40);
        assert_eq!(price_for("o4-mini-2025-04-16").unwrap().cache_read, 0.275);
    }

    #[test]
    fn dated_snapshot_with_own_price_wins() {
        assert_eq!(price_for("gpt-4o-2024-05-13").unwrap().input, 5.0);
    }

    #[test]
    fn no_prefix_confusion() {
        assert_eq!(price_for("gpt-4o-mini").unwrap().input, 0.15);
        assert_eq!(price_for("gpt-4.1-nano").unwrap().input, 0.10);
        assert_eq!(price_for("gpt-5-nano").unwrap().input, 0.05);
        assert_eq!(price_for("o3-mini").unwrap().cache_read, 0.55);
    }

    #[test]
    fn unknown_model_has_no_price() {
        assert_eq!(price_for("llama3.1:8b"), None);
        assert_eq!(price_for("gpt-4o-super"), None);
        assert_eq!(price_for("claude-sonnet-4-5-2025"), None);
        assert_eq!(price_for(""), None);
    }

    #[test]
    fn cost_of_usage() {
        let usage = Usage {
            input_tokens: Some(1_000),
            output_tokens: Some(2_000),
            cache_creation_input_tokens: 10_000,
            cache_read_input_tokens: 100_000,
            estimated: false,
        };
        let c = cost(&usage, &price_for("claude-sonnet-4-5").unwrap()).unwrap();
        // 1000×3 + 2000×15 + 10000×3.75 + 100000×0.30 = 100 500 µ$.
        assert!((c - 0.1005).abs() < 1e-12, "{c}");
    }

    #[test]
    fn unknown_counts_give_no_cost() {
        let price = price_for("gpt-4o").unwrap();
        let mut usage = Usage {
            input_tokens: None,
            output_tokens: Some(1),
            ..Usage::default()
        };
        assert_eq!(cost(&usage, &price), None);
        usage.input_tokens = Some(1);
        usage.output_tokens = None;
        assert_eq!(cost(&usage, &price), None);
        assert_eq!(cost(&Usage::default(), &price), None);
    }

    #[test]
    fn every_entry_is_consistent() {
        for (name, price) in PRICES {
            assert!(price.input > 0.0 && price.output >= price.input, "{name}");
            assert!(price.cache_read <= price.input, "{name}");
            assert!(price.cache_write >= price.input, "{name}");
            let base = base_name(name);
            assert!(base == *name || lookup(base).is_some(), "{name}");
        }
    }

    #[test]
    fn money_shows_the_digits_an_amount_needs() {
        assert_eq!(usd(2.0), "$2.00");
        assert_eq!(usd(1.5), "$1.50");
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd(0.0045), "$0.0045");
        assert_eq!(usd(0.003), "$0.0030");
        assert_eq!(usd(1.505), "$1.5050");
        assert_eq!(usd(0.000001), "$0.000001");
        assert_eq!(usd(0.0000012345), "$0.0000012");
        assert_eq!(usd(0.00015), "$0.00015");
        assert_eq!(usd_with(0.00003, 4), "$0.00003");
        assert_eq!(usd_with(0.0123, 4), "$0.0123");
    }
}
