# rnnbook: the two commands of the README, and helpers.
#   make book   build the HTML book (creates .venv first if missing)
#   make test   run every test: unit tests, every notebook under nbval, the strict book build
#   make unit   the unit tests alone (tests/, without tests/book)
#   make bench  time rnnbook's layers against PyTorch's, and the linear-recurrence methods of chapter 6b;
#               writes book/_static/benchmark.{json,md} and benchmark_linrec.json
#   make pdf    the whole book as one PDF: book/_build/pdf/rnnbook-VERSION.pdf
#   make dist   the offline bundle (site, PDF, notebooks): dist/rnnbook-VERSION.zip
# The book's repository (launch buttons, repository button, Colab install cell): set
# RNNBOOK_REPOSITORY_URL=https://github.com/OWNER/NAME, or the line in book/_config.yml.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
PDF    := book/_build/pdf/rnnbook-$(VERSION).pdf
# Tools (jupyter-book, the python3 kernel nbval starts) resolve from the venv.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test unit env lock lab clean chromium execute bench pdf dist colab-cell

env: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[book,test]"
	touch $(STAMP)

book: $(STAMP)
	$(VENV)/bin/jupyter-book build book -W -n --keep-going
	@echo "Open $(CURDIR)/book/_build/html/index.html in a browser."

# One PDF of the whole book, offline: the single-page HTML book printed by headless Chromium.
pdf: $(STAMP) chromium
	$(VENV)/bin/jupyter-book build book --builder singlehtml -W -n --keep-going
	$(PY) tools/book_pdf.py book/_build/singlehtml/intro.html $(PDF)

# The offline bundle: the HTML site, the PDF and the chapters as notebooks, in one zip.
dist: book pdf
	$(PY) tools/dist.py --html book/_build/html --pdf $(PDF) --out dist

# Write (or update) the Colab install cell at the top of every chapter, from the repository setting.
colab-cell: $(STAMP)
	$(PY) tools/colab_cell.py

# The browser check in the tests needs Debian's chromium, and a CJK font for the glossary's
# Chinese in its screenshots (both installed here when missing; needs root).
chromium:
	@command -v chromium >/dev/null 2>&1 && fc-list :lang=zh | grep -q . || { apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; }

test: $(STAMP) chromium
	$(PY) -m pytest -n 2 --dist loadfile --nbval tests book

# The unit tests alone (no notebooks, no book build, no browser): the quick check while editing.
unit: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile -m "not book" tests

# Forward+backward time and memory against torch (benchmarks/bench_layers.py: the file the
# performance appendix includes) and of the three linear-recurrence methods
# (benchmarks/bench_linrec.py: the file chapter 6b plots and checks). Run it on an idle machine.
bench: $(STAMP)
	$(PY) benchmarks/bench_layers.py
	$(PY) benchmarks/bench_linrec.py

# Re-execute one chapter in place, as committed (no progress bars; the CPU settings that give the
# same numbers on every x86 CPU with AVX2, tools/cpu_env.py): make execute NB=book/chapters/01_mlp_to_rnn.ipynb
execute: $(STAMP)
	env $$($(PY) tools/cpu_env.py) RNNBOOK_PROGRESS=0 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(VENV)/bin/jupyter execute --inplace $(NB)

lab: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[book,test,lab]"
	$(VENV)/bin/jupyter lab book

lock: $(STAMP)
	( sed -n '1,3p' constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -v -i '^rnnbook' | sed 's/+cpu//' ) > constraints.new
	mv constraints.new constraints.txt

clean:
	rm -rf book/_build dist
