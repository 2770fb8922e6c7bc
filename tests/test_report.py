"""Tests of REPORT.md: conclusions follow the numbers, and figures are linked."""

import re

from stablesgd_ref import pipeline, report


SHORT_SETTINGS = {
    "exp1": {
        "epochs": 2,
        "n_sequences": 12,
        "d_model": 8,
        "n_heads": 2,
        "d_ff": 16,
        "reference_steps": 5,
    },
    "exp2": {"iterations": 40},
}


def shorten_specs(monkeypatch):
    for name, changes in SHORT_SETTINGS.items():
        spec = pipeline.SPECS[name]
        short = {**spec.__dict__, "defaults": {**spec.defaults, **changes}}
        if spec.sweep_settings:
            short["sweep_settings"] = {"epochs": 1}
        monkeypatch.setitem(pipeline.SPECS, name, pipeline.Spec(**short))


def test_reproduce_writes_report_and_every_figure(tmp_path, monkeypatch):
    shorten_specs(monkeypatch)
    out, figures = tmp_path / "out", tmp_path / "figures"
    text = pipeline.reproduce(
        [42, 43, 44, 45, 46, 47, 48],
        out=str(out),
        figures=str(figures),
        log=lambda line: None,
    )
    assert (out / "REPORT.md").read_text() == text
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (out / link).is_file(), link
    assert "## Experiment 1" in text
    assert "## Experiment 2" in text
    for name in ("literal", "matched_step", "tuned"):
        assert f"| {name} |" in text
    assert "`temporal_stability` has no effect in any" in text


def test_conclusion_changes_with_numbers():
    base = {
        "standard_settings": {"lr": 0.1},
        "stable_settings": {"lr": 0.1},
        "seeds": [1, 2],
        "description": "d",
    }
    significant = {
        **base,
        "stats": {
            "n": 8,
            "mean_difference": -1.0,
            "ci_low": -2.0,
            "ci_high": -0.5,
            "pvalue": 0.01,
            "method": "exact",
            "effect_size": -2.0,
        },
        "conclusion": "x",
    }
    table = report.comparison_table({"literal": significant})
    assert "| 8 | -1 | -2 to -0.5 | 0.01 | exact | -2 |" in table


def test_strip_machine_dependent_sections():
    text = "# R\n## Machine (machine-dependent)\n- cpu 2\n## Results\nkeep\n"
    stripped = report.strip_machine_dependent(text)
    assert "cpu" not in stripped
    assert "keep" in stripped


def test_sensitivity_sentence_for_no_effect():
    rows = [
        {
            "optimizer": "StableSGD",
            "lr": 0.1,
            "temporal_stability": ts,
            "energy_conservation": True,
            "penalty_mode": "literal",
            "final_losses": [1.5],
            "mean_final_loss": 1.5,
            "n_diverged": 0,
        }
        for ts in (0.0, 0.01)
    ]
    sentences = report.sensitivity_findings(rows)
    assert any("`temporal_stability` has no effect at all" in s for s in sentences)
    rows[1] = {**rows[1], "final_losses": [1.6], "mean_final_loss": 1.6}
    sentences = report.sensitivity_findings(rows)
    assert not any("`temporal_stability` has no effect at all" in s for s in sentences)


def test_stability_paragraph_numbers():
    pairs = [
        {
            "StandardSGD": {"stability_coefficient": 0.2, "losses": [10.0, 2.0]},
            "StableSGD": {"stability_coefficient": 0.01, "losses": [10.0, 9.0]},
        },
        {
            "StandardSGD": {"stability_coefficient": 0.4, "losses": [20.0, 4.0]},
            "StableSGD": {"stability_coefficient": 0.5, "losses": [20.0, 19.0]},
        },
    ]
    text = report.stability_paragraph(pairs)
    assert "StandardSGD has a mean stability coefficient of 0.3 " in text
    assert "its loss fell by 80% of its first value" in text
    assert "StableSGD has a mean stability coefficient of 0.255 " in text
    assert "its loss fell by 7.5% of its first value" in text
    assert "lower one on 1 of 2 seeds" in text
