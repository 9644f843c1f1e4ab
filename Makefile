# rnnbook: the two commands of the README, and helpers.
#   make book   build the HTML book (creates .venv first if missing)
#   make test   run every test: unit tests, every notebook under nbval, the strict book build
#   make unit   the unit tests alone (tests/, without tests/book)
#   make bench  time rnnbook's layers against PyTorch's; writes book/_static/benchmark.{json,md}
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# Tools (jupyter-book, the python3 kernel nbval starts) resolve from the venv.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test unit env lock lab clean chromium execute bench

env: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[book,test]"
	touch $(STAMP)

book: $(STAMP)
	$(VENV)/bin/jupyter-book build book -W -n --keep-going
	@echo "Open $(CURDIR)/book/_build/html/index.html in a browser."

# The browser check in the tests needs Debian's chromium, and a CJK font for the glossary's
# Chinese in its screenshots (both installed here when missing; needs root).
chromium:
	@command -v chromium >/dev/null 2>&1 && fc-list :lang=zh | grep -q . || { apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; }

test: $(STAMP) chromium
	$(PY) -m pytest -n 2 --dist loadfile --nbval tests book

# The unit tests alone (no notebooks, no book build, no browser): the quick check while editing.
unit: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile -m "not book" tests

# Forward+backward time and memory against torch (see benchmarks/bench_layers.py; run it on an
# idle machine): prints the table and writes the file the performance appendix includes.
bench: $(STAMP)
	$(PY) benchmarks/bench_layers.py

# Re-execute one chapter in place, as committed (no progress bars): make execute NB=book/chapters/01_mlp_to_rnn.ipynb
execute: $(STAMP)
	RNNBOOK_PROGRESS=0 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(VENV)/bin/jupyter execute --inplace $(NB)

lab: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[book,test,lab]"
	$(VENV)/bin/jupyter lab book

lock: $(STAMP)
	( sed -n '1,3p' constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -v -i '^rnnbook' | sed 's/+cpu//' ) > constraints.new
	mv constraints.new constraints.txt

clean:
	rm -rf book/_build
