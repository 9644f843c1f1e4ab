"""The book's repository address, one setting for every link that needs it.

The address is read at build time from the environment variable ``RNNBOOK_REPOSITORY_URL``,
or, when that is unset or empty, from the line ``rnnbook_repository_url`` of ``_config.yml``
(under ``sphinx: config:``). The branch comes from ``RNNBOOK_REPOSITORY_BRANCH`` or
``rnnbook_repository_branch`` (default ``main``).

With an address (a GitHub repository, ``https://github.com/OWNER/NAME``), every chapter gets
launch buttons for Google Colab and Binder, every page a button to the repository, and the
introduction says how to clone it (the MyST substitution ``get_the_source``).
Without one, the book has no repository button and no launch buttons, and no page links to a
repository at all (Jupyter Book would otherwise fill in the address of its own repository).

A chapter opened in Colab needs its first cell to install ``rnnbook`` from the same address:
``tools/colab_cell.py`` writes that cell. When the address is set, the build warns (and so
fails under ``-W``) about any chapter whose install cell names another address or is missing.
"""

from __future__ import annotations

import json
import os
import pathlib
import re

from typing import TYPE_CHECKING

if TYPE_CHECKING:   # Sphinx is imported where it is used: tools/colab_cell.py reads this file without it
    from sphinx.application import Sphinx
    from sphinx.config import Config

URL_VARIABLE = "RNNBOOK_REPOSITORY_URL"
BRANCH_VARIABLE = "RNNBOOK_REPOSITORY_BRANCH"
COLAB_URL = "https://colab.research.google.com"
BINDERHUB_URL = "https://mybinder.org"
#: the tag of the install cell that ``tools/colab_cell.py`` writes at the top of each chapter
INSTALL_TAG = "colab-install"
_GITHUB = re.compile(r"https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?")


def repository(config_url: str = "", config_branch: str = "") -> tuple[str, str]:
    """The repository's address and branch, ``("", branch)`` when no address is set.

    :param config_url: the value of ``rnnbook_repository_url`` in ``_config.yml``.
    :param config_branch: the value of ``rnnbook_repository_branch`` in ``_config.yml``.
    :raises ValueError: if the address is not that of a GitHub repository (Colab opens
        notebooks from GitHub only).
    """
    url = (os.environ.get(URL_VARIABLE) or config_url or "").strip()
    branch = (os.environ.get(BRANCH_VARIABLE) or config_branch or "main").strip()
    if not url:
        return "", branch
    m = _GITHUB.fullmatch(url)
    if not m:
        raise ValueError(f"the repository's address must look like https://github.com/OWNER/NAME, got {url!r}")
    return f"https://github.com/{m.group(1)}/{m.group(2)}", branch


def _set_buttons(app: Sphinx, config: Config) -> None:
    from sphinx.errors import ConfigError

    try:
        url, branch = repository(config.rnnbook_repository_url, config.rnnbook_repository_branch)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    config.rnnbook_repository_url, config.rnnbook_repository_branch = url, branch
    options = dict(config.html_theme_options or {})
    for key in ("repository_url", "repository_branch", "path_to_docs"):
        options.pop(key, None)
    options.update(use_repository_button=False, use_issues_button=False, use_edit_page_button=False,
                   launch_buttons={})
    if url:
        options.update(
            repository_url=url, repository_branch=branch, path_to_docs="book", use_repository_button=True,
            launch_buttons={"colab_url": COLAB_URL, "binderhub_url": BINDERHUB_URL,
                            "notebook_interface": "jupyterlab"},
        )
    config.html_theme_options = options
    # the introduction's "how to get the source" sentence ({{ get_the_source }})
    config.myst_substitutions = {**(config.myst_substitutions or {}), "get_the_source": (
        f"Get the source with `git clone {url}`, then, in its folder:" if url else
        "In a copy of the book's source (its repository, with the README beside `book/`), run:")}


def _check_install_cells(app: Sphinx, env, docnames) -> None:
    """Warn about chapters whose Colab install cell does not install from the set address."""
    from sphinx.util import logging

    url = app.config.rnnbook_repository_url
    if not url:
        return
    for docname in sorted(env.found_docs):
        path = pathlib.Path(env.doc2path(docname))
        if path.suffix != ".ipynb":
            continue
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        install = [c for c in cells if INSTALL_TAG in c.get("metadata", {}).get("tags", [])]
        source = "".join(install[0]["source"]) if install else ""
        if f"git+{url}@{app.config.rnnbook_repository_branch}\"" not in source:
            logging.getLogger(__name__).warning(
                f"{docname}: its Colab install cell does not install rnnbook from {url} "
                f"(branch {app.config.rnnbook_repository_branch}); run tools/colab_cell.py with the same setting",
                location=docname,
            )


def setup(app: Sphinx) -> dict:
    app.add_config_value("rnnbook_repository_url", "", "html", [str])
    app.add_config_value("rnnbook_repository_branch", "main", "html", [str])
    app.connect("config-inited", _set_buttons)
    app.connect("env-before-read-docs", _check_install_cells)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
