"""REPORT.md: every table and conclusion of ``reproduce``, written from the numbers.

No conclusion is written in advance. Each sentence below is composed from the
results it describes: the paired tests give their own sentences
(:func:`stablesgd_ref.stats.conclusion_sentence`), and the sensitivity
findings state which settings changed no result at all, bit for bit.

Timing lines depend on the machine and the moment, so they are collected in
sections whose headings end with "(machine-dependent)".
"""

import math
import os

from stablesgd_ref import sweep as sweep_module
from stablesgd_ref.optimizers import PENALTY_MODES

TIMING_MARK = "(machine-dependent)"


def format_number(value, digits=4):
    """Return ``value`` with ``digits`` significant digits, or "n/a"."""
    if value is None:
        return "n/a"
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def summary_table(summary, rows):
    """Return a Markdown table of mean and sd per optimizer for each row."""
    lines = [
        "| metric | StandardSGD mean | sd | StableSGD mean | sd |",
        "|---|---|---|---|---|",
    ]
    for metric, label, _ in rows:
        standard = summary["StandardSGD"][metric]
        stable = summary["StableSGD"][metric]
        lines.append(
            f"| {label} | {format_number(standard['mean'])} | "
            f"{format_number(standard['std'], 2)} | {format_number(stable['mean'])} | "
            f"{format_number(stable['std'], 2)} |"
        )
    return "\n".join(lines)


