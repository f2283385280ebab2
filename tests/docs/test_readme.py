"""The README says what the code does."""
import re
from pathlib import Path

from core.settings import settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_settings_table_matches_the_settings_class():
    block = re.search(r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", README.read_text(), re.S)
    assert block, "README.md has no settings table between the settings:start/end markers"
    assert block.group(1) == settings_table(), "regenerate the README table with core.settings.settings_table()"
