//! Property tests of the task-file loader: whatever the bytes, it returns a
//! value or an error — no panic, no hang. Bounded: a fixed number of cases.

use proptest::prelude::*;
use std::path::Path;

fn yamlish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "wf: 1\n",
        "name: x\n",
        "model:\n",
        "  provider: script\n",
        "tools: [",
        "]",
        "{",
        "}",
        "- ",
        ": ",
        "&a ",
        "*a ",
        "'",
        "\"",
        "|\n",
        "  ",
        "\n",
        "prompt: {{ inputs.x }}\n",
        "inputs:\n  x: { type: enum }\n",
        "#",
        "---\n",
        "!!str ",
        "!tag ",
        "\t",
        "\u{feff}",
        "é",
        "0x1F",
        ".inf",
        "~",
    ]);
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn loader_never_panics_on_yamlish_text(text in yamlish()) {
        let _ = wf::spec::load_bytes(Path::new("fuzz.yaml"), text.as_bytes());
    }

    #[test]
    fn loader_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = wf::spec::load_bytes(Path::new("fuzz.yaml"), &bytes);
    }
}
