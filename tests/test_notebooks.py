"""Execute every notebook in notebooks/ and check that none is stored with outputs.

The notebooks are found by glob, so a notebook added later is covered without
editing this file. Each one runs top to bottom in a fresh ``python3`` kernel.
ipykernel provides that kernel spec by itself when it is installed in the same
environment as jupyter_client, so no ``ipykernel install`` step is needed.
"""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel", reason="ipykernel provides the python3 kernel")

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_SECONDS = 300


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_without_error(path, monkeypatch):
    # The kernel starts in the notebook's own folder, where `import stablesgd_ref`
    # fails unless the package is installed. Putting the repository root first
    # on PYTHONPATH makes the kernel import this checkout, installed or not.
    # The kernel process inherits os.environ, which monkeypatch restores after.
    entries = [str(REPO_ROOT)]
    if os.environ.get("PYTHONPATH"):
        entries.append(os.environ["PYTHONPATH"])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(entries))
    # Agg renders figures without a display, so the run works on a headless machine.
    monkeypatch.setenv("MPLBACKEND", "Agg")

    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    # Raises CellExecutionError, with the failing cell and its traceback.
    client.execute()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_has_no_stored_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], (
            f"{path.name}: code cell {index} has stored outputs; clear all outputs "
            "(Jupyter: Edit > Clear Outputs of All Cells) and save again"
        )
        assert cell.execution_count is None, (
            f"{path.name}: code cell {index} has execution_count "
            f"{cell.execution_count}; clear all outputs and save again"
        )