def comparison_table(comparisons):
    """Return a Markdown table of the paired final-loss comparisons."""
    lines = [
        "| comparison | what it compares | lr StandardSGD / StableSGD | n | "
        "mean difference (StableSGD - StandardSGD) | 95% CI | p-value | test | d_z |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in comparisons.items():
        lrs = (
            f"{result['standard_settings']['lr']:g} / "
            f"{result['stable_settings']['lr']:g}"
        )
        numbers = result["stats"]
        if numbers is None:
            cells = "n/a | n/a | n/a | n/a | n/a"
            n = len(result["seeds"])
        else:
            n = numbers["n"]
            cells = (
                f"{format_number(numbers['mean_difference'])} | "
                f"{format_number(numbers['ci_low'])} to "
                f"{format_number(numbers['ci_high'])} | "
                f"{format_number(numbers['pvalue'], 3)} | {numbers['method']} | "
                f"{format_number(numbers['effect_size'], 3)}"
            )
        lines.append(f"| {name} | {result['description']} | {lrs} | {n} | {cells} |")
    return "\n".join(lines)


def stability_paragraph(pairs):
    """Return a paragraph reading the stability coefficient beside the loss drop.

    A loss curve that barely moves has a small coefficient whether or not it is
    near a minimum, so the paragraph puts each optimizer's coefficient beside
    how far its loss fell, both from the same ``losses`` trajectory.
    """
    key = "losses"
    lower = sum(
        pair["StableSGD"]["stability_coefficient"]
        < pair["StandardSGD"]["stability_coefficient"]
        for pair in pairs
    )
    parts = []
    for name in ("StandardSGD", "StableSGD"):
        coefficients = [pair[name]["stability_coefficient"] for pair in pairs]
        drops = [
            100.0 * (pair[name][key][0] - pair[name][key][-1]) / abs(pair[name][key][0])
            for pair in pairs
            if pair[name][key]
        ]
        parts.append(
            f"{name} has a mean stability coefficient of "
            f"{format_number(sum(coefficients) / len(coefficients))} and its loss fell "
            f"by {format_number(sum(drops) / len(drops), 3)}% of its first value"
        )
    return (
        f"Stability: {parts[0]}. {parts[1]}. StableSGD's coefficient is the lower "
        f"one on {lower} of {len(pairs)} seeds. The coefficient is the standard "
        "deviation over the mean of the last 20 losses, so a loss that hardly "
        "moves scores as stable wherever it stops."
    )


def sensitivity_findings(rows):
    """Return sentences on which settings changed StableSGD's final loss.

    A setting "has no effect" in a group of rows that share every other
    setting when all their final losses are equal bit for bit.
    """
    sentences = []
    for parameter in (
        "temporal_stability",
        "energy_conservation",
        "lr",
        "penalty_mode",
    ):
        unchanged, total = sweep_module.find_no_effect(rows, parameter)
        if total == 0:
            continue
        if unchanged == total:
            sentences.append(
                f"`{parameter}` has no effect at all: in all {total} groups of "
                "configurations that differ only in it, the final losses are "
                "identical bit for bit."
            )
        elif unchanged > 0:
            sentences.append(
                f"`{parameter}` changes no final loss in {unchanged} of {total} groups "
                "of configurations that differ only in it."
            )
        else:
            sentences.append(
                f"`{parameter}` changes the final loss in every one of the {total} "
                "groups of configurations that differ only in it."
            )
    if any(row.get("penalty_mode") for row in rows):
        for mode in PENALTY_MODES:
            mode_rows = [row for row in rows if row.get("penalty_mode") == mode]
            unchanged, total = sweep_module.find_no_effect(
                mode_rows, "temporal_stability"
            )
            if total and unchanged == total:
                sentences.append(
                    f'With `penalty_mode="{mode}"`, `temporal_stability` has no effect '
                    f"in any of its {total} groups."
                )
            elif total:
                spread = _max_relative_spread(mode_rows, "temporal_stability")
                sentences.append(
                    f'With `penalty_mode="{mode}"`, `temporal_stability` changes the '
                    f"mean final loss by at most {format_number(100 * spread, 3)}% "
                    "within a group."
                )
    diverged = [row for row in rows if row["n_diverged"]]
    sentences.append(
        f"{len(diverged)} of {len(rows)} configurations had at least one diverged run."
    )
    best = _best_rows(rows)
    for name, row in best.items():
        sentences.append(
            f"Lowest mean final loss for {name}: {format_number(row['mean_final_loss'])} "
            f"({_describe_config(row)})."
        )
    return sentences


def _max_relative_spread(rows, parameter):
    others = [key for key in sweep_module.GRID if key != parameter]
    groups = {}
    for row in rows:
        if row["optimizer"] == "StableSGD":
            groups.setdefault(tuple(row[o] for o in others), []).append(
                row["mean_final_loss"]
            )
    spread = 0.0
    for losses in groups.values():
        finite = [loss for loss in losses if math.isfinite(loss)]
        if len(finite) > 1 and min(abs(x) for x in finite) > 0:
            spread = max(
                spread, (max(finite) - min(finite)) / min(abs(x) for x in finite)
            )
    return spread


def _best_rows(rows):
    best = {}
    for row in rows:
        loss = row["mean_final_loss"]
        if not math.isfinite(loss):
            continue
        if (
            row["optimizer"] not in best
            or loss < best[row["optimizer"]]["mean_final_loss"]
        ):
            best[row["optimizer"]] = row
    return best


def _describe_config(row):
    if row["optimizer"] == "StandardSGD":
        return f"lr {row['lr']:g}"
    energy = "on" if row["energy_conservation"] else "off"
    return (
        f"lr {row['lr']:g}, temporal_stability {row['temporal_stability']:g}, "
        f"energy_conservation {energy}, penalty_mode {row['penalty_mode']}"
    )


def build_report(sections, settings_text, machine, figures_link_dir):
    """Return REPORT.md's text.

    Parameters
    ----------
    sections : list of dict
        One per experiment, with keys ``title``, ``name``, ``settings``,
        ``seeds``, ``summary``, ``rows``, ``timing_rows``, ``comparisons``,
        ``sweep_rows``, ``sweep_note``, ``figures`` (file names) and
        ``extra`` (list of Markdown paragraphs).
    settings_text : str
        How the report was produced (the command).
    machine : dict
        From :func:`stablesgd_ref.output.machine_info`.
    figures_link_dir : str
        Folder of the figures relative to the report, for the image links.
    """
    lines = ["# StableSGD against StandardSGD: report", ""]
    lines += [
        f"Generated by `{settings_text}`. Every number and every conclusion below is "
        "computed from the runs; nothing is written in advance. Differences are "
        "StableSGD minus StandardSGD, so a negative final-loss difference favours "
        "StableSGD. p-values come from an exact two-sided paired sign-flip "
        "permutation test, and intervals are 95% percentile bootstrap intervals.",
        "",
        f"## Machine {TIMING_MARK}",
        "",
    ]
    for key, value in machine.items():
        lines.append(f"- {key}: {value}")
    lines.append("")
    for section in sections:
        lines += _experiment_section(section, figures_link_dir)
    return "\n".join(lines).rstrip() + "\n"


def _experiment_section(section, figures_link_dir):
    lines = [f"## {section['title']}", ""]
    settings = ", ".join(f"{key}={value}" for key, value in section["settings"].items())
    lines += [f"Settings: {settings}. Seeds: {section['seeds']}.", ""]
    lines += ["### Side by side, literal settings", ""]
    lines += [summary_table(section["summary"], section["rows"]), ""]
    lines += ["### Paired comparisons of the final loss", ""]
    lines += [comparison_table(section["comparisons"]), ""]
    for name, result in section["comparisons"].items():
        lines.append(f"- **{name}**: {result['conclusion']}")
    lines.append("")
    for paragraph in section.get("extra", []):
        lines += [paragraph, ""]
    lines += ["### Sensitivity", ""]
    sweep_seeds = section.get("sweep_seeds")
    note = section.get("sweep_note") or ""
    if sweep_seeds is not None:
        note = f"The sweep runs on seeds {sweep_seeds}. {note}".strip()
    if note:
        lines += [note, ""]
    for sentence in sensitivity_findings(section["sweep_rows"]):
        lines.append(f"- {sentence}")
    lines.append("")
    lines += [f"### Time and memory {TIMING_MARK}", ""]
    lines += [summary_table(section["summary"], section["timing_rows"]), ""]
    lines += ["### Figures", ""]
    for filename in section["figures"]:
        link = os.path.join(figures_link_dir, filename).replace(os.sep, "/")
        lines += [f"![{filename}]({link})", ""]
    return lines


def strip_machine_dependent(text):
    """Return ``text`` without the sections marked as machine-dependent."""
    remaining = []
    skipping = False
    for line in text.splitlines():
        if line.startswith("#"):
            skipping = TIMING_MARK in line
        if not skipping:
            remaining.append(line)
    return "\n".join(remaining)
