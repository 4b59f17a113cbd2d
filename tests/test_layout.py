"""The house rules that are not import rules (those are import-linter's, in `make lint`): no module
in src/ holds more than 500 lines (issue 22: a longer one holds several jobs; split it by job)."""

from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "kambin"
MAX_LINES = 500


def test_no_module_is_over_500_lines():
    modules = sorted(SRC.rglob("*.py"))
    assert len(modules) > 100
    long = {str(m.relative_to(SRC)): n for m in modules if (n := len(m.read_text().splitlines())) > MAX_LINES}
    assert not long, long
